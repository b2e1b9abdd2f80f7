"""The Functions host stand-in: serve every trigger of a function app locally.

HTTP through uvicorn as the worker's streaming extension serves it, queue triggers polled from Azurite, timers on
their schedule. `workers` > 0 runs queue triggers in that many separate processes
(scale-out on the same queues); with 0 they run in this process.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.devhost.host_config import load_host_config
from tools.devhost.http import build_http_app
from tools.devhost.loader import load_app, triggers
from tools.devhost.queues import QueuePoller
from tools.devhost.timers import TimerRunner

log = logging.getLogger("ferry.runner")
ROOT = Path(__file__).resolve().parent.parent.parent


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

        self.server = Quiet(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))

    async def serve(self) -> None:
        await self.server.serve()

    def stop(self) -> None:
        self.server.should_exit = True


async def _serve_queues(app_spec: str, lease_s: float) -> None:
    app = load_app(app_spec)
    host = load_host_config(host_json())
    pollers = [
        QueuePoller(t, conn, host, lease_s=lease_s)
        for t in triggers(app) if t.kind == "queueTrigger"
        for conn in queue_connections(t.binding, os.environ)
    ]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: [p.stop() for p in pollers])
    await asyncio.gather(*(p.run() for p in pollers))


def worker_main(app_spec: str, lease_s: float) -> None:
    """Entry of a queue worker process."""
    from tools.devhost.logsetup import configure_logging

    configure_logging()
    asyncio.run(_serve_queues(app_spec, lease_s))


async def serve(app_spec: str = "function_app:app", *, port: int = 7071, workers: int = 1,
                lease_s: float | None = None, ready: asyncio.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM; in-flight queue messages finish before exit."""
    lease = lease_s if lease_s is not None else float(os.environ.get("FERRY_RUNNER_LEASE_SECONDS", "600"))
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
    procs: list[multiprocessing.Process] = []
    if workers > 0 and any(t.kind == "queueTrigger" for t in found):
        ctx = multiprocessing.get_context("spawn")
        for _ in range(workers):
            p = ctx.Process(target=worker_main, args=(app_spec, lease), daemon=False)
            p.start()
            procs.append(p)
    log.info("serving %d function(s): %s", len(found), ", ".join(f"{t.name} ({t.kind})" for t in found))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in stoppers:
            s()
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    if ready is not None:
        ready.set()
    try:
        await asyncio.gather(*tasks)
    finally:
        for p in procs:
            await asyncio.to_thread(p.join, 60)
