"""CPU seconds of the local runner's queue workers, read from ``/proc`` (Linux).

The runner (``tools.devhost``) starts its ``--workers N`` queue workers with multiprocessing's
``spawn`` context, so they are its children whose command line runs ``spawn_main``; the
resource tracker that ``spawn`` also starts is not a worker and is left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` so far; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15)


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` now; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def worker_pids(runner_pid: int) -> list[int]:
    """The runner's queue worker processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == runner_pid and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class WorkerCpu:
    """CPU the runner's workers spent since ``start()``; a worker started meanwhile counts
    from zero. A worker that died meanwhile is lost from the sum (``lost`` counts them)."""

    runner_pid: int
    before: dict[int, float] = field(default_factory=dict)
    lost: int = 0

    def start(self) -> WorkerCpu:
        self.before = {pid: cpu for pid in worker_pids(self.runner_pid) if (cpu := cpu_seconds(pid)) is not None}
        self.lost = 0
        return self

    def spent(self) -> float:
        now = {pid: cpu for pid in worker_pids(self.runner_pid) if (cpu := cpu_seconds(pid)) is not None}
        self.lost = sum(1 for pid in self.before if pid not in now)
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in now.items())
