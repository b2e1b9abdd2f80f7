"""The local runner's host thread: queue work on a thread of its own, functions on the
worker's loop (as the Functions host hands invocations to the Python worker), and the
thread's CPU readable apart (bench.proc_cpu)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench.proc_cpu import host_thread_split
from tools.devhost.host_config import load_host_config
from tools.devhost.host_thread import HOST_THREAD_NAME, HostThread, name_os_thread
from tools.devhost.loader import Trigger
from tools.devhost.queues import QueuePoller


def _poller(function: Any, invoke_in: asyncio.AbstractEventLoop) -> QueuePoller:
    trigger = Trigger("f", "queueTrigger", {"name": "msg", "queueName": "q"}, function)
    return QueuePoller(
        trigger, "UseDevelopmentStorage=true", load_host_config(Path("missing-host.json")), invoke_in=invoke_in
    )


async def _on_other_loop(coro_factory: Any) -> Any:
    """Run ``coro_factory()`` on a loop in another thread (as the host thread does)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(coro_factory())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    await asyncio.to_thread(thread.join)
    if "error" in result:
        raise result["error"]
    return result.get("value")


async def test_a_function_runs_on_the_workers_loop_not_the_pollers() -> None:
    main = asyncio.get_running_loop()
    seen: dict[str, Any] = {}

    async def function(msg: str) -> None:
        seen["loop"] = asyncio.get_running_loop()
        seen["thread"] = threading.current_thread()

    poller = _poller(function, main)
    await _on_other_loop(lambda: poller._invoke("body"))
    assert seen == {"loop": main, "thread": threading.main_thread()}


async def test_cancelling_an_invocation_cancels_the_function_on_the_workers_loop() -> None:
    """A function timeout (host.json functionTimeout) or a stop past the grace period
    cancels the invocation in the host thread: the function itself must stop too."""
    started, cancelled = threading.Event(), threading.Event()

    async def function(msg: str) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    poller = _poller(function, asyncio.get_running_loop())
    with pytest.raises(TimeoutError):
        await _on_other_loop(lambda: asyncio.wait_for(poller._invoke("body"), timeout=0.2))
    for _ in range(1000):  # up to 10 s on a loaded machine; it is set at the next turn of the loop
        if cancelled.is_set():
            break
        await asyncio.sleep(0.01)
    assert started.is_set() and cancelled.is_set()


async def test_the_host_thread_stops_when_asked_from_another_thread() -> None:
    class Idle:
        def __init__(self) -> None:
            self._stop = asyncio.Event()

        def stop(self) -> None:
            self._stop.set()

        async def run(self) -> None:
            await self._stop.wait()

    host = HostThread([Idle(), Idle()])  # type: ignore[list-item]
    host.start()
    threading.Thread(target=host.stop).start()
    await asyncio.wait_for(host.wait(), timeout=10)
    assert HOST_THREAD_NAME not in {t.name for t in threading.enumerate()}  # ended, not just done


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names are read from /proc")
def test_the_host_threads_cpu_is_read_apart() -> None:
    before = host_thread_split(os.getpid())
    assert before == (0.0, 0.0)  # no host thread in this process yet
    done = threading.Event()
    spent: list[float] = []

    def busy() -> None:
        name_os_thread(HOST_THREAD_NAME)
        start = time.thread_time()
        while time.thread_time() - start < 0.3:
            pass
        spent.append(time.thread_time() - start)
        done.wait()

    thread = threading.Thread(target=busy)
    thread.start()
    while not spent:
        time.sleep(0.01)
    user, system = host_thread_split(os.getpid())
    done.set()
    thread.join()
    assert user + system >= 0.25  # what the thread burnt, not the process's total
    assert user + system <= spent[0] + 0.1
