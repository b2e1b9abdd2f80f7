"""The whole app served by the local runner (a subprocess, like `ferry up`), on free ports."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tools.devhost.process import runner_process
from tools.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


class RunningApp:
    def __init__(self, base_url: str, proc: subprocess.Popen, log: Path) -> None:
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


@pytest.fixture(scope="session")
def running_app(local_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    port = free_port()
    log = tmp_path_factory.mktemp("runner") / "runner.log"
    env = {**os.environ, **local_env, "FERRY_RUNNER_LEASE_SECONDS": "20"}
    with runner_process(env, port, log, workers=1) as proc:
        yield RunningApp(f"http://127.0.0.1:{port}", proc, log)
