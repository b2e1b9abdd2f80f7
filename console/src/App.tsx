import { useEffect, useState, useSyncExternalStore } from "react";
import { call, api } from "./api/client";
import type { Org } from "./api/types";
import {
  CALLBACK_PATH,
  completeSignIn,
  currentUser,
  loadConfig,
  onAuthChange,
  signIn,
  signOut,
  SignInError,
  wantsSilentSignIn,
} from "./auth";
import { Link, match, navigate, usePath } from "./router";
import { Loading, ProblemMessage, useAsync } from "./ui";
import { OrgsPage } from "./pages/Orgs";
import { ConnectorsPage } from "./pages/Connectors";
import { MigrationsPage } from "./pages/Migrations";
import { WizardPage } from "./pages/Wizard";
import { MigrationPage } from "./pages/Migration";
import { RunPage } from "./pages/Run";
import { MembersPage } from "./pages/Members";
import { KeysPage } from "./pages/Keys";
import { AuditPage } from "./pages/Audit";
import { DataPage } from "./pages/Data";
import { CONSENT_CALLBACK_PATH, ConsentCallback } from "./pages/ConsentCallback";

let userSnapshot = currentUser();
function subscribe(cb: () => void) {
  return onAuthChange(() => {
    userSnapshot = currentUser();
    cb();
  });
}
const useUser = () => useSyncExternalStore(subscribe, () => userSnapshot);

type Boot = { state: "starting" } | { state: "ready" } | { state: "failed"; error: unknown; signInError?: boolean };

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: "starting" });
  const user = useUser();
  const path = usePath();

  useEffect(() => {
    (async () => {
      try {
        await loadConfig();
        if (location.pathname === CALLBACK_PATH) {
          const next = await completeSignIn();
          navigate(next, true);
        } else if (!currentUser() && wantsSilentSignIn()) {
          await signIn({ silent: true });
          return; // the page is leaving
        }
        setBoot({ state: "ready" });
      } catch (error) {
        if (error instanceof SignInError && error.code === "login_required") {
          navigate("/console/", true);
          setBoot({ state: "ready" });
        } else setBoot({ state: "failed", error, signInError: error instanceof SignInError });
      }
    })();
  }, []);

  if (boot.state === "starting") return <Loading what="the console" />;
  if (boot.state === "failed")
    return (
      <main className="signin" id="main">
        <h1>Ferry</h1>
        <ProblemMessage error={boot.error} />
        <button type="button" onClick={() => void signIn({ returnTo: "/console/" })}>
          Sign in again
        </button>
      </main>
    );
  if (!user) return <SignedOut />;
  return <Shell path={path} email={user.email} />;
}

function SignedOut() {
  return (
    <main className="signin" id="main">
      <h1>Ferry</h1>
      <p>Move your team's boards, tasks, comments and files from one tool to another — nothing lost, nothing duplicated.</p>
      <button type="button" onClick={() => void signIn()}>
        Sign in
      </button>
    </main>
  );
}

function Shell({ path, email }: { path: string; email: string }) {
  const orgMatch = match("/console/orgs/:org/*", path) ?? prefix(path);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/console/" className="brand">
          Ferry
        </Link>
        <span className="who" title="Signed in">
          {email}
        </span>
        <button type="button" className="secondary small" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {path === CONSENT_CALLBACK_PATH ? (
        <ConsentCallback />
      ) : orgMatch ? (
        <OrgArea orgId={orgMatch.org} path={path} />
      ) : (
        <main id="main" className="content" tabIndex={-1}>
          <OrgsPage />
        </main>
      )}
    </>
  );
}

function prefix(path: string): Record<string, string> | null {
  const m = /^\/console\/orgs\/([^/]+)/.exec(path);
  return m ? { org: decodeURIComponent(m[1]) } : null;
}

function OrgArea({ orgId, path }: { orgId: string; path: string }) {
  const org = useAsync(() => call<Org>(api.GET("/api/orgs/{orgId}", { params: { path: { orgId } } })), [orgId]);
  if (org.loading && !org.data) return <main id="main" className="content" tabIndex={-1}><Loading what="the organisation" /></main>;
  if (org.error || !org.data) return <main id="main" className="content" tabIndex={-1}><ProblemMessage error={org.error} /><Link to="/console/">All organisations</Link></main>;
  const o = org.data;
  const can = (a: string) => o.you.allowed.includes(a);
  const base = `/console/orgs/${encodeURIComponent(orgId)}`;
  const tabs: [string, string, boolean][] = [
    [base, "Migrations", can("migrations.read")],
    [`${base}/connectors`, "Connectors", can("connectors.read")],
    [`${base}/members`, "Members", can("members.read")],
    [`${base}/keys`, "API keys", can("keys.manage")],
    [`${base}/audit`, "Audit log", can("audit.read")],
    [`${base}/data`, "Data & deletion", can("export.request") || can("org.delete")],
  ];
  const rest = path.slice(base.length) || "/";
  let page;
  let m: Record<string, string> | null;
  if (rest === "/" || rest === "") page = <MigrationsPage org={o} />;
  else if (rest === "/connectors") page = <ConnectorsPage org={o} />;
  else if (rest === "/migrations/new") page = <WizardPage org={o} />;
  else if ((m = match("/migrations/:mig", rest))) page = <MigrationPage org={o} migrationId={m.mig} />;
  else if ((m = match("/migrations/:mig/runs/:run", rest))) page = <RunPage org={o} migrationId={m.mig} runId={m.run} />;
  else if (rest === "/members") page = <MembersPage org={o} />;
  else if (rest === "/keys") page = <KeysPage org={o} />;
  else if (rest === "/audit") page = <AuditPage org={o} />;
  else if (rest === "/data") page = <DataPage org={o} onDeleted={() => navigate("/console/")} />;
  else page = <p>No such page. <Link to={base}>Back to the organisation</Link></p>;
  return (
    <div className="org">
      <nav className="orgnav" aria-label="Organisation">
        <div className="orgname">
          <span className="label">Organisation</span>
          <strong>{o.name}</strong>
          <span className="badge" title="Where this organisation's data is stored">
            {o.region.toUpperCase()} region
          </span>
          <Link to="/console/" className="switch">
            Switch organisation
          </Link>
        </div>
        <ul>
          {tabs
            .filter((t) => t[2])
            .map(([to, label]) => (
              <li key={to}>
                <Link to={to} className={rest !== "/" && to !== base && path.startsWith(to) ? "active" : path === to ? "active" : ""}>
                  {label}
                </Link>
              </li>
            ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
