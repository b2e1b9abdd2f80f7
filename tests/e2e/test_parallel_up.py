"""Two `ferry up` at once (issue 14, item 6): every stand-in of each takes a port of its own,
so two checkouts — and the test suite, whose stacks take free ports too — run side by side.
Each serves its API, signs in with its own development issuer, and refuses the other's tokens."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def ferry_up(data_dir: Path, settings: Path) -> Iterator[dict[str, Any]]:
    """`ferry up --port 0` on `data_dir`; yields what it wrote to up.json once its API answers."""
    env = {**os.environ, "FERRY_SETTINGS_FILE": str(settings)}
    log = open(data_dir.parent / f"{data_dir.name}.log", "wb")  # closed below, once the process is gone
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "up", "--port", "0", "--workers", "0", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        up: dict[str, Any] | None = None
        while up is None:
            assert proc.poll() is None, (data_dir.parent / f"{data_dir.name}.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "ferry up did not write up.json in time"
            try:
                up = json.loads((data_dir / "up.json").read_text())
                httpx.get(f"{up['api']}/api/health", timeout=5)
            except (OSError, ValueError, httpx.TransportError):
                up = None
                time.sleep(0.5)
        yield up
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _token(data_dir: Path, email: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "tools.cli", "token", email, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_two_ferry_ups_run_side_by_side(tmp_path: Path) -> None:
    settings = tmp_path / "local.settings.json"
    shutil.copyfile(ROOT / "local.settings.json.example", settings)
    dirs = [tmp_path / "first", tmp_path / "second"]
    with ExitStack() as both:
        ups = [both.enter_context(ferry_up(d, settings)) for d in dirs]
        ports = [set(up["ports"].values()) for up in ups]
        assert all(len(p) == 6 for p in ports), ups  # api, blob, queue, table, cosmos, issuer
        assert not ports[0] & ports[1], ups
        tokens = [_token(d, "parallel@example.com") for d in dirs]
        for up, token, other in zip(ups, tokens, reversed(tokens), strict=True):
            health = httpx.get(f"{up['api']}/api/health", timeout=30)
            assert health.status_code == 200 and health.json()["status"] == "ok", health.text
            me = httpx.get(f"{up['api']}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert me.status_code == 200 and me.json()["issuer"] == up["issuer"], me.text
            foreign = httpx.get(f"{up['api']}/api/me", headers={"Authorization": f"Bearer {other}"}, timeout=30)
            assert foreign.status_code == 401, foreign.text
    for d in dirs:
        assert not (d / "up.json").exists()  # removed on the way out: `ferry token` then says none runs
