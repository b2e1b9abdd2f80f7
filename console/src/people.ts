// The user mapping the wizard builds before a run: the source's people (of the chosen
// containers) matched by email to the destination's people; the rest resolved by a person
// (someone at the destination, or the fallback person). Pure functions, no I/O, so the rules
// are one screen: what counts as matched, what blocks the run, what the API receives, and
// the CSV a person exports and imports.

export interface Person {
  id?: string | null;
  name?: string | null;
  email?: string | null;
}

/** A resolution: a destination email, or the fallback person. */
export const FALLBACK = "__fallback__";
export type Resolutions = Record<string, string>; // source email (lower case) → dest email | FALLBACK

export type RowState =
  | { kind: "matched"; dest: string } // same email at the destination, nobody chose otherwise
  | { kind: "mapped"; dest: string } // a person chose someone at the destination
  | { kind: "fallback" } // a person chose the fallback person
  | { kind: "no-email" } // the source shows no email: only the fallback can get their work
  | { kind: "unresolved" };

export const key = (email: string | null | undefined) => (email ?? "").trim().toLowerCase();

/** People of several listings, each once (by id, else email), the one with an email kept. */
export function mergePeople(lists: Person[][]): Person[] {
  const found = new Map<string, Person>();
  for (const list of lists)
    for (const p of list) {
      const k = p.id || key(p.email) || p.name || "";
      if (!k) continue;
      const known = found.get(k);
      if (!known || (p.email && !known.email)) found.set(k, p);
    }
  return [...found.values()].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || key(a.email).localeCompare(key(b.email)));
}

export function destinationByEmail(dest: Person[]): Map<string, Person> {
  const out = new Map<string, Person>();
  for (const p of dest) if (p.email) out.set(key(p.email), p);
  return out;
}

export function rowState(person: Person, dest: Map<string, Person>, resolutions: Resolutions): RowState {
  const k = key(person.email);
  if (!k) return { kind: "no-email" };
  const chosen = resolutions[k];
  if (chosen === FALLBACK) return { kind: "fallback" };
  if (chosen) return dest.has(key(chosen)) && key(chosen) === k ? { kind: "matched", dest: key(chosen) } : { kind: "mapped", dest: key(chosen) };
  if (dest.has(k)) return { kind: "matched", dest: k };
  return { kind: "unresolved" };
}

export interface MappingSummary {
  matched: number;
  mapped: number;
  toFallback: number;
  unresolved: number;
  /** the fallback person is needed (someone goes to them) */
  needsFallback: boolean;
}

export function summarise(source: Person[], dest: Map<string, Person>, resolutions: Resolutions): MappingSummary {
  const s: MappingSummary = { matched: 0, mapped: 0, toFallback: 0, unresolved: 0, needsFallback: false };
  for (const p of source) {
    const st = rowState(p, dest, resolutions);
    if (st.kind === "matched") s.matched++;
    else if (st.kind === "mapped") s.mapped++;
    else if (st.kind === "unresolved") s.unresolved++;
    else s.toFallback++;
  }
  s.needsFallback = s.toFallback > 0;
  return s;
}

/** The API's `userMapping.emails`: extra rows typed by hand, then every resolution (a person
 * sent to the fallback is mapped to the fallback's email explicitly). Matched people need no
 * row: the run matches by email itself. */
export function mappingEmails(extra: { from: string; to: string }[], resolutions: Resolutions, fallback: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of extra) if (r.from.trim() && r.to.trim()) out[key(r.from)] = key(r.to);
  for (const [src, dst] of Object.entries(resolutions)) {
    if (dst === FALLBACK) {
      if (fallback.trim()) out[src] = key(fallback);
    } else if (dst && key(dst) !== src) out[src] = key(dst);
  }
  return out;
}

export function csvCell(s: string) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The whole mapping as CSV: one row per listed source person with an email (destination:
 * an email, `fallback`, or empty while unresolved), then the rows typed by hand. */
export function mappingCsv(source: Person[], dest: Map<string, Person>, resolutions: Resolutions, extra: { from: string; to: string }[]): string {
  const lines = ["source email,source name,destination email"];
  for (const p of source) {
    if (!p.email) continue;
    const st = rowState(p, dest, resolutions);
    const to = st.kind === "matched" || st.kind === "mapped" ? st.dest : st.kind === "fallback" ? "fallback" : "";
    lines.push([p.email, p.name ?? "", to].map(csvCell).join(","));
  }
  for (const r of extra) if (r.from.trim()) lines.push([r.from.trim(), "", r.to.trim()].map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

/** Rows of an imported mapping: `source,destination` or `source,name,destination` (a header
 * naming "source" is skipped). Listed people become resolutions, others extra rows. */
export function importMapping(rows: string[][], listed: Set<string>): { resolutions: Resolutions; extra: { from: string; to: string }[] } {
  const body = rows[0] && /source|from/i.test(rows[0][0] ?? "") ? rows.slice(1) : rows;
  const resolutions: Resolutions = {};
  const extra: { from: string; to: string }[] = [];
  for (const r of body) {
    const from = key(r[0]);
    const to = (r.length >= 3 ? r[2] : r[1] ?? "").trim();
    if (!from) continue;
    const value = /^fallback$/i.test(to) ? FALLBACK : key(to);
    if (listed.has(from)) {
      if (value) resolutions[from] = value;
    } else if (value && value !== FALLBACK) extra.push({ from, to: value });
  }
  return { resolutions, extra };
}

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => r.some((c) => c.trim()));
}
