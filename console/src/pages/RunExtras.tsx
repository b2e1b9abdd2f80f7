// Mode-specific panels of the run view. The `verify` mode (being added to the runs API as
// {"mode": "verify"}) shows its results here: its view goes in this switch.
import type { Run } from "../api/types";

export function RunExtras({ run }: { run: Run }) {
  switch (run.mode) {
    default:
      return null;
  }
}
