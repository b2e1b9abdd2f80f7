"""CPU seconds of the local runner's queue workers (psutil: the process table of any OS).

The runner (``tools.devhost``) starts its ``--workers N`` queue workers with multiprocessing's
``spawn`` context, so they are its children whose command line runs ``spawn_main``; the
resource tracker that ``spawn`` also starts is not a worker and is left out.

Each worker process runs the Functions host's half of the queue triggers (polling, leases,
deletes: in Azure a process of its own) on a thread named ``ferry-host``
(``tools.devhost.host_thread``). Its CPU is counted apart: ``WorkerCpu.spent`` is the
functions' CPU (the process less that thread), ``WorkerCpu.host_s`` the host thread's. Where
thread names cannot be read (no ``/proc``), nothing is split and ``host_s`` stays 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tools.devhost.host_thread import HOST_THREAD_NAME

#: (user, system, host thread's user, host thread's system) CPU seconds of one worker
_Times = tuple[float, float, float, float]


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


def host_thread_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the ``ferry-host`` thread of worker ``pid``; (0, 0) when
    it has none or thread names cannot be read."""
    try:
        threads = psutil.Process(pid).threads()
    except psutil.Error:
        return 0.0, 0.0
    for thread in threads:
        try:
            name = Path(f"/proc/{pid}/task/{thread.id}/comm").read_text().strip()
        except OSError:
            continue
        if name == HOST_THREAD_NAME:
            return float(thread.user_time), float(thread.system_time)
    return 0.0, 0.0


def _times(pid: int) -> _Times | None:
    split = cpu_split(pid)
    if split is None:
        return None
    return (*split, *host_thread_split(pid))


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
    before: dict[int, _Times] = field(default_factory=dict)
    lost: int = 0
    #: of the CPU the last ``spent()`` counted, the share spent in the kernel (on loopback
    #: the kernel's TCP work for the receiving end is charged to the sender)
    system_share: float = 0.0
    #: the host threads' CPU over the same span (queue polling, leases: the host's in Azure)
    host_s: float = 0.0

    def start(self) -> WorkerCpu:
        self.before = {pid: t for pid in worker_pids(self.runner_pid) if (t := _times(pid)) is not None}
        self.lost = 0
        return self

    def spent(self) -> float:
        """The functions' CPU (the workers less their host threads) since ``start()``."""
        now = {pid: t for pid, t in ((pid, _times(pid)) for pid in worker_pids(self.runner_pid)) if t is not None}
        self.lost = sum(1 for pid in self.before if pid not in now)
        zero = (0.0, 0.0, 0.0, 0.0)
        deltas = [tuple(a - b for a, b in zip(t, self.before.get(pid, zero), strict=True)) for pid, t in now.items()]
        user = sum(d[0] - d[2] for d in deltas)
        system = sum(d[1] - d[3] for d in deltas)
        self.host_s = sum(d[2] + d[3] for d in deltas)
        self.system_share = system / (user + system) if user + system > 0 else 0.0
        return user + system
