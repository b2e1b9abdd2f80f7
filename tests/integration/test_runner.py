"""The local Functions runner against Azurite: host semantics for queues and timers."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from tools.devhost.host_config import HostConfig, QueueOptions
from tools.devhost.loader import load_app, triggers
from tools.devhost.queues import QueuePoller
from tools.devhost.timers import TimerRunner

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.functions.sample_app:app"


def _queue(conn: str, name: str) -> Any:
    from azure.storage.queue import QueueClient

    q = QueueClient.from_connection_string(conn, name)
    try:
        q.create_queue()
    except Exception:
        pass
    return q


def _send(q: Any, body: dict[str, Any]) -> None:
    q.send_message(base64.b64encode(json.dumps(body).encode()).decode())


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _trigger(kind: str) -> Any:
    return next(t for t in triggers(load_app(APP)) if t.kind == kind)


@pytest.fixture()
def conn(local_env: dict[str, str]) -> str:
    return local_env["FERRY_STORAGE_CONNECTION_EU"]


@pytest.fixture()
def fresh_queue(conn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Empty sample-jobs queues and an output file for the sample app."""
    for name in ("sample-jobs", "sample-jobs-poison"):
        _queue(conn, name).clear_messages()
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("SAMPLE_OUT", str(out))
    return out


async def _run_until(poller: QueuePoller, done: Any, timeout: float = 30) -> None:
    task = asyncio.create_task(poller.run())
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "runner did not finish in time"
            assert not task.done(), f"poller stopped: {task.exception() if task.done() else ''}"
            await asyncio.sleep(0.05)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 15)


FAST = HostConfig(
    QueueOptions(
        batch_size=8, new_batch_threshold=4, max_dequeue_count=3, visibility_timeout_s=0, max_polling_interval_s=0.5
    ),
    function_timeout_s=30,
)


async def test_each_message_is_processed_once(conn: str, fresh_queue: Path) -> None:
    q = _queue(conn, "sample-jobs")
    keys = [f"k{i}" for i in range(12)]
    for k in keys:
        _send(q, {"key": k})
    poller = QueuePoller(_trigger("queueTrigger"), conn, FAST, lease_s=10)
    await _run_until(poller, lambda: len(_rows(fresh_queue)) >= len(keys))
    await asyncio.sleep(0.3)
    assert sorted(r["key"] for r in _rows(fresh_queue)) == sorted(keys)
    assert q.get_queue_properties().approximate_message_count == 0


async def test_failing_message_lands_in_poison_with_original_body(conn: str, fresh_queue: Path) -> None:
    q = _queue(conn, "sample-jobs")
    body = {"key": "bad", "fail": True, "note": "ünïcode ✓"}
    _send(q, body)
    poison = _queue(conn, "sample-jobs-poison")
    poller = QueuePoller(_trigger("queueTrigger"), conn, FAST, lease_s=10)
    await _run_until(poller, lambda: poison.get_queue_properties().approximate_message_count >= 1)
    tries = _rows(fresh_queue)
    assert [r["dequeue"] for r in tries] == [1, 2, 3]
    [moved] = poison.receive_messages(max_messages=1)
    assert json.loads(base64.b64decode(moved.content)) == body
    assert q.get_queue_properties().approximate_message_count == 0


async def test_malformed_message_goes_to_poison_and_runner_goes_on(
    conn: str, fresh_queue: Path, caplog: pytest.LogCaptureFixture
) -> None:
    q = _queue(conn, "sample-jobs")
    q.send_message("this is not base64 ***")
    _send(q, {"key": "good"})
    poison = _queue(conn, "sample-jobs-poison")
    poller = QueuePoller(_trigger("queueTrigger"), conn, FAST, lease_s=10)
    with caplog.at_level(logging.ERROR, logger="ferry.runner.queue"):
        await _run_until(
            poller,
            lambda: poison.get_queue_properties().approximate_message_count >= 1 and len(_rows(fresh_queue)) >= 1,
        )
    assert [r["key"] for r in _rows(fresh_queue)] == ["good"]
    assert any("malformed message" in r.getMessage() and "not base64" in r.getMessage() for r in caplog.records)
    [moved] = poison.receive_messages(max_messages=1)
    assert moved.content == "this is not base64 ***"


async def test_timer_fires_on_schedule_and_on_startup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = tmp_path / "ticks.jsonl"
    monkeypatch.setenv("SAMPLE_TICKS", str(ticks))
    runner = TimerRunner(_trigger("timerTrigger"))
    task = asyncio.create_task(runner.run())
    start = time.monotonic()
    # the ticks come from another process through a file: nothing to await but the file
    while len(_rows(ticks)) < 3 and time.monotonic() - start < 10:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    runner.stop()
    await asyncio.wait_for(task, 5)
    rows = _rows(ticks)
    assert len(rows) >= 3
    # First run is the startup run; later ones land on whole seconds of the schedule.
    assert all(abs(r["at"] - round(r["at"])) < 0.5 for r in rows[1:])


