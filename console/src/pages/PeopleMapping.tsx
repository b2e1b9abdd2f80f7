import { useId } from "react";
import { api, call } from "../api/client";
import {
  FALLBACK,
  destinationByEmail,
  importMapping,
  key,
  mappingCsv,
  mergePeople,
  parseCsv,
  rowState,
  summarise,
  type Person,
  type Resolutions,
} from "../people";
import { Loading, ProblemMessage, VendorName, plural, saveBlob, useAsync } from "../ui";

type Extra = { from: string; to: string };

/** Every person a connector sees in the given containers (all pages of each; `null`: the
 * connector's default, everyone it sees). Asked of the API each time: nothing is kept. */
async function loadPeople(orgId: string, connectorId: string, containers: (string | null)[]): Promise<Person[]> {
  const lists = await Promise.all(
    containers.map(async (container) => {
      const out: Person[] = [];
      let continuation: string | undefined;
      do {
        const page = await call<{ items: Person[]; continuation?: string | null }>(
          api.GET("/api/orgs/{orgId}/connectors/{connectorId}/people", {
            params: { path: { orgId, connectorId }, query: { container: container ?? undefined, pageSize: 200, continuation } },
          }),
        );
        out.push(...page.items);
        continuation = page.continuation ?? undefined;
      } while (continuation);
      return out;
    }),
  );
  return mergePeople(lists);
}

export function usePeople(orgId: string, connectorId: string, containers: (string | null)[], enabled: boolean) {
  const ids = containers.join("\n");
  return useAsync(async () => (enabled && connectorId ? loadPeople(orgId, connectorId, containers) : null), [orgId, connectorId, ids, enabled]);
}

const label = (p: Person) => (p.name && p.email ? `${p.name} <${p.email}>` : p.name || p.email || p.id || "someone");
const shown = (s: string) => s.replace(/[\u202a-\u202e\u2066-\u2069]/g, "");

/** The people step: the source's people with what becomes of each at the destination. */
export function PeopleMapping(props: {
  source: ReturnType<typeof usePeople>;
  dest: ReturnType<typeof usePeople>;
  resolutions: Resolutions;
  setResolutions: (r: Resolutions) => void;
  extra: Extra[];
  setExtra: (r: Extra[]) => void;
  fallback: string;
}) {
  const { source, dest, resolutions, setResolutions } = props;
  const summaryId = useId();
  if (source.loading || dest.loading) return <Loading what="the people of both tools" />;
  if (source.error || dest.error)
    return (
      <>
        <ProblemMessage error={source.error ?? dest.error} />
        <p className="hint">The people could not be listed: add a row below for each person whose email differs at the destination.</p>
      </>
    );
  const people = source.data ?? [];
  const destPeople = (dest.data ?? []).filter((p) => p.email);
  const byEmail = destinationByEmail(destPeople);
  const s = summarise(people, byEmail, resolutions);
  const listed = new Set(people.map((p) => key(p.email)).filter(Boolean));
  const choose = (email: string, value: string) => {
    const next = { ...resolutions };
    if (value) next[key(email)] = value;
    else delete next[key(email)];
    setResolutions(next);
  };
  const importCsv = async (file: File) => {
    const got = importMapping(parseCsv(await file.text()), listed);
    setResolutions({ ...resolutions, ...got.resolutions });
    props.setExtra([...props.extra.filter((r) => r.from || r.to), ...got.extra]);
  };
  const exportCsv = () => saveBlob(new Blob([mappingCsv(people, byEmail, resolutions, props.extra)], { type: "text/csv" }), "user-mapping.csv");

  return (
    <div className="people">
      {people.length === 0 ? (
        <p className="empty">The chosen containers show no people.</p>
      ) : (
        <>
          <p id={summaryId} role="status" className={s.unresolved ? "problem" : "ok"}>
            {plural(people.length, "person", "people")} at the source: {s.matched} matched by email, {s.mapped} mapped by you,{" "}
            {s.toFallback} to the fallback person, <strong>{s.unresolved} to resolve</strong>.
          </p>
          <table className="table compact" aria-describedby={summaryId}>
            <caption>People at the source</caption>
            <thead>
              <tr>
                <th scope="col">Person</th>
                <th scope="col">Email at the source</th>
                <th scope="col">At the destination</th>
              </tr>
            </thead>
            <tbody>
              {people.map((p) => {
                const st = rowState(p, byEmail, resolutions);
                return (
                  <tr key={p.id ?? p.email ?? p.name} data-state={st.kind}>
                    <th scope="row">
                      <VendorName name={p.name || p.email || p.id} />
                    </th>
                    <td>{p.email ? <VendorName name={p.email} /> : <span className="muted">not shown by the source</span>}</td>
                    <td>
                      {p.email ? (
                        <select
                          aria-label={`At the destination: ${shown(label(p))}`}
                          value={st.kind === "matched" || st.kind === "mapped" ? st.dest : st.kind === "fallback" ? FALLBACK : ""}
                          onChange={(e) => choose(p.email!, e.target.value)}
                          aria-invalid={st.kind === "unresolved" ? true : undefined}
                        >
                          <option value="">Choose someone…</option>
                          {destPeople.map((d) => (
                            <option key={key(d.email)} value={key(d.email)}>
                              {shown(label(d))}
                              {key(d.email) === key(p.email) ? " (same email)" : ""}
                            </option>
                          ))}
                          <option value={FALLBACK}>The fallback person</option>
                        </select>
                      ) : (
                        <span>the fallback person</span>
                      )}
                      <span className="muted state">
                        {" "}
                        {st.kind === "matched"
                          ? "matched by email"
                          : st.kind === "mapped"
                            ? "mapped by you"
                            : st.kind === "unresolved"
                              ? "no one at the destination has this email"
                              : st.kind === "no-email"
                                ? "cannot be matched without an email"
                                : ""}
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
      <div className="buttons">
        <label className="button secondary small filebutton">
          Import CSV
          <input type="file" accept=".csv,text/csv" className="sr-only" aria-label="Import the user mapping from CSV" onChange={(e) => e.target.files?.[0] && void importCsv(e.target.files[0])} />
        </label>
        <button type="button" className="secondary small" onClick={exportCsv}>
          Export CSV
        </button>
      </div>
      {s.needsFallback && !props.fallback.trim() ? <p className="field-error">Name a fallback person: {plural(s.toFallback, "person goes", "people go")} to them.</p> : null}
    </div>
  );
}

/** Whether the run may be created: nobody listed is left unresolved, and the fallback person
 * is named when someone goes to them. */
export function mappingReady(source: ReturnType<typeof usePeople>, dest: ReturnType<typeof usePeople>, resolutions: Resolutions, fallback: string): { ready: boolean; why?: string } {
  if (source.loading || dest.loading) return { ready: false, why: "Listing the people of both tools…" };
  if (!source.data || !dest.data) return { ready: true }; // not listed (failed): rows by hand
  const s = summarise(source.data, destinationByEmail(dest.data), resolutions);
  if (s.unresolved) return { ready: false, why: `Resolve ${plural(s.unresolved, "person", "people")} at the source who match nobody at the destination.` };
  if (s.needsFallback && !fallback.trim()) return { ready: false, why: "Name the fallback person." };
  return { ready: true };
}
