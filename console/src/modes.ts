// Run modes the console can start, and how each is described. A new mode (e.g. `verify`,
// being added to the runs API) is one entry here plus, for its own results, a panel in
// pages/RunExtras.tsx.
export interface ModeDef {
  mode: string;
  label: string;
  help: string;
}

export const RUN_MODES: ModeDef[] = [
  { mode: "dry_run", label: "Preview (dry run)", help: "Reads the source and counts what would happen; writes nothing." },
  { mode: "full", label: "Run migration", help: "Moves everything; items already moved and unchanged cost nothing." },
  { mode: "delta", label: "Run delta", help: "Brings over only what changed at the source since the last run." },
  { mode: "retry_failed", label: "Retry failed items", help: "Runs only the items earlier runs failed or skipped." },
  { mode: "verify", label: "Verify", help: "Reads both sides and compares every migrated item with the source; writes nothing." },
];

export function modeLabel(mode: string): string {
  if (mode === "rollback") return "Rollback";
  if (mode === "verify") return "Verify";
  return RUN_MODES.find((m) => m.mode === mode)?.label ?? mode;
}
