"""One vendor simulator in a process of its own, for the end-to-end benchmarks.

``python -m bench.sim_server '{"kind": "trello", "source": true, "boards": 3, "cards": 100,
"max_mb": 1}'`` seeds the simulator exactly as ``./dev demo`` does
(``tools.demo``: checklists, comments, labels, members, attachments), serves it on a free
loopback port with the vendor's real limits, prints one JSON line (``url`` and the
``connection`` a Ferry connector needs) and serves until stdin closes or it gets SIGTERM.

Why a process: inside the benchmark's own process the simulators would share one GIL with the
driver and with each other, so a run would measure Python thread scheduling as much as Ferry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SimProcess:
    """A running simulator: where it listens and how a connector reaches it."""

    kind: str
    url: str
    connection: dict[str, Any]

    def stats(self) -> dict[str, Any]:
        """``/_sim/stats``: requests per route and status as the clients received them."""
        return dict(httpx.get(f"{self.url}/_sim/stats", timeout=30).json())

    def reset_stats(self) -> None:
        httpx.post(f"{self.url}/_sim/stats/reset", timeout=30).raise_for_status()

    def limits(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_sim/limits", timeout=30).json())


@contextmanager
def sim_process(
    kind: str, *, source: bool, boards: int = 0, cards: int = 0, max_mb: int = 1, log: Path | None = None
) -> Iterator[SimProcess]:
    """Start the simulator of ``kind`` in a child process; stop it on exit."""
    spec = json.dumps({"kind": kind, "source": source, "boards": boards, "cards": cards, "max_mb": max_mb})
    with ExitStack() as files:  # the child keeps its own copy of the log's descriptor
        err = files.enter_context(open(log, "ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sim_server", spec],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{kind} simulator exited with {proc.wait()} before it listened")
        info = json.loads(line)
        yield SimProcess(kind, info["url"], info["connection"])
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the child serves until its stdin closes
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(spec_json: str) -> None:
    from tools.demo import _seed, _start_vendor

    spec = json.loads(spec_json)
    seed = _seed(spec["kind"], source=spec["source"], boards=spec["boards"], cards=spec["cards"], max_mb=spec["max_mb"])
    with ExitStack() as stack:
        vendor = _start_vendor(stack, spec["kind"], seed)
        print(json.dumps({"url": vendor.url, "connection": vendor.connection}), flush=True)
        done = threading.Event()

        def wait_for_eof() -> None:
            sys.stdin.read()
            done.set()

        threading.Thread(target=wait_for_eof, daemon=True).start()
        done.wait()


if __name__ == "__main__":
    main(sys.argv[1])
