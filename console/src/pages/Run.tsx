import { useEffect, useMemo, useRef, useState } from "react";
import { api, call, rawGet } from "../api/client";
import type { LogLine, Org, Page, ReportRow, Run } from "../api/types";
import { FINAL_STATUSES } from "../api/types";
import { grouped, itemKinds, total } from "../adaptations";
import { modeLabel } from "../modes";
import { Link } from "../router";
import { followSse } from "../sse";
import { Empty, Loading, ProblemMessage, Select, Time, saveBlob } from "../ui";
import { Preview } from "./Migration";
import { RunExtras } from "./RunExtras";
import { AssistantPanel } from "./Assistant";
import { VERDICTS, VERDICT_LABELS, DEFECTS, verdictRank } from "../verify";

const LEVELS = ["debug", "info", "warning", "error"];

export function RunPage({ org, migrationId, runId }: { org: Org; migrationId: string; runId: string }) {
  const orgId = org.id;
  const path = { orgId, migrationId, runId };
  const [run, setRun] = useState<Run | null>(null);
  const [plan, setPlan] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const final = run ? FINAL_STATUSES.includes(run.status) : false;
  const reportUrl = `/api/orgs/${encodeURIComponent(orgId)}/migrations/${encodeURIComponent(migrationId)}/runs/${encodeURIComponent(runId)}/report`;
  const report = useReportRows(final ? reportUrl : null);

  useEffect(() => {
    let stop = false;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const r = await call<Run>(api.GET("/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}", { params: { path } }));
        if (stop) return;
        setRun({ ...r, counts: grouped(r.counts) });
        setError(null);
        if (FINAL_STATUSES.includes(r.status)) return;
      } catch (e) {
        if (!stop) setError(e);
      }
      if (!stop) timer = window.setTimeout(poll, 1000);
    };
    void poll();
    call<Page<Run>>(api.GET("/api/orgs/{orgId}/migrations/{migrationId}/runs", { params: { path: { orgId, migrationId } } }))
      .then((p) => {
        const dry = p.items.find((r) => r.mode === "dry_run" && r.status === "succeeded");
        if (!stop) setPlan(dry ? { ...dry, counts: grouped(dry.counts) } : null);
      })
      .catch(() => undefined);
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [orgId, migrationId, runId]);

  const control = async (what: "pause" | "resume" | "cancel") => {
    setBusy(true);
    try {
      const p = `/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}/${what}` as const;
      const r = await call<Run>(api.POST(p, { params: { path } }));
      setRun({ ...r, counts: grouped(r.counts) });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const migBase = `/console/orgs/${encodeURIComponent(orgId)}/migrations/${encodeURIComponent(migrationId)}`;
  if (!run) return error ? <ProblemMessage error={error} /> : <Loading what="the run" />;
  const canManage = org.you.allowed.includes("runs.manage");
  return (
    <>
      <p>
        <Link to={migBase}>← Back to the migration</Link>
      </p>
      <h1>
        {modeLabel(run.mode)} <span className={`status ${run.status}`}>{run.status.replace(/_/g, " ")}</span>
      </h1>
      {run.statusReason ? <p className="note">{run.statusReason}</p> : null}
      <dl className="facts">
        <dt>Started</dt>
        <dd>
          <Time iso={run.startedAt ?? run.createdAt} />
        </dd>
        <dt>Finished</dt>
        <dd>{run.finishedAt ? <Time iso={run.finishedAt} /> : "—"}</dd>
        <dt>Throughput</dt>
        <dd>
          {run.throughput?.itemsPerMinute != null ? `${run.throughput.itemsPerMinute.toLocaleString()} items/min` : "—"}
          {run.throughput ? ` (${run.throughput.items.toLocaleString()} items in ${run.throughput.seconds} s)` : ""}
        </dd>
        <dt>Time left</dt>
        <dd>{eta(run)}</dd>
      </dl>
      {canManage && !final ? (
        <div className="buttons">
          {run.status === "paused" ? (
            <button type="button" disabled={busy} onClick={() => void control("resume")}>
              Resume
            </button>
          ) : (
            <button type="button" className="secondary" disabled={busy} onClick={() => void control("pause")}>
              Pause
            </button>
          )}
          <button type="button" className="danger secondary" disabled={busy} onClick={() => void control("cancel")}>
            Cancel run
          </button>
        </div>
      ) : null}
      <ProblemMessage error={error} />
      {run.mode === "dry_run" && final ? <Preview run={run} link="#" /> : run.mode === "verify" && final ? null : <Progress run={run} plan={plan} />}
      <RunExtras run={run} rows={report.rows} />
      <LogTail orgId={orgId} runId={runId} />
      {org.you.allowed.includes("assistant.ask") ? <AssistantPanel orgId={orgId} runId={runId} /> : null}
      {final ? <Report url={reportUrl} runId={runId} mode={run.mode} rows={report.rows} loadError={report.error} /> : null}
    </>
  );
}

function eta(run: Run): string {
  if (FINAL_STATUSES.includes(run.status)) return "done";
  const s = run.eta?.seconds;
  if (s == null) return "unknown (run a dry run first for an estimate)";
  if (s < 60) return `about ${Math.max(1, Math.round(s))} s`;
  return `about ${Math.round(s / 60)} min`;
}

function Progress({ run, plan }: { run: Run; plan: Run | null }) {
  const kinds = Array.from(new Set([...itemKinds(plan?.counts ?? {}), ...itemKinds(run.counts ?? {})]));
  if (!kinds.length) return <Empty>Nothing counted yet…</Empty>;
  return (
    <section aria-labelledby="progress">
      <h2 id="progress">Progress</h2>
      <table className="table progress-table">
        <caption className="sr-only">Progress per kind</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Progress</th>
            <th scope="col">Done</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {kinds.map((k) => {
            const done = total(run.counts?.[k]);
            const planned = total(plan?.counts?.[k]);
            const max = FINAL_STATUSES.includes(run.status) ? Math.max(done, 1) : Math.max(planned, done, 1);
            return (
              <tr key={k} data-kind={k}>
                <th scope="row">{k}</th>
                <td>
                  <progress max={max} value={done} aria-label={`${k}: ${done} of ${planned || "?"}`} />
                </td>
                <td className="num">
                  {done.toLocaleString()}
                  {planned && !FINAL_STATUSES.includes(run.status) ? ` / ${planned.toLocaleString()}` : ""}
                </td>
                <td className="muted">
                  {Object.entries(run.counts?.[k] ?? {})
                    .map(([a, n]) => `${a.replace(/_/g, " ")} ${n}`)
                    .join(" · ")}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function LogTail({ orgId, runId }: { orgId: string; runId: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<string>("connecting");
  const [levels, setLevels] = useState<Set<string>>(new Set(["info", "warning", "error"]));
  const [error, setError] = useState<unknown>(null);
  const box = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const ctl = new AbortController();
    setLines([]);
    const url = `/api/orgs/${encodeURIComponent(orgId)}/runs/${encodeURIComponent(runId)}/logs?level=debug`;
    followSse(
      url,
      (ev) => {
        if (ev.event !== "log") return;
        try {
          const line = JSON.parse(ev.data) as LogLine;
          setLines((ls) => [...ls.slice(-499), line]);
        } catch {
          /* a malformed line is skipped */
        }
      },
      ctl.signal,
      setState,
    ).catch(setError);
    return () => ctl.abort();
  }, [orgId, runId]);
  const shown = useMemo(() => lines.filter((l) => levels.has(l.level)).slice(-200), [lines, levels]);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [shown.length]);
  return (
    <section aria-labelledby="log">
      <div className="row">
        <h2 id="log">Log</h2>
        <span className="muted" role="status">
          {state === "live" ? "live" : state === "ended" ? "complete" : state}
        </span>
      </div>
      <div className="checks inline" role="group" aria-label="Log levels shown">
        {LEVELS.map((l) => (
          <label key={l} className="check">
            <input
              type="checkbox"
              checked={levels.has(l)}
              onChange={(e) => {
                const next = new Set(levels);
                if (e.target.checked) next.add(l);
                else next.delete(l);
                setLevels(next);
              }}
            />
            {l}
          </label>
        ))}
      </div>
      <ProblemMessage error={error} />
      <ol className="log" ref={box} aria-label="Log lines" tabIndex={0}>
        {shown.length === 0 ? <li className="muted">No log lines yet.</li> : null}
        {shown.map((l) => (
          <li key={l.id} className={`lvl-${l.level}`}>
            <Time iso={l.time} /> <span className="lvl">{l.level}</span> <span className="ev">{l.event}</span>{" "}
            {[l.kind, l.sourceId, l.destId ? `→ ${l.destId}` : "", l.code].filter(Boolean).join(" ")}
            {l.message ? ` — ${l.message}` : ""}
          </li>
        ))}
      </ol>
    </section>
  );
}

const FAILURE_FIRST = ["failed", "skipped"];

/** The run's report rows (JSON), once `url` is given (the run is final). */
function useReportRows(url: string | null): { rows: ReportRow[] | null; error: unknown } {
  const [rows, setRows] = useState<ReportRow[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setRows(null);
    setError(null);
    if (!url) return;
    let stop = false;
    rawGet(`${url}?format=json`)
      .then((r) => r.json())
      .then((b: { items: ReportRow[] }) => !stop && setRows(b.items))
      .catch((e) => !stop && setError(e));
    return () => {
      stop = true;
    };
  }, [url]);
  return { rows, error };
}

function Report(props: { url: string; runId: string; mode: string; rows: ReportRow[] | null; loadError: unknown }) {
  const { url, runId, rows } = props;
  const verify = props.mode === "verify";
  const [error, setError] = useState<unknown>(null);
  const [kind, setKind] = useState("");
  const [action, setAction] = useState("");
  const [reason, setReason] = useState("");
  const download = async (format: "csv" | "json") => {
    try {
      const r = await rawGet(`${url}?format=${format}`);
      saveBlob(await r.blob(), `ferry-report-${runId}.${format}`);
    } catch (e) {
      setError(e);
    }
  };
  const sorted = useMemo(() => {
    const rank = (r: ReportRow) => (verify ? verdictRank(r.action) : FAILURE_FIRST.includes(r.action) ? 0 : 1);
    return [...(rows ?? [])].sort((a, b) => rank(a) - rank(b));
  }, [rows, verify]);
  const failure = (a: string) => (verify ? DEFECTS.includes(a) : FAILURE_FIRST.includes(a));
  const filtered = sorted.filter(
    (r) => (!kind || r.kind === kind) && (!action || r.action === action) && (!reason || `${r.reason ?? ""} ${r.adaptations.join(" ")}`.toLowerCase().includes(reason.toLowerCase())),
  );
  const kinds = Array.from(new Set((rows ?? []).map((r) => r.kind))).sort();
  const present = Array.from(new Set((rows ?? []).map((r) => r.action))).sort();
  // A verify's report filters by verdict: every verdict offered, with how many rows have it.
  const actions = verify ? [...VERDICTS.filter((v) => v !== "failed" || present.includes(v)), ...present.filter((a) => !(VERDICTS as readonly string[]).includes(a))] : present;
  const actionLabel = (a: string) => (verify ? `${VERDICT_LABELS[a] ?? a} (${(rows ?? []).filter((r) => r.action === a).length.toLocaleString()})` : a);
  return (
    <section aria-labelledby="report">
      <div className="row">
        <h2 id="report">Report</h2>
        <div className="buttons">
          <button type="button" className="secondary" onClick={() => void download("csv")}>
            Download CSV
          </button>
          <button type="button" className="secondary" onClick={() => void download("json")}>
            Download JSON
          </button>
        </div>
      </div>
      <ProblemMessage error={error ?? props.loadError} />
      {rows === null && !props.loadError ? <Loading what="the report" /> : null}
      {rows ? (
        <>
          <div className="filters">
            <Select label="Kind" value={kind} onChange={setKind} options={[{ value: "", label: "all kinds" }, ...kinds.map((k) => ({ value: k, label: k }))]} />
            <Select
              label={verify ? "Verdict" : "Action"}
              value={action}
              onChange={setAction}
              options={[{ value: "", label: verify ? "all verdicts" : "all actions" }, ...actions.map((a) => ({ value: a, label: actionLabel(a) }))]}
            />
            <div className="field">
              <label htmlFor="reason-filter">Reason contains</label>
              <input id="reason-filter" value={reason} onChange={(e) => setReason(e.target.value)} />
            </div>
          </div>
          <p className="muted" role="status">
            {filtered.length.toLocaleString()} of {rows.length.toLocaleString()} items{filtered.length > 500 ? " (first 500 shown; download for all)" : ""}
          </p>
          {filtered.length ? (
            <table className="table compact report">
              <caption className="sr-only">{verify ? "Per-item verdicts, defects first" : "Per-item report, failures first"}</caption>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">{verify ? "Verdict" : "Action"}</th>
                  <th scope="col">Source id</th>
                  <th scope="col">Destination id</th>
                  <th scope="col">Reason / adaptations</th>
                </tr>
              </thead>
              <tbody>
                {filtered.slice(0, 500).map((r, i) => (
                  <tr key={`${r.kind}-${r.sourceId}-${i}`} className={failure(r.action) ? "failure" : ""} data-verdict={verify ? r.action : undefined}>
                    <td>{r.kind}</td>
                    <td>{r.action}</td>
                    <td className="id">{r.sourceId}</td>
                    <td className="id">{r.destinationId ?? "—"}</td>
                    <td>{[r.reason, ...r.adaptations].filter(Boolean).join("; ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No items match.</Empty>
          )}
        </>
      ) : null}
    </section>
  );
}
