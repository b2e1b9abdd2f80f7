"""Where a profiled worker's CPU went: the top functions of ``.prof`` files, by own and by
cumulative CPU time, as shares of the total.

Profiles come from the local runner's queue workers run with ``FERRY_PROFILE_DIR``
(``tools/devhost/profiling.py``), e.g.::

    FERRY_PROFILE_DIR=.ferry/profile .venv/bin/python -m bench.e2e_budget --pairs trello:asana \\
        --boards 1 --cards 100 --orgs 0 --app bench.migration_app:app
    .venv/bin/python -m bench.profile_top .ferry/profile/*.prof --top 40

Figures are shares, not times: cProfile slows the worker down, more so where calls are many
and small, so the shares lean towards call-heavy code.
"""

from __future__ import annotations

import argparse
import pstats
from pathlib import Path


def _name(func: tuple[str, int, str]) -> str:
    path, line, name = func
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if len(parts) >= 2 else path
    return f"{name} ({short}:{line})" if line else name


def top(stats: pstats.Stats, key: str, count: int) -> list[tuple[float, int, str]]:
    """(share of the total, calls, function) of the ``count`` largest by ``key``."""
    table = stats.stats  # type: ignore[attr-defined]  # documented as the stats' dictionary
    total = sum(own for _, _, own, _, _ in table.values()) or 1.0
    index = 2 if key == "own" else 3
    rows = sorted(table.items(), key=lambda kv: kv[1][index], reverse=True)[:count]
    return [(v[index] / total, v[1], _name(k)) for k, v in rows]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_top", description=__doc__)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    stats = pstats.Stats(*(str(f) for f in args.files))
    print(f"total CPU {stats.total_tt:.2f} s (profiled) in {len(args.files)} file(s)")  # type: ignore[attr-defined]
    for key in ("own", "cumulative"):
        print(f"--- by {key} time")
        for share, calls, name in top(stats, key, args.top):
            print(f"{100 * share:5.1f} % {calls:9d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
