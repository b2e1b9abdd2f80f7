"""Print what every pair matched, adapted and got wrong: ``python -m tests.pairs.report``.

Runs the same scenario as the tests (first run, comparison, delta) outside pytest, for the
issue report; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time

from shared.engine.ports import ItemStatus
from tests.pairs.known import KNOWN
from tests.pairs.scenario import PAIRS, delta_run, first_run, pair_id
from tests.pairs.world import running_sims


async def main() -> None:
    logging.disable(logging.WARNING)
    sys.setswitchinterval(0.0002)
    with running_sims() as sims:
        for pair in PAIRS:
            started, cpu = time.monotonic(), time.process_time()
            out = await first_run(sims[pair[0]], sims[pair[1]])
            delta, _, _ = await delta_run(out)
            key = pair_id(pair)
            c = out.comparison
            print(
                f"== {key}: first run {out.first.status}, with delta "
                f"{time.monotonic() - started:.1f}s wall, "
                f"{time.process_time() - cpu:.1f}s CPU (simulators included)"
            )
            print("   matched:", dict(sorted((k, v) for k, v in c.matched.items() if not k.endswith(":empty"))))
            print("   documented adaptations:", dict(sorted(c.rules.items())))
            print(
                "   engine adaptation counters:",
                {k: v for k, v in out.first.counts.items() if k.startswith(("adapt.", "skip."))},
            )
            for d in c.diffs:
                print(f"   DIFF ({KNOWN.get(key, {}).get(d.code, 'UNKNOWN')}) {str(d)[:220]}")
            updated = sorted(r.source_id for r in delta.rows_with(ItemStatus.UPDATED))
            print(
                f"   delta: {delta.status}, updated {updated} (edited {out.edited}), "
                f"counts {dict(sorted((k, v) for k, v in delta.counts.items() if v))}"
            )


if __name__ == "__main__":
    asyncio.run(main())
