"""The Functions host stand-in: serve every trigger of a function app locally.

HTTP through uvicorn as the worker's streaming extension serves it, queue triggers polled from Azurite, timers on
their schedule. `workers` > 0 runs queue triggers in that many separate processes
(scale-out on the same queues), kept alive by a `WorkerSupervisor`; with 0 they run in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from shared.shutdown import close_all
from tools.devhost.host_config import HostConfig, load_host_config
from tools.devhost.host_thread import HostThread
from tools.devhost.http import MAX_HEAD_BYTES, build_http_app, problem_h11_protocol
from tools.devhost.loader import load_app, triggers
from tools.devhost.profiling import profiled
from tools.devhost.queues import QueuePoller
from tools.devhost.timers import TimerRunner

log = logging.getLogger("ferry.runner")
ROOT = Path(__file__).resolve().parent.parent.parent

#: How long a taken message stays invisible; a living worker renews it every half lease, so
#: it only matters when a worker dies without the supervisor hearing its newest pop receipt.
#: Short, so such a message returns within a minute (Azure's host uses a fixed 10 minutes,
#: which it too only waits out when the host itself is lost).
DEFAULT_LEASE_S = "30"


def host_json() -> Path:
    """host.json of the app root; FERRY_HOST_JSON points elsewhere (runner tests)."""
    return Path(os.environ.get("FERRY_HOST_JSON") or ROOT / "host.json")


def queue_connections(binding: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> list[str]:
    """The trigger's own connection plus every region's storage: locally one runner plays
    every region's stamp, so an EU org's chunks are served from the EU account."""
    setting = str(binding.get("connection") or "AzureWebJobsStorage")
    conns = [env[setting]] if env.get(setting) else []
    for key in sorted(env):
        if key.startswith("FERRY_STORAGE_CONNECTION_") and env[key] not in conns:
            conns.append(env[key])
    if not conns:
        raise RuntimeError(f"queue trigger needs setting {setting}")
    return conns


class _Server:
    """uvicorn without its own signal handling: the runner owns shutdown order."""

    def __init__(self, asgi: Any, port: int) -> None:
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.server = Quiet(
            uvicorn.Config(
                asgi,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="on",
                http=problem_h11_protocol(),
                h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            )
        )

    async def serve(self) -> None:
        await self.server.serve()

    def stop(self) -> None:
        self.server.should_exit = True


#: how often a worker process looks whether the runner that started it is still there
PARENT_POLL_S = 1.0


async def _stop_when_orphaned(parent: int, stop: Any) -> None:
    """Stop as on SIGTERM once the runner is gone (SIGKILLed by a test's timeout, an OOM kill,
    a closed terminal): an orphaned worker would poll the queues of a stack that no longer
    exists, or of the next stack on the same ports, for ever (workers used to be left behind).
    Polling the parent id is portable, unlike Linux's PR_SET_PDEATHSIG, and costs nothing."""
    while os.getppid() == parent:  # noqa: ASYNC110 (no event tells of a parent's death)
        await asyncio.sleep(PARENT_POLL_S)
    log.warning("the runner (pid %d) is gone: this worker (pid %d) stops", parent, os.getpid())
    stop()


async def _serve_queues(
    app_spec: str, lease_s: float, report: Connection | None = None, parent: int | None = None
) -> None:
    app = load_app(app_spec)
    host = load_host_config(host_json())
    tell = report.send if report is not None else None
    loop = asyncio.get_running_loop()
    # the host's half (polling, leases, deletes) on a thread of its own; the functions here
    host_side = HostThread(
        [
            QueuePoller(t, conn, host, lease_s=lease_s, report=tell, invoke_in=loop)
            for t in triggers(app)
            if t.kind == "queueTrigger"
            for conn in queue_connections(t.binding, os.environ)
        ]
    )
    host_side.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, host_side.stop)
    watch = asyncio.ensure_future(_stop_when_orphaned(parent if parent is not None else os.getppid(), host_side.stop))
    try:
        await host_side.wait()
    finally:
        watch.cancel()
        await close_all()  # the clients the functions kept open (Cosmos, Storage, vendors)


def worker_main(app_spec: str, lease_s: float, report: Connection | None = None, parent: int | None = None) -> None:
    """Entry of a queue worker process; `report` tells the supervisor which messages it holds;
    the worker stops when process `parent` (default: the one that started it) is gone."""
    from tools.devhost.logsetup import configure_logging

    configure_logging()
    with profiled("queue-worker"):  # FERRY_PROFILE_DIR only (tools/devhost/profiling.py)
        asyncio.run(_serve_queues(app_spec, lease_s, report, parent))


@dataclass
class _Held:
    """A message a worker process holds, as far as its reports tell."""

    queue: str
    connection: str
    receipt: str
    dequeue: int
    lease_s: float