def _start_runner(env: dict[str, str], workers: int, lease: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tools.devhost", "--app", APP, "--workers", str(workers), "--lease-seconds", str(lease)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _start_logged_runner(env: dict[str, str], *, workers: int, lease: float, log: Path) -> subprocess.Popen:
    """The runner with its output in `log` (read while it runs, e.g. for worker pids)."""
    command = [sys.executable, "-m", "tools.devhost", "--app", APP, "--workers", str(workers)]
    with open(log, "wb") as out:
        return subprocess.Popen(
            [*command, "--lease-seconds", str(lease)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture()
def runner_env(local_env: dict[str, str], fresh_queue: Path, tmp_path: Path) -> dict[str, str]:
    host = tmp_path / "host.json"
    host.write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "queues": {
                        "batchSize": 4,
                        "newBatchThreshold": 2,
                        "maxDequeueCount": 3,
                        "visibilityTimeout": "00:00:00",
                        "maxPollingInterval": "00:00:00.500",
                    }
                },
            }
        )
    )
    return {
        **os.environ,
        **local_env,
        "FERRY_HOST_JSON": str(host),
        "SAMPLE_OUT": str(fresh_queue),
        "SAMPLE_TICKS": str(tmp_path / "ticks.jsonl"),
    }


def test_two_worker_processes_never_run_one_message_twice(
    conn: str, runner_env: dict[str, str], fresh_queue: Path
) -> None:
    q = _queue(conn, "sample-jobs")
    keys = [f"m{i}" for i in range(16)]
    for k in keys:
        _send(q, {"key": k, "sleep": 0.2})
    # One message runs far longer than the lease: renewal must keep the other worker off it.
    _send(q, {"key": "long", "sleep": 5})
    proc = _start_runner(runner_env, workers=2, lease=2)
    try:
        deadline = time.monotonic() + 60
        while len(_rows(fresh_queue)) < len(keys) + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.5)  # a duplicate, if any, would surface after the lease
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    rows = _rows(fresh_queue)
    assert sorted(r["key"] for r in rows) == sorted(keys + ["long"]), out
    assert len({r["pid"] for r in rows}) == 2, "both worker processes took messages"
    assert all(r["dequeue"] == 1 for r in rows)


def test_ctrl_c_lets_in_flight_messages_finish(conn: str, runner_env: dict[str, str], fresh_queue: Path) -> None:
    q = _queue(conn, "sample-jobs")
    key = f"slow-{uuid.uuid4().hex[:6]}"
    proc = _start_runner(runner_env, workers=1, lease=30)
    try:
        time.sleep(2)
        _send(q, {"key": key, "sleep": 3})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            peek = q.peek_messages(max_messages=1)
            if not peek and q.get_queue_properties().approximate_message_count == 1:
                break  # taken by the worker (invisible while it runs)
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    rows = _rows(fresh_queue)
    assert [r["key"] for r in rows] == [key], out
    assert q.get_queue_properties().approximate_message_count == 0


def _wait(what: str, check: Any, log: Path, timeout: float = 120) -> Any:
    """Poll `check()` until it returns something truthy; fail naming `what` with the runner log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen; runner log:\n{log.read_text(errors='replace')}")


def test_a_killed_worker_is_logged_restarted_and_its_message_redelivered(
    conn: str, runner_env: dict[str, str], fresh_queue: Path, tmp_path: Path
) -> None:
    """SIGKILL the worker process holding a message: the supervisor logs the death (worker,
    signal, the message it held), releases the message at once (visibilityTimeout, here 0)
    instead of leaving it to the 300 s lease, and starts a new worker in its place."""
    q = _queue(conn, "sample-jobs")
    started = tmp_path / "started.jsonl"
    env = {**runner_env, "SAMPLE_STARTED": str(started)}
    log = tmp_path / "runner.log"
    proc = _start_logged_runner(env, workers=2, lease=300, log=log)
    try:
        sent = q.send_message(base64.b64encode(json.dumps({"key": "held", "sleep": 4}).encode()).decode())
        first = _wait("a worker taking the message", lambda: [r for r in _rows(started) if r["key"] == "held"], log)[0]
        victim = int(first["pid"])
        os.kill(victim, signal.SIGKILL)
        rows = _wait("the message finishing after redelivery", lambda: list(_rows(fresh_queue)), log)
        restarted = _wait(
            "the restart log line",
            lambda: [line for line in log.read_text(errors="replace").splitlines() if "restarted as pid" in line],
            log,
        )
        new_pid = int(restarted[0].rsplit(" ", 1)[1])
        os.kill(new_pid, 0)  # the replacement is alive (raises if not)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text
    assert [(r["key"], r["dequeue"]) for r in rows] == [("held", 2)], text
    assert rows[0]["pid"] != victim
    death = next(line for line in text.splitlines() if "died after" in line)
    assert f"pid {victim}" in death and "killed by SIGKILL" in death, death
    assert f"sample-jobs/{sent.id} (try 1)" in death, death
    assert f"released message {sent.id} of sample-jobs" in text, text
    assert new_pid != victim
    assert q.get_queue_properties().approximate_message_count == 0


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's parent may never reap it in a container)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_workers_stop_when_the_runner_is_killed(conn: str, runner_env: dict[str, str], tmp_path: Path) -> None:
    """SIGKILL the runner itself (a test's timeout, an OOM kill): its worker processes must not
    live on polling the queues of a stack that is gone (they used to be left behind)."""
    log = tmp_path / "runner.log"
    proc = _start_logged_runner(runner_env, workers=2, lease=30, log=log)
    try:
        started = _wait(
            "both workers starting",
            lambda: (
                [
                    int(line.rsplit(" ", 1)[1])
                    for line in log.read_text(errors="replace").splitlines()
                    if "started as pid" in line
                ][:2]
                if log.read_text(errors="replace").count("started as pid") >= 2
                else None
            ),
            log,
        )
        assert all(_running(pid) for pid in started)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    _wait("the orphaned workers stopping", lambda: not any(_running(pid) for pid in started), log)
    assert "is gone: this worker" in log.read_text(errors="replace")
