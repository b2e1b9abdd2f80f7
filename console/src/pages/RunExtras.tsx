// Mode-specific panels of the run view: a verify run's verdicts.
import type { ReportRow, Run } from "../api/types";
import { FINAL_STATUSES } from "../api/types";
import { KIND_ORDER, itemKinds, total } from "../adaptations";
import { Empty, Loading } from "../ui";
import { DEFECTS, SUMMARY_VERDICTS, VERDICT_LABELS, defectCount, fieldsOf, verdictRank, verdictSentences } from "../verify";

/** `rows`: the run's report once it is final (null while loading or running). */
export function RunExtras({ run, rows }: { run: Run; rows: ReportRow[] | null }) {
  switch (run.mode) {
    case "verify":
      return <VerifyResults run={run} rows={rows} />;
    default:
      return null;
  }
}

const DEFECT_ROWS_SHOWN = 200;

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

function VerifyResults({ run, rows }: { run: Run; rows: ReportRow[] | null }) {
  const final = FINAL_STATUSES.includes(run.status);
  const counts = run.counts ?? {};
  const kinds = itemKinds(counts);
  const checked = kinds.reduce((n, k) => n + total(counts[k]), 0);
  const defects = defectCount(counts);
  const sentences = verdictSentences(counts, kinds, rows);
  const columns = counts.scope?.failed ? [...SUMMARY_VERDICTS, "failed" as const] : SUMMARY_VERDICTS;
  const defectRows = (rows ?? []).filter((r) => DEFECTS.includes(r.action)).sort((a, b) => verdictRank(a.action) - verdictRank(b.action) || kindRank(a.kind) - kindRank(b.kind));
  let headline: string;
  if (!final) headline = `Verifying… ${checked.toLocaleString()} items compared so far.`;
  else if (run.status === "failed" || run.status === "cancelled") headline = `The verify did not finish (${run.status}); what it compared is below.`;
  else if (defects === 0) headline = `Every migrated item is at the destination as the source says (${checked.toLocaleString()} items compared).`;
  else headline = `Verify found ${defects.toLocaleString()} ${defects === 1 ? "defect" : "defects"} in ${checked.toLocaleString()} items compared.`;
  return (
    <section aria-labelledby="verdicts" className="panel">
      <h2 id="verdicts">Verify results</h2>
      <p className={final && defects ? "verdict defects" : "verdict"} data-defects={defects}>
        {headline}
      </p>
      {sentences.length ? (
        <ul className="verdict-sentences" aria-label="Verdicts in words">
          {sentences.map((s) => (
            <li key={s}>{s}.</li>
          ))}
        </ul>
      ) : (
        <Empty>Nothing compared yet…</Empty>
      )}
      {kinds.length ? (
        <table className="table compact verdict-table">
          <caption>Verdicts per kind</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              {columns.map((v) => (
                <th scope="col" key={v} data-verdict={v} className="num">
                  {VERDICT_LABELS[v]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {kinds.map((k) => (
              <tr key={k} data-kind={k}>
                <th scope="row">{k}</th>
                {columns.map((v) => (
                  <td key={v} data-verdict={v} className={`num${DEFECTS.includes(v) && counts[k]?.[v] ? " defect" : ""}`}>
                    {(counts[k]?.[v] ?? 0).toLocaleString()}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {final ? (
        <>
          <h3 className="h4" id="defects">
            Defects
          </h3>
          {rows === null ? (
            <Loading what="the defects" />
          ) : defectRows.length === 0 ? (
            <p>No defects: nothing is missing, different, duplicated or unexpected.</p>
          ) : (
            <>
              {defectRows.length > DEFECT_ROWS_SHOWN ? (
                <p className="muted">
                  The first {DEFECT_ROWS_SHOWN} of {defectRows.length.toLocaleString()} defects; filter the report below or download it for all.
                </p>
              ) : null}
              <table className="table compact report defect-table" aria-labelledby="defects">
                <thead>
                  <tr>
                    <th scope="col">Kind</th>
                    <th scope="col">Verdict</th>
                    <th scope="col">Source id</th>
                    <th scope="col">Destination id</th>
                    <th scope="col">Fields / reason</th>
                  </tr>
                </thead>
                <tbody>
                  {defectRows.slice(0, DEFECT_ROWS_SHOWN).map((r, i) => {
                    const fields = fieldsOf(r);
                    return (
                      <tr key={`${r.kind}-${r.sourceId}-${i}`} data-verdict={r.action} className="failure">
                        <td>{r.kind}</td>
                        <td>{VERDICT_LABELS[r.action] ?? r.action}</td>
                        <td className="id">{r.sourceId}</td>
                        <td className="id">{r.destinationId ?? "—"}</td>
                        <td>
                          {fields.length ? (
                            <ul className="fields" aria-label="Fields that differ">
                              {fields.map((f) => (
                                <li key={f}>
                                  <code>{f}</code>
                                </li>
                              ))}
                            </ul>
                          ) : (
                            r.reason || "—"
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </>
          )}
        </>
      ) : null}
    </section>
  );
}
