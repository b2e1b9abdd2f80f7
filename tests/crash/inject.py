"""Crash and duplicate injection, installed only inside a crash-test worker process.

The parent writes one plan file per migration (``<plan dir>/<migration id>.json``)::

    {"targets": {"P1": 3, "P2": 11, "P4": 5}, "dup_before": [2], "dup_after": [6],
     "counts": {}, "fired": []}

Each worker process counts hits per (migration, point) in that file under an exclusive
``flock`` (the counters survive the crashes they cause), and on the N-th hit of a target it
appends a line to ``crashes.log`` and ends itself with ``os._exit(17)``: no ``finally``, no
message deletion, no lease release, like a host VM that disappears.

Points (issue 6):

- ``P1``  after the source reader returned a page;
- ``P2``  after a destination create or upload returned, before the id map records it;
- ``P3``  before the next chunk is enqueued (``StorageChunkQueue.enqueue``);
- ``P3F`` after the last checkpoint of a scope closed, before the run's final status;
- ``P4``  after the chunk succeeded, before the host deletes the queue message.

``dup_before`` / ``dup_after`` list the n-th chunk deliveries of the migration whose message
is sent again to the queue (through Ferry's own queue port): ``dup_before`` while the first
delivery holds the scope (right after its source read; that delivery then waits, at most
20 s, until another worker has taken the copy, so the two really meet), ``dup_after`` once
the first delivery finished (a late duplicate).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_CODE = 17
PLAN_DIR_ENV = "FERRY_CRASH_PLAN_DIR"
POINTS = ("P1", "P2", "P3", "P3F", "P4")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("crash_migration", default=None)
_by_message: dict[str, str] = {}  # queue message id → migration id (for P4)
_dup_during: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("crash_dup", default=None)
DUP_MEET_S = 20.0


def plan_dir() -> Path:
    return Path(os.environ[PLAN_DIR_ENV])


def plan_path(directory: Path, migration_id: str) -> Path:
    return directory / f"{migration_id}.json"


def write_plan(
    directory: Path,
    migration_id: str,
    targets: dict[str, int],
    dup_before: list[int] | None = None,
    dup_after: list[int] | None = None,
    fail: list[str] | None = None,
) -> None:
    """Parent side: (re)place the plan of one migration (counters start at zero). Points in
    ``fail`` raise a connection error at their target instead of ending the process (an
    outage of that call rather than a crash)."""
    plan = {
        "targets": targets,
        "dup_before": dup_before or [],
        "dup_after": dup_after or [],
        "fail": fail or [],
        "counts": {},
        "fired": [],
    }
    tmp = plan_path(directory, migration_id).with_suffix(".tmp")
    tmp.write_text(json.dumps(plan))
    tmp.replace(plan_path(directory, migration_id))


def read_plan(directory: Path, migration_id: str) -> dict[str, Any] | None:
    path = plan_path(directory, migration_id)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH)
        return json.loads(fh.read())


def _count(migration_id: str, point: str) -> tuple[int, dict[str, Any]] | None:
    """Increment the (migration, point) counter; None when the migration has no plan."""
    path = plan_path(plan_dir(), migration_id)
    if not path.exists():
        return None
    with open(path, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        plan = json.loads(fh.read())
        n = int(plan["counts"].get(point, 0)) + 1
        plan["counts"][point] = n
        if point == "deliveries" and os.getpid() not in plan.setdefault("pids", []):
            plan["pids"].append(os.getpid())  # which worker processes served the migration
        fire = plan["targets"].get(point) == n
        if fire:
            plan["fired"].append(point)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(plan))
        fh.flush()
        os.fsync(fh.fileno())
    return n, plan if fire else {}


def hit(point: str, migration_id: str | None = None) -> None:
    """Count a hit of ``point``; end the process on the planned one."""
    mig = migration_id or _current.get()
    if mig is None:
        return
    counted = _count(mig, point)
    if counted is None or not counted[1]:
        return
    failing = point in counted[1].get("fail", [])
    line = json.dumps(
        {"migration": mig, "point": point, "n": counted[0], "pid": os.getpid(), "mode": "fail" if failing else "crash"}
    )
    with open(plan_dir() / "crashes.log", "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())
    if failing:
        raise ConnectionResetError(f"injected outage at {point}")
    os._exit(EXIT_CODE)


def _after(point: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = await fn(*args, **kwargs)
        hit(point)
        return out

    return wrapped


def install() -> None:
    """Patch the worker's seams in this process (call before the queue pollers start)."""
    from azure.storage.queue.aio import QueueClient

    import shared.migrations.worker as worker_mod
    from shared.engine.ports import ChunkMessage
    from shared.migrations.ports_cosmos import CosmosRunState, StorageChunkQueue
    from shared.tenancy.context import TenantContext
    from tools.devhost.queues import QueuePoller

    # P1/P2: the live connector runtime's reader and writer, wrapped on the instance.
    open_connector = worker_mod.open_connector

    async def open_wrapped(ctx: Any, connector_id: str, **kw: Any) -> Any:
        runtime = await open_connector(ctx, connector_id, **kw)
        if runtime.reader is not None:
            runtime.reader.read = _dup_after_read(_after("P1", runtime.reader.read))  # type: ignore[method-assign]
        if runtime.writer is not None:
            runtime.writer.create = _after("P2", runtime.writer.create)  # type: ignore[method-assign]
            runtime.writer.upload_attachment = _after(  # type: ignore[method-assign]
                "P2", runtime.writer.upload_attachment
            )
        return runtime

    worker_mod.open_connector = open_wrapped

    # P3: before any chunk message is sent.
    enqueue = StorageChunkQueue.enqueue

    async def enqueue_wrapped(self: Any, message: Any, *, delay_s: float = 0.0) -> None:
        hit("P3")
        await enqueue(self, message, delay_s=delay_s)

    StorageChunkQueue.enqueue = enqueue_wrapped  # type: ignore[method-assign]

    # P3F: a scope's checkpoint closed, the run's final status not yet written.
    advance = CosmosRunState.advance

    async def advance_wrapped(self: Any, run_id: str, scope: str, expected: Any, new: Any) -> bool:
        moved = await advance(self, run_id, scope, expected, new)
        if moved and new is None:
            hit("P3F")
        return moved

    CosmosRunState.advance = advance_wrapped  # type: ignore[method-assign]

    # Which migration a delivery belongs to, and duplicate deliveries.
    handle = worker_mod.ChunkWorker.handle

    async def handle_wrapped(self: Any, body: bytes | str) -> Any:
        try:
            msg = ChunkMessage.model_validate_json(body)
        except ValueError:  # pydantic's ValidationError: the worker itself refuses it
            return await handle(self, body)
        token = _current.set(msg.migration_id)
        _dup_during.set(None)
        try:
            counted = _count(msg.migration_id, "deliveries")
            n = counted[0] if counted else 0
            plan = _plan_of(msg.migration_id)
            if plan and n in plan.get("dup_before", []):
                if msg.phase.value == "sweep":  # no source read to wait behind
                    await _resend(self, msg, enqueue, TenantContext, "before")
                else:
                    _dup_during.set(
                        {
                            "worker": self,
                            "msg": msg,
                            "n": n,
                            "send": functools.partial(_resend, self, msg, enqueue, TenantContext, "during"),
                        }
                    )
            began = time.monotonic()
            result = await handle(self, body)
            _trace(msg, n, time.monotonic() - began, result)
            if plan and n in plan.get("dup_after", []):
                await _resend(self, msg, enqueue, TenantContext, "after")
            return result
        finally:
            _current.reset(token)

    worker_mod.ChunkWorker.handle = handle_wrapped  # type: ignore[method-assign]

    # P4: remember the migration of each delivered message, then crash before its delete.
    invoke = QueuePoller._invoke

    async def invoke_wrapped(self: Any, fmsg: Any) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):  # not a chunk: no P4 for it
            _by_message[fmsg.id] = json.loads(fmsg.get_body())["migration_id"]
        await invoke(self, fmsg)

    QueuePoller._invoke = invoke_wrapped  # type: ignore[method-assign]
    delete_message = QueueClient.delete_message

    async def delete_wrapped(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        msg_id = message if isinstance(message, str) else getattr(message, "id", None)
        mig = _by_message.pop(msg_id, None) if msg_id else None
        if mig is not None:
            hit("P4", mig)
        return await delete_message(self, message, *args, **kwargs)

    QueueClient.delete_message = delete_wrapped  # type: ignore[method-assign]


def _dup_after_read(read: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(read)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        page = await read(*args, **kwargs)
        dup = _dup_during.get()
        if dup is not None and not dup.get("sent"):
            dup["sent"] = True
            # One waiting delivery at a time across the workers: two deliveries each waiting
            # for the other worker to take their copy would only wait out the timeout.
            with open(plan_dir() / "dup.lock", "w") as lock:  # noqa: ASYNC230 (a local lock file)
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    await dup["send"]()  # a plain duplicate, most likely dropped as STALE
                    return page
                await dup["send"]()
                await _await_copy(dup["msg"], dup["n"])
        return page

    return wrapped


async def _await_copy(msg: Any, n: int) -> None:
    """Until a later delivery of the same chunk finished (BUSY: it met this one), ≤ 20 s."""
    import asyncio

    deadline = time.monotonic() + DUP_MEET_S
    path = plan_dir() / "deliveries.log"
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                d = json.loads(line)
                if (
                    d["migration"] == msg.migration_id
                    and d["n"] > n
                    and d["scope"] == msg.scope
                    and d["phase"] == msg.phase.value
                    and d["cursor"] == msg.cursor
                ):
                    return
        await asyncio.sleep(0.2)


def _trace(msg: Any, n: int, seconds: float, result: Any) -> None:
    """One line per finished delivery (for the suite's figures and for debugging)."""
    outcome = getattr(getattr(result, "outcome", None), "value", None)
    with open(plan_dir() / "deliveries.log", "a", encoding="utf-8") as log:
        log.write(
            json.dumps(
                {
                    "migration": msg.migration_id,
                    "n": n,
                    "scope": msg.scope,
                    "cursor": msg.cursor,
                    "phase": msg.phase.value,
                    "s": round(seconds, 3),
                    "outcome": outcome,
                    "pid": os.getpid(),
                    "reason": getattr(result, "reason", None),
                }
            )
            + "\n"
        )


def _plan_of(migration_id: str) -> dict[str, Any] | None:
    try:
        return read_plan(plan_dir(), migration_id)
    except (OSError, ValueError):
        return None


async def _resend(worker: Any, msg: Any, enqueue: Callable[..., Any], tenant_context: Any, when: str) -> None:
    """The same message once more, through Ferry's queue port (uninstrumented)."""
    from shared.migrations.ports_cosmos import StorageChunkQueue

    await worker.stores.start()
    queue = StorageChunkQueue(tenant_context.for_org(worker.stores, msg.tenant_id))
    await enqueue(queue, msg)
    with open(plan_dir() / "duplicates.log", "a", encoding="utf-8") as log:  # noqa: ASYNC230
        log.write(
            json.dumps(
                {
                    "migration": msg.migration_id,
                    "phase": msg.phase.value,
                    "when": when,
                    "cursor": msg.cursor,
                    "pid": os.getpid(),
                }
            )
            + "\n"
        )
