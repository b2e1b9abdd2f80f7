"""The whole app served by the local runner (a subprocess, like `ferry up`), on a free port.

One runner serves the session (the `running_app` fixture in tests/conftest.py): the e2e,
console and assistant suites share it, each test with an org of its own, so its start-up is
paid once and no second idle runner polls the session's queues beside it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tools.devhost.process import runner_process
from tools.stack import free_port


class RunningApp:
    def __init__(self, base_url: str, proc: subprocess.Popen, log: Path) -> None:  # type: ignore[type-arg]
        self.base_url = base_url
        self.proc = proc
        self.log = log

    def client(self, token: str | None = None, *, source: str | None = None) -> httpx.Client:
        """A client of the API; `source` binds another loopback address (127.x.y.z), so tests
        that fail authentication on purpose do not trip the per-client throttle for others."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, transport=transport)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


_sources = iter(f"127.{a}.{b}.{c}" for a in range(2, 255) for b in range(256) for c in range(1, 255))


def fresh_source() -> str:
    """A loopback address no other request of this session has used."""
    return next(_sources)


@contextmanager
def serve_app(local_env: dict[str, str], log: Path) -> Iterator[RunningApp]:
    """The app on the session's stand-ins, one queue worker, stopped on exit."""
    port = free_port()
    env = {**os.environ, **local_env, "FERRY_RUNNER_LEASE_SECONDS": "20"}
    with runner_process(env, port, log, workers=1) as proc:
        yield RunningApp(f"http://127.0.0.1:{port}", proc, log)
