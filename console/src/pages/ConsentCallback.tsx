import { useEffect, useState } from "react";
import { api, call } from "../api/client";
import { Link, navigate } from "../router";
import { Loading, ProblemMessage } from "../ui";

export const CONSENT_CALLBACK_PATH = "/console/oauth/callback";

/** Start the consent of an OAuth-app connector: the API answers the vendor's authorize URL,
 * the browser goes there and comes back to CONSENT_CALLBACK_PATH. */
export async function startConsent(orgId: string, connectorId: string): Promise<void> {
  const started = await call<{ authorizeUrl: string }>(
    api.POST("/api/orgs/{orgId}/connectors/{connectorId}/consent", {
      params: { path: { orgId, connectorId } },
      body: { redirectUri: `${location.origin}${CONSENT_CALLBACK_PATH}` },
    }),
  );
  location.assign(started.authorizeUrl);
}

// A code is exchanged once: React's development double effects (and a re-render) must not
// post it twice (the second would find the state used).
const finishing = new Map<string, Promise<void>>();

/** Where the vendor sends the browser back: `code` and `state` (`<org>.<connector>.<nonce>`),
 * or `error`. The code goes to the API under the signed-in person, who must be the one who
 * started the consent; then back to the org's connectors. */
export function ConsentCallback() {
  const [params] = useState(() => new URLSearchParams(location.search));
  const [error, setError] = useState<unknown>(null);
  const state = params.get("state") ?? "";
  const [orgId, connectorId] = state.split(".");
  const denied = params.get("error");
  const connectors = orgId ? `/console/orgs/${encodeURIComponent(orgId)}/connectors` : "/console/";

  useEffect(() => {
    // the code leaves the address bar (and the history) at once
    history.replaceState(null, "", CONSENT_CALLBACK_PATH);
    const code = params.get("code");
    if (denied || !code || !orgId || !connectorId) return;
    let run = finishing.get(state);
    if (!run) {
      run = call(api.POST("/api/orgs/{orgId}/connectors/{connectorId}/consent/callback", { params: { path: { orgId, connectorId } }, body: { code, state } })).then(
        () => undefined,
      );
      finishing.set(state, run);
    }
    run.then(
      () => navigate(`${connectors}?authorized=${encodeURIComponent(connectorId)}`, true),
      (e) => setError(e),
    );
  }, [params, state, orgId, connectorId, denied, connectors]);

  let body;
  if (denied) body = <p className="problem" role="alert">The tool did not grant access ({denied}). Nothing was changed.</p>;
  else if (!params.get("code") || !orgId || !connectorId) body = <p className="problem" role="alert">This page was opened without an answer from the tool.</p>;
  else if (error) body = <ProblemMessage error={error} />;
  else body = <Loading what="the connection (exchanging the code)" />;
  return (
    <main id="main" className="content" tabIndex={-1}>
      <h1>Connecting the tool</h1>
      {body}
      {denied || error || !params.get("code") ? <Link to={connectors}>Back to the connectors</Link> : null}
    </main>
  );
}