@dataclass
class _Slot:
    """One worker position (1..N): the process serving it now and what it holds."""

    number: int
    proc: Any = None  # multiprocessing.Process
    reports: Connection | None = None
    started: float = 0.0
    quick_deaths: int = 0
    held: dict[str, _Held] = field(default_factory=dict)


def describe_exit(exitcode: int | None) -> str:
    """`killed by SIGKILL` for a signal death (multiprocessing reports -signum), else the code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class WorkerSupervisor:
    """Keeps `count` queue worker processes running, as the Functions host keeps its language
    worker: when one dies, the invocations it ran fail — each message it held is released to
    become visible again after host.json `visibilityTimeout` (its dequeue count already went up,
    so a message that kills every worker ends in `<queue>-poison`) — and a new worker starts.
    Every death is logged with the worker, its exit code or signal and the messages it held.

    A message whose newest pop receipt the supervisor never heard (the worker died between
    taking or renewing it and telling) cannot be released; it returns when the runner's lease
    (`FERRY_RUNNER_LEASE_SECONDS`) runs out, as in Azure a message of a lost host returns
    after the host's lease.
    """

    QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after starting is crash-looping
    MAX_RESTART_DELAY_S = 30.0

    def __init__(self, app_spec: str, lease_s: float, count: int, host: HostConfig) -> None:
        self.app_spec = app_spec
        self.lease_s = lease_s
        self.host = host
        self.slots = [_Slot(n) for n in range(1, count + 1)]
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._stopping = asyncio.Event()
        self._deaths: asyncio.Queue[_Slot] = asyncio.Queue()

    def pids(self) -> list[int | None]:
        return [s.proc.pid if s.proc is not None else None for s in self.slots]

    def stop(self) -> None:
        """No restarts from now on; every live worker gets SIGTERM (in-flight messages finish)."""
        self._stopping.set()
        for slot in self.slots:
            if slot.proc is not None and slot.proc.is_alive() and slot.proc.pid:
                os.kill(slot.proc.pid, signal.SIGTERM)

    def _start(self, slot: _Slot) -> None:
        loop = asyncio.get_running_loop()
        reader, writer = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=worker_main,
            # the supervisor's id, not the child's getppid(): a runner killed before the
            # child's first look would otherwise be missed
            args=(self.app_spec, self.lease_s, writer, os.getpid()),
            daemon=False,
            name=f"ferry-queue-worker-{slot.number}",
        )
        proc.start()
        writer.close()  # the child holds the only write end: its death closes the pipe
        slot.proc, slot.reports, slot.started, slot.held = proc, reader, time.monotonic(), {}
        loop.add_reader(reader.fileno(), self._read_reports, slot)
        loop.add_reader(proc.sentinel, self._died, slot)

    def _read_reports(self, slot: _Slot) -> None:
        conn = slot.reports
        if conn is None:
            return
        try:
            while conn.poll():
                self._apply(slot, conn.recv())
        except (EOFError, OSError):  # the worker exited; what it sent before is applied
            asyncio.get_running_loop().remove_reader(conn.fileno())

    @staticmethod
    def _apply(slot: _Slot, report: dict[str, Any]) -> None:
        op, msg_id = report.get("op"), str(report.get("id"))
        if op == "hold":
            slot.held[msg_id] = _Held(
                str(report["queue"]),
                str(report["connection"]),
                str(report["receipt"]),
                int(report["dequeue"]),
                float(report["lease_s"]),
            )
            # the supervisor's own account of who holds what (a test picks its victim by it)
            log.debug(
                "queue worker %d (pid %s) holds message %s of %s", slot.number, slot.proc.pid, msg_id, report["queue"]
            )
        elif op == "receipt" and msg_id in slot.held:
            slot.held[msg_id].receipt = str(report["receipt"])
        elif op == "done":
            if slot.held.pop(msg_id, None) is not None:
                log.debug("queue worker %d (pid %s) is done with message %s", slot.number, slot.proc.pid, msg_id)

    def _died(self, slot: _Slot) -> None:
        asyncio.get_running_loop().remove_reader(slot.proc.sentinel)
        # The death can be seen before the reports the worker sent just before it: read them
        # now, or a message it had just taken would not be known as held (and not released).
        self._read_reports(slot)
        self._deaths.put_nowait(slot)

    async def run(self) -> None:
        for slot in self.slots:
            self._start(slot)
            log.info("queue worker %d started as pid %s", slot.number, slot.proc.pid)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                death = asyncio.ensure_future(self._deaths.get())
                await asyncio.wait({stopping, death}, return_when=asyncio.FIRST_COMPLETED)
                if not death.done():
                    death.cancel()
                    break
                await self._handle_death(death.result())
        finally:
            stopping.cancel()
            await self._join_all()

    async def _handle_death(self, slot: _Slot) -> None:
        proc = slot.proc
        await asyncio.to_thread(proc.join, 5)
        self._read_reports(slot)  # reports still in the pipe count
        if slot.reports is not None:
            slot.reports.close()
        held, slot.held = slot.held, {}
        if self._stopping.is_set():
            return  # stopping: an exit now is expected, and the stop owns the rest
        uptime = time.monotonic() - slot.started
        log.error(
            "queue worker %d (pid %s) died after %.1f s: %s; it held %d message(s)%s",
            slot.number,
            proc.pid,
            uptime,
            describe_exit(proc.exitcode),
            len(held),
            ": " + ", ".join(f"{h.queue}/{mid} (try {h.dequeue})" for mid, h in held.items()) if held else "",
        )
        for msg_id, h in held.items():
            await self._release(msg_id, h)
        slot.quick_deaths = slot.quick_deaths + 1 if uptime < self.QUICK_DEATH_S else 0
        if slot.quick_deaths > 1:
            # Crash-looping: wait 1, 2, 4 … s between starts rather than spinning.
            delay = min(self.MAX_RESTART_DELAY_S, 2.0 ** (slot.quick_deaths - 2))
            log.warning(
                "queue worker %d died %d time(s) in a row within %.0f s of starting; restarting in %.0f s",
                slot.number,
                slot.quick_deaths,
                self.QUICK_DEATH_S,
                delay,
            )
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
        self._start(slot)
        self.restarts += 1
        log.warning("queue worker %d restarted as pid %s", slot.number, slot.proc.pid)

    async def _release(self, msg_id: str, held: _Held) -> None:
        """Fail the dead worker's invocation as the host does: visible again after visibilityTimeout."""
        from azure.core.exceptions import AzureError
        from azure.storage.queue.aio import QueueClient

        delay = int(self.host.queues.visibility_timeout_s)
        try:
            async with QueueClient.from_connection_string(held.connection, held.queue) as queue:
                await queue.update_message(msg_id, held.receipt, visibility_timeout=delay)
            log.warning(
                "released message %s of %s held by the dead worker: visible again in %d s (try %d of %d)",
                msg_id,
                held.queue,
                delay,
                held.dequeue,
                self.host.queues.max_dequeue_count,
            )
        except (AzureError, OSError) as exc:  # e.g. a renewal the worker made but never reported
            log.warning(
                "could not release message %s of %s (%s): visible again when its lease of %.0f s runs out",
                msg_id,
                held.queue,
                type(exc).__name__,
                held.lease_s,
            )

    async def _join_all(self) -> None:
        loop = asyncio.get_running_loop()
        for slot in self.slots:
            if slot.proc is None:
                continue
            loop.remove_reader(slot.proc.sentinel)
            if slot.reports is not None and not slot.reports.closed:
                loop.remove_reader(slot.reports.fileno())
                slot.reports.close()
            await asyncio.to_thread(slot.proc.join, 60)


