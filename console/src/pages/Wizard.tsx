import { useEffect, useState, type FormEvent } from "react";
import { ApiProblem, api, call } from "../api/client";
import type { Connector, Container, Org, Page } from "../api/types";
import { kindLabel } from "../connectorKinds";
import { navigate } from "../router";
import { csvCell, mappingEmails, parseCsv, type Resolutions } from "../people";
import { Empty, Field, Loading, ProblemMessage, Select, VendorName, saveBlob, useAsync } from "../ui";
import { PeopleMapping, mappingReady, usePeople } from "./PeopleMapping";

type Pair = { from: string; to: string };

export function WizardPage({ org }: { org: Org }) {
  const orgId = org.id;
  const conns = useAsync(() => call<Page<Connector>>(api.GET("/api/orgs/{orgId}/connectors", { params: { path: { orgId } } })), [orgId]);
  const [name, setName] = useState("");
  const [source, setSource] = useState("");
  const [dest, setDest] = useState("");
  const [scopes, setScopes] = useState<Set<string>>(new Set());
  const [workspace, setWorkspace] = useState("");
  const [users, setUsers] = useState<Pair[]>([]);
  const [resolutions, setResolutions] = useState<Resolutions>({});
  const [fallback, setFallback] = useState("");
  const [labels, setLabels] = useState<Pair[]>([]);
  const [statuses, setStatuses] = useState<Pair[]>([]);
  const [verifyAfterRun, setVerifyAfterRun] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const items = conns.data?.items ?? [];
  useEffect(() => {
    if (items.length >= 1 && !source) setSource(items[0].id);
    if (items.length >= 2 && !dest) setDest(items[1].id);
  }, [items, source, dest]);
  const srcContainers = useContainers(orgId, source);
  const dstContainers = useContainers(orgId, dest);
  const workspaces = (dstContainers.data ?? []).filter((c) => c.kind === "workspace");
  useEffect(() => {
    if (workspaces.length && !workspaces.some((w) => w.id === workspace)) setWorkspace(workspaces[0].id);
  }, [workspaces, workspace]);

  const chosen = (srcContainers.data ?? []).filter((c) => c.kind !== "workspace" && scopes.has(c.id)).map((c) => c.id);
  const sourcePeople = usePeople(orgId, source, chosen, chosen.length > 0);
  const destPeople = usePeople(orgId, dest, [workspace || null], chosen.length > 0 && !dstContainers.loading);
  const ready = mappingReady(sourcePeople, destPeople, resolutions, fallback);

  if (conns.loading && !conns.data) return <Loading what="connectors" />;
  if (conns.error) return <ProblemMessage error={conns.error} />;
  if (items.length < 1) return <Empty>Add a connector for each tool first.</Empty>;
  const problem = error instanceof ApiProblem ? error : null;
  const movable = (srcContainers.data ?? []).filter((c) => c.kind !== "workspace");
  const connOptions = items.map((c) => ({ value: c.id, label: `${c.name} (${kindLabel(c.kind)})` }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const pairs = (ps: Pair[]) => Object.fromEntries(ps.filter((p) => p.from.trim() && p.to.trim()).map((p) => [p.from.trim(), p.to.trim()]));
    try {
      const mig = await call<{ id: string }>(
        api.POST("/api/orgs/{orgId}/migrations", {
          params: { path: { orgId } },
          body: {
            name: name || "Migration",
            sourceConnectorId: source,
            destinationConnectorId: dest,
            scopes: movable.filter((c) => scopes.has(c.id)).map((c) => ({ id: c.id, name: c.name })),
            destinationWorkspace: workspace || null,
            userMapping: { emails: mappingEmails(users, resolutions, fallback), fallback: fallback.trim() || null },
            labelMapping: pairs(labels),
            statusMapping: pairs(statuses),
            verifyAfterRun,
          },
        }),
      );
      navigate(`/console/orgs/${encodeURIComponent(orgId)}/migrations/${encodeURIComponent(mig.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>New migration</h1>
      <form onSubmit={submit} className="form wizard">
        <fieldset>
          <legend>1. From where to where</legend>
          <Field label="Migration name" value={name} onChange={setName} required error={problem?.forField("name")} />
          <Select label="Source (move from)" value={source} onChange={setSource} options={connOptions} error={problem?.forField("sourceConnectorId")} />
          <Select label="Destination (move to)" value={dest} onChange={setDest} options={connOptions} error={problem?.forField("destinationConnectorId")} />
        </fieldset>
        <fieldset>
          <legend>2. What to move</legend>
          {srcContainers.loading ? <Loading what="the source's containers" /> : null}
          <ProblemMessage error={srcContainers.error} />
          {!srcContainers.loading && movable.length === 0 ? <Empty>The source connector shows no boards or projects.</Empty> : null}
          <div className="checks" role="group" aria-label="Source containers">
            {movable.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  checked={scopes.has(c.id)}
                  onChange={(e) => {
                    const next = new Set(scopes);
                    if (e.target.checked) next.add(c.id);
                    else next.delete(c.id);
                    setScopes(next);
                  }}
                />
                <span>
                  <VendorName name={c.name} /> <span className="muted">({c.kind})</span>
                </span>
              </label>
            ))}
          </div>
          {problem?.forField("scopes") ? <p className="field-error">{problem.forField("scopes")}</p> : null}
          {workspaces.length ? (
            <Select
              label="Destination workspace"
              value={workspace}
              onChange={setWorkspace}
              options={workspaces.map((w) => ({ value: w.id, label: w.name.replace(/[\u202a-\u202e\u2066-\u2069]/g, "") }))}
              hint="Each source board or project becomes a project in this workspace."
            />
          ) : dstContainers.loading ? (
            <Loading what="the destination's workspaces" />
          ) : (
            <p className="hint">The destination has no workspaces to choose from; its default is used.</p>
          )}
        </fieldset>
        <fieldset>
          <legend>3. People</legend>
          <p className="hint">
            People are matched by email automatically. Everyone in the chosen containers is listed with what becomes of them
            at the destination: choose someone for each person nobody matches, or the fallback person, before the run.
          </p>
          {chosen.length === 0 ? (
            <p className="hint">Choose what to move first: its people are listed here.</p>
          ) : (
            <PeopleMapping
              source={sourcePeople}
              dest={destPeople}
              resolutions={resolutions}
              setResolutions={setResolutions}
              extra={users}
              setExtra={setUsers}
              fallback={fallback}
            />
          )}
          <PairTable label="More mappings (people not listed)" fromLabel="Source email" toLabel="Destination email" rows={users} setRows={setUsers} type="email" />
          <Field label="Fallback person (destination email)" type="email" value={fallback} onChange={setFallback} hint="Gets what maps to nobody." error={problem?.forField("userMapping.fallback")} />
          {problem?.forField("userMapping") ? <p className="field-error">{problem.forField("userMapping")}</p> : null}
        </fieldset>
        <fieldset>
          <legend>4. Labels and statuses</legend>
          <PairTable label="Label mapping" fromLabel="Source label" toLabel="Destination label" rows={labels} setRows={setLabels} csvName="label-mapping.csv" />
          <PairTable label="Status mapping" fromLabel="Source status or list" toLabel="Destination status" rows={statuses} setRows={setStatuses} csvName="status-mapping.csv" />
        </fieldset>
        <fieldset>
          <legend>5. Checking</legend>
          <label className="check">
            <input type="checkbox" checked={verifyAfterRun} onChange={(e) => setVerifyAfterRun(e.target.checked)} aria-describedby="verify-after-run-hint" />
            Verify after each run
          </label>
          <p className="hint" id="verify-after-run-hint">
            After every full, delta or retry run, Ferry reads both tools again and compares each migrated item with the source (it writes nothing). Defects
            are listed on the verify run's page.
          </p>
          {problem?.forField("verifyAfterRun") ? <p className="field-error">{problem.forField("verifyAfterRun")}</p> : null}
        </fieldset>
        <ProblemMessage error={error} />
        <button type="submit" disabled={busy || scopes.size === 0 || !ready.ready}>
          {busy ? "Creating…" : "Create migration"}
        </button>
        {scopes.size === 0 ? <p className="hint">Choose at least one container to move.</p> : null}
        {scopes.size > 0 && ready.why ? <p className="hint">{ready.why}</p> : null}
      </form>
    </>
  );
}

function useContainers(orgId: string, connectorId: string) {
  return useAsync(
    async () =>
      connectorId
        ? (await call<{ items: Container[] }>(api.GET("/api/orgs/{orgId}/connectors/{connectorId}/containers", { params: { path: { orgId, connectorId } } }))).items
        : [],
    [orgId, connectorId],
  );
}

function PairTable(props: {
  label: string;
  fromLabel: string;
  toLabel: string;
  rows: Pair[];
  setRows: (r: Pair[]) => void;
  type?: string;
  /** CSV import/export of this table (the user mapping has its own, covering the listed people) */
  csvName?: string;
}) {
  const { rows, setRows } = props;
  const update = (i: number, p: Partial<Pair>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...p } : r)));
  const importCsv = async (file: File) => {
    const parsed = parseCsv(await file.text());
    const body = parsed[0] && /source|from/i.test(parsed[0][0] ?? "") ? parsed.slice(1) : parsed;
    setRows([...rows.filter((r) => r.from || r.to), ...body.map((r) => ({ from: r[0]?.trim() ?? "", to: r[1]?.trim() ?? "" }))]);
  };
  const exportCsv = () => {
    const text = [`source,destination`, ...rows.map((r) => `${csvCell(r.from)},${csvCell(r.to)}`)].join("\n") + "\n";
    saveBlob(new Blob([text], { type: "text/csv" }), props.csvName ?? "mapping.csv");
  };
  return (
    <div className="pairs">
      <h3 className="h4">{props.label}</h3>
      {rows.length === 0 ? <p className="muted">No rows.</p> : null}
      {rows.length > 0 ? (
        <table className="table compact">
          <caption className="sr-only">{props.label}</caption>
          <thead>
            <tr>
              <th scope="col">{props.fromLabel}</th>
              <th scope="col">{props.toLabel}</th>
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`${props.fromLabel} ${i + 1}`} type={props.type ?? "text"} value={r.from} onChange={(e) => update(i, { from: e.target.value })} />
                </td>
                <td>
                  <input aria-label={`${props.toLabel} ${i + 1}`} type={props.type ?? "text"} value={r.to} onChange={(e) => update(i, { to: e.target.value })} />
                </td>
                <td>
                  <button type="button" className="secondary small" aria-label={`Remove row ${i + 1}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="buttons">
        <button type="button" className="secondary small" onClick={() => setRows([...rows, { from: "", to: "" }])}>
          Add row
        </button>
        {props.csvName ? (
          <>
            <label className="button secondary small filebutton">
              Import CSV
              <input type="file" accept=".csv,text/csv" className="sr-only" aria-label={`Import ${props.label} from CSV`} onChange={(e) => e.target.files?.[0] && void importCsv(e.target.files[0])} />
            </label>
            <button type="button" className="secondary small" onClick={exportCsv} disabled={rows.length === 0}>
              Export CSV
            </button>
          </>
        ) : null}
      </div>
    </div>
  );
}
