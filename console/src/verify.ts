// The verdicts of a verify run (`POST …/runs {"mode": "verify"}`): every migrated item gets a
// report row whose action is one of these, and the run counts them per kind (task.ok, …).
import type { ReportRow } from "./api/types";

/** Defects first, then what the migration itself already reported, then the good news. */
export const VERDICTS = ["missing", "different", "duplicate", "unexpected", "failed", "skipped", "ok"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What makes a verify end `partially_succeeded` (`failed`: a scope that could not be read). */
export const DEFECTS: string[] = ["missing", "different", "duplicate", "unexpected", "failed"];

/** The columns of the per-kind summary (a `failed` column only when a scope failed). */
export const SUMMARY_VERDICTS: Verdict[] = ["ok", "missing", "different", "duplicate", "unexpected", "skipped"];

export const VERDICT_LABELS: Record<string, string> = {
  ok: "ok",
  missing: "missing",
  different: "different",
  duplicate: "duplicate",
  unexpected: "unexpected",
  failed: "could not verify",
  skipped: "skipped",
};

const KIND_PLURALS: Record<string, string> = { scope: "containers", project: "projects" };

function items(n: number, kind: string): string {
  const many = KIND_PLURALS[kind] ?? `${kind}s`;
  return `${n.toLocaleString()} ${n === 1 ? (kind === "scope" ? "container" : kind) : many}`;
}

/** "are" / "is" for a count. */
function be(n: number): string {
  return n === 1 ? "is" : "are";
}

/** The field names a `different` row names ("fields: task.name, task.labels"). */
export function fieldsOf(row: ReportRow): string[] {
  const reason = row.reason ?? "";
  if (row.action !== "different" || !reason.startsWith("fields:")) return [];
  return reason
    .slice("fields:".length)
    .split(",")
    .map((f) => f.trim())
    .filter(Boolean);
}

export function verdictRank(action: string): number {
  const i = (VERDICTS as readonly string[]).indexOf(action);
  return i < 0 ? VERDICTS.length : i;
}

/** One plain sentence per kind and verdict, defects first; `different` names its fields
 * (from the report rows, when they are loaded). */
export function verdictSentences(counts: Record<string, Record<string, number>>, kinds: string[], rows: ReportRow[] | null): string[] {
  const out: string[] = [];
  const fieldsByKind: Record<string, Map<string, number>> = {};
  for (const r of rows ?? []) {
    for (const f of fieldsOf(r)) {
      const m = (fieldsByKind[r.kind] ??= new Map());
      m.set(f, (m.get(f) ?? 0) + 1);
    }
  }
  const allKinds = counts.scope?.failed ? [...kinds, "scope"] : kinds;
  for (const verdict of VERDICTS) {
    for (const kind of allKinds) {
      const n = counts[kind]?.[verdict] ?? 0;
      if (!n) continue;
      const what = items(n, kind);
      switch (verdict) {
        case "missing":
          out.push(`${what} ${be(n)} missing at the destination`);
          break;
        case "different": {
          const fields = Array.from(fieldsByKind[kind]?.entries() ?? [])
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .map(([f, c]) => (c > 1 ? `${f} (${c.toLocaleString()})` : f));
          out.push(`${what} ${n === 1 ? "differs" : "differ"} from the source${fields.length ? ` in ${fields.join(", ")}` : ""}`);
          break;
        }
        case "duplicate":
          out.push(`${what} ${be(n)} at the destination more than once`);
          break;
        case "unexpected":
          out.push(`${what} at the destination ${n === 1 ? "comes" : "come"} from no source item`);
          break;
        case "failed":
          out.push(`${what} could not be verified (see the report)`);
          break;
        case "skipped":
          out.push(`${what} ${n === 1 ? "was" : "were"} skipped by the migration, as its report said`);
          break;
        case "ok":
          out.push(`${what} ${be(n)} at the destination as the source says`);
          break;
      }
    }
  }
  return out;
}

export function defectCount(counts: Record<string, Record<string, number>>): number {
  let n = 0;
  for (const [kind, byVerdict] of Object.entries(counts)) {
    if (kind === "adapt" || kind === "skip") continue;
    for (const d of DEFECTS) n += byVerdict[d] ?? 0;
  }
  return n;
}
