"""The whole app served by the local runner (a subprocess, like `ferry up`), on free ports."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tools.stack import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


class RunningApp:
    def __init__(self, base_url: str, proc: subprocess.Popen, log: Path) -> None:
        self.base_url = base_url
        self.proc = proc
        self.log = log

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="session")
def running_app(local_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    port = free_port()
    log = tmp_path_factory.mktemp("runner") / "runner.log"
    env = {**os.environ, **local_env, "FERRY_RUNNER_LEASE_SECONDS": "20"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.devhost", "--app", "function_app:app", "--port", str(port), "--workers", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    app = RunningApp(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
