import { useState } from "react";
import { api, call } from "../api/client";
import type { Connector, Migration, Org, Page, Run } from "../api/types";
import { FINAL_STATUSES } from "../api/types";
import { adaptationSentences, grouped, itemKinds, total } from "../adaptations";
import { kindLabel } from "../connectorKinds";
import { RUN_MODES, modeLabel } from "../modes";
import { Link, navigate } from "../router";
import { Confirm, Empty, Loading, ProblemMessage, Time, VendorName, plural, useAsync } from "../ui";

export function MigrationPage({ org, migrationId }: { org: Org; migrationId: string }) {
  const orgId = org.id;
  const path = { orgId, migrationId };
  const data = useAsync(async () => {
    const [mig, runs, conns] = await Promise.all([
      call<Migration>(api.GET("/api/orgs/{orgId}/migrations/{migrationId}", { params: { path } })),
      call<Page<Run>>(api.GET("/api/orgs/{orgId}/migrations/{migrationId}/runs", { params: { path } })),
      org.you.allowed.includes("connectors.read")
        ? call<Page<Connector>>(api.GET("/api/orgs/{orgId}/connectors", { params: { path: { orgId } } }))
        : Promise.resolve({ items: [] as Connector[] }),
    ]);
    return { mig, runs: runs.items.map((r) => ({ ...r, counts: grouped(r.counts) })), conns: conns.items };
  }, [orgId, migrationId]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [rollback, setRollback] = useState(false);
  if (data.loading && !data.data) return <Loading what="the migration" />;
  if (!data.data) return <ProblemMessage error={data.error} />;
  const { mig, runs, conns } = data.data;
  const canRun = org.you.allowed.includes("runs.manage");
  const active = runs.find((r) => !FINAL_STATUSES.includes(r.status));
  const preview = runs.find((r) => r.mode === "dry_run" && FINAL_STATUSES.includes(r.status));
  const base = `/console/orgs/${encodeURIComponent(orgId)}/migrations/${encodeURIComponent(migrationId)}`;
  const conn = (id: string) => conns.find((c) => c.id === id);
  const start = async (mode: string) => {
    setBusy(true);
    setError(null);
    try {
      const run = await call<Run>(
        mode === "rollback"
          ? api.POST("/api/orgs/{orgId}/migrations/{migrationId}/rollback", { params: { path } })
          : api.POST("/api/orgs/{orgId}/migrations/{migrationId}/runs", { params: { path }, body: { mode: mode as "full" } }),
      );
      navigate(`${base}/runs/${encodeURIComponent(run.id)}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const created = createdSinceRollback(runs);
  const src = conn(mig.sourceConnectorId);
  const dst = conn(mig.destinationConnectorId);
  const mapped = Object.entries(mig.userMapping?.emails ?? {});
  return (
    <>
      <h1>{mig.name}</h1>
      <dl className="facts">
        <dt>From</dt>
        <dd>{src ? `${src.name} (${kindLabel(src.kind)})` : mig.sourceConnectorId}</dd>
        <dt>To</dt>
        <dd>
          {dst ? `${dst.name} (${kindLabel(dst.kind)})` : mig.destinationConnectorId}
          {mig.destinationWorkspace ? ` · workspace ${mig.destinationWorkspace}` : ""}
        </dd>
        <dt>Containers</dt>
        <dd>
          {mig.scopes.map((s, i) => (
            <span key={s.id}>
              {i ? ", " : ""}
              <VendorName name={s.name ?? s.id} />
            </span>
          ))}
        </dd>
        <dt>People</dt>
        <dd>
          matched by email{mapped.length ? `; ${plural(mapped.length, "mapped person", "mapped people")}` : ""}
          {mig.userMapping?.fallback ? `; fallback ${mig.userMapping.fallback}` : ""}
        </dd>
        <dt>Verify after each run</dt>
        <dd>{mig.verifyAfterRun ? "yes: each full, delta or retry run is followed by a verify" : "no"}</dd>
      </dl>
      {canRun ? (
        <section aria-labelledby="actions">
          <h2 id="actions">Run</h2>
          {active ? (
            <p className="note">
              A run is in progress: <Link to={`${base}/runs/${encodeURIComponent(active.id)}`}>{modeLabel(active.mode)} — {active.status}</Link>
            </p>
          ) : null}
          <div className="buttons">
            {RUN_MODES.map((m) => (
              <button key={m.mode} type="button" className={m.mode === "full" ? "" : "secondary"} disabled={busy || !!active} title={m.help} onClick={() => void start(m.mode)}>
                {m.label}
              </button>
            ))}
            <button type="button" className="danger secondary" disabled={busy || !!active || total(created) === 0} onClick={() => setRollback(true)}>
              Roll back…
            </button>
          </div>
          <ProblemMessage error={error} />
        </section>
      ) : null}
      {preview ? <Preview run={preview} link={`${base}/runs/${encodeURIComponent(preview.id)}`} /> : <Empty>No preview yet: run a dry run to see what will happen before anything is written.</Empty>}
      <section aria-labelledby="runs">
        <h2 id="runs">Runs</h2>
        {runs.length === 0 ? <Empty>No runs yet.</Empty> : null}
        {runs.length ? (
          <table className="table">
            <caption className="sr-only">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Items</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link to={`${base}/runs/${encodeURIComponent(r.id)}`}>{modeLabel(r.mode)}</Link>
                  </td>
                  <td>
                    <span className={`status ${r.status}`}>{r.status.replace(/_/g, " ")}</span>
                  </td>
                  <td>
                    <Time iso={r.startedAt ?? r.createdAt} />
                  </td>
                  <td>{itemKinds(r.counts ?? {}).map((k) => `${k} ${total(r.counts[k])}`).join(" · ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      <Confirm
        open={rollback}
        title="Roll back this migration?"
        confirmLabel="Delete these items at the destination"
        danger
        onCancel={() => setRollback(false)}
        onConfirm={() => {
          setRollback(false);
          void start("rollback");
        }}
      >
        <p>
          This deletes at the destination{dst ? ` (${dst.name})` : ""} what Ferry created there for this migration:
        </p>
        <ul>
          {Object.entries(created)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => (
              <li key={k}>{plural(n, k)}</li>
            ))}
        </ul>
        <p>Items that existed at the destination before the migration are never deleted. The source is not touched.</p>
      </Confirm>
    </>
  );
}

function createdSinceRollback(runs: Run[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) {
    // newest first: stop at the last rollback
    if (r.mode === "rollback" && r.status !== "failed") break;
    if (r.mode === "dry_run") continue;
    for (const k of itemKinds(r.counts ?? {})) out[k] = (out[k] ?? 0) + (r.counts[k]?.created ?? 0);
  }
  return out;
}

export function Preview({ run, link }: { run: Run; link: string }) {
  const kinds = itemKinds(run.counts ?? {});
  const sentences = adaptationSentences(run.counts ?? {});
  const cols = Array.from(new Set(kinds.flatMap((k) => Object.keys(run.counts[k])))).sort();
  return (
    <section aria-labelledby="preview" className="panel">
      <h2 id="preview">Preview (dry run)</h2>
      <p className="muted">
        <Link to={link}>Dry run</Link> {run.status.replace(/_/g, " ")} · <Time iso={run.finishedAt ?? run.createdAt} />
      </p>
      {kinds.length ? (
        <table className="table compact">
          <caption>What the migration would do, per kind</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              {cols.map((c) => (
                <th scope="col" key={c}>
                  {c.replace(/_/g, " ")}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {kinds.map((k) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                {cols.map((c) => (
                  <td key={c}>{(run.counts[k]?.[c] ?? 0).toLocaleString()}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>The dry run counted nothing.</Empty>
      )}
      <h3 className="h4">Adaptations</h3>
      {sentences.length ? (
        <ul className="adaptations">
          {sentences.map((s) => (
            <li key={s}>{s}.</li>
          ))}
        </ul>
      ) : (
        <p>Nothing needs adapting: every item fits the destination as it is.</p>
      )}
    </section>
  );
}
