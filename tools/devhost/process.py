"""The local runner as a child process (the demo and the end-to-end tests use it)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.stack import wait_for_port

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def runner_process(
    env: dict[str, str],
    port: int,
    log_file: Path,
    *,
    workers: int = 1,
    app: str = "function_app:app",
    timeout: float = 90,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `python -m tools.devhost` with `env`, wait until HTTP answers, stop it on exit
    (SIGTERM: in-flight messages finish first)."""
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.devhost", "--app", app, "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=timeout, proc=proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