async def serve(
    app_spec: str = "function_app:app",
    *,
    port: int = 7071,
    workers: int = 1,
    lease_s: float | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight queue messages finish before exit."""
    lease = lease_s if lease_s is not None else float(os.environ.get("FERRY_RUNNER_LEASE_SECONDS", DEFAULT_LEASE_S))
    app = load_app(app_spec)
    host = load_host_config(host_json())
    found = triggers(app)
    tasks: list[Any] = []
    stoppers: list[Any] = []
    http = [t for t in found if t.kind == "httpTrigger"]
    if http:
        server = _Server(build_http_app(http, host.route_prefix), port)
        tasks.append(server.serve())
        stoppers.append(server.stop)
    for t in found:
        if t.kind == "timerTrigger":
            timer = TimerRunner(t)
            tasks.append(timer.run())
            stoppers.append(timer.stop)
        elif t.kind == "queueTrigger" and workers == 0:
            for conn in queue_connections(t.binding, os.environ):
                poller = QueuePoller(t, conn, host, lease_s=lease)
                tasks.append(poller.run())
                stoppers.append(poller.stop)
    if workers > 0 and any(t.kind == "queueTrigger" for t in found):
        supervisor = WorkerSupervisor(app_spec, lease, workers, host)
        tasks.append(supervisor.run())
        stoppers.append(supervisor.stop)
    log.info("serving %d function(s): %s", len(found), ", ".join(f"{t.name} ({t.kind})" for t in found))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in stoppers:
            s()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    if ready is not None:
        ready.set()
    try:
        await asyncio.gather(*tasks)
    finally:
        stop()  # one part failed: the others (worker processes included) stop too
