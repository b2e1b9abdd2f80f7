"""CPU seconds of the local runner's queue workers (psutil: the process table of any OS).

The runner (``tools.devhost``) starts its ``--workers N`` queue workers with multiprocessing's
``spawn`` context, so they are its children whose command line runs ``spawn_main``; the
resource tracker that ``spawn`` also starts is not a worker and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of ``pid`` so far; None once it is gone."""
    split = cpu_split(pid)
    return None if split is None else split[0] + split[1]


def cpu_split(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of ``pid`` so far; None once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user), float(times.system)


def worker_pids(runner_pid: int) -> list[int]:
    """The runner's queue worker processes."""
    try:
        children = psutil.Process(runner_pid).children()
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue  # gone meanwhile
        if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            found.append(child.pid)
    return sorted(found)


@dataclass
class WorkerCpu:
    """CPU the runner's workers spent since ``start()``; a worker started meanwhile counts
    from zero. A worker that died meanwhile is lost from the sum (``lost`` counts them)."""

    runner_pid: int
    before: dict[int, tuple[float, float]] = field(default_factory=dict)
    lost: int = 0
    #: of the CPU the last ``spent()`` counted, the share spent in the kernel (on loopback
    #: the kernel's TCP work for the receiving end is charged to the sender)
    system_share: float = 0.0

    def start(self) -> WorkerCpu:
        self.before = {pid: cpu for pid in worker_pids(self.runner_pid) if (cpu := cpu_split(pid)) is not None}
        self.lost = 0
        return self

    def spent(self) -> float:
        now = {pid: cpu for pid in worker_pids(self.runner_pid) if (cpu := cpu_split(pid)) is not None}
        self.lost = sum(1 for pid in self.before if pid not in now)
        user = sum(u - self.before.get(pid, (0.0, 0.0))[0] for pid, (u, _) in now.items())
        system = sum(s - self.before.get(pid, (0.0, 0.0))[1] for pid, (_, s) in now.items())
        self.system_share = system / (user + system) if user + system > 0 else 0.0
        return user + system
