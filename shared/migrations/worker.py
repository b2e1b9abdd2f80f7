"""The queue worker's core: one chunk message in, the engine run against the org's stores.

The trigger adapter (functions/migration_worker.py) only hands the message body here.
Messages carry ids and cursors; everything else (connectors, secrets, settings) is loaded
from the org's region, so a message for a deleted org or migration is simply dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pydantic import ValidationError

from shared.connections.service import ConnectorsRepository, open_connector
from shared.connectors.registry import ConnectorRuntime
from shared.contract.connector import DestinationWriter, SourceReader
from shared.contract.model import Kind
from shared.contract.runs import FINAL_STATUSES, RunStatus
from shared.engine.chunk import ChunkResult, ChunkRunner, Outcome, ScopeVerifier
from shared.engine.plan import first_messages
from shared.engine.ports import (
    Checkpoint,
    ChunkMessage,
    Claim,
    ClaimResult,
    IdMap,
    ItemReport,
    ItemStatus,
)
from shared.logs.model import LogEvent, LogLevel
from shared.logs.runs import mark_log_complete
from shared.logs.writer import RunLogWriter
from shared.migrations.credential_pacers import CredentialPacers
from shared.migrations.ports_cosmos import (
    CosmosIdMap,
    CosmosRunState,
    RunsRepository,
    StorageChunkQueue,
    heartbeat_s,
)
from shared.migrations.remap import MappedReader
from shared.migrations.service import MigrationsRepository, run_settings, start_run
from shared.retention.active import org_is_active
from shared.shutdown import on_shutdown
from shared.store.stores import Stores
from shared.tenancy.context import TenantContext
from shared.verify.scope import verify_scope

log = logging.getLogger("ferry.worker")

#: migration specs a worker process keeps (``ChunkWorker._migration``)
MIGRATIONS_KEPT = 256

_STATUS_EVENTS = {
    RunStatus.SUCCEEDED: (LogEvent.RUN_FINISHED, LogLevel.INFO),
    RunStatus.PARTIALLY_SUCCEEDED: (LogEvent.RUN_FINISHED, LogLevel.WARNING),
    RunStatus.FAILED: (LogEvent.RUN_FAILED, LogLevel.ERROR),
    RunStatus.CANCELLED: (LogEvent.RUN_CANCELLED, LogLevel.INFO),
    RunStatus.PAUSED: (LogEvent.RUN_PAUSED, LogLevel.WARNING),
}


#: Rollback rows get their own events (the log model's table covers migration statuses).
_ROLLBACK_EVENTS = {ItemStatus.DELETED: "item.deleted", ItemStatus.KEPT: "item.kept"}


def _verifier(reader: SourceReader, dest_reader: SourceReader, id_map: IdMap, migration_id: str) -> ScopeVerifier:
    """A verify run's comparison of one scope (``shared.verify``), reads only."""

    async def verify(scope: str) -> tuple[Counter[str], list[ItemReport]]:
        verdict = await verify_scope(reader, dest_reader, id_map, migration_id=migration_id, scope=scope)
        return verdict.counts, verdict.rows

    return verify


def _verify_after(
    ctx: TenantContext, migration: Mapping[str, Any], run: Mapping[str, Any], run_log: RunLogWriter
) -> Callable[[RunStatus], Awaitable[None]] | None:
    """With ``verifyAfterRun``, a run that wrote (full, delta, retry_failed) and ended is
    followed by a verify run. Called once per run, by the delivery that set its final status;
    a worker that dies right there leaves the verify to be started by hand."""
    if not migration.get("verifyAfterRun") or run.get("mode") not in ("full", "delta", "retry_failed"):
        return None

    async def start(status: RunStatus) -> None:
        if status not in (RunStatus.SUCCEEDED, RunStatus.PARTIALLY_SUCCEEDED):
            return
        try:
            verify = await start_run(ctx, str(migration["id"]), "verify", actor="ferry:verifyAfterRun", request=None)
        except Exception as exc:  # the run is done: say why no verify follows
            run_log.failure(kind=None, source_id=None, error=exc, event="verify.not_started")
            return
        run_log.event(LogEvent.RUN_PLANNED, message=f"verify run {verify['id']} started (verifyAfterRun)")

    return start


async def _log_complete(ctx: TenantContext, run_id: str) -> None:
    """Mark the ended run's log complete; on failure log followers wait out the grace period
    (``shared.logs.runs.LOG_COMPLETE_GRACE``) instead: never a reason to repeat a chunk."""
    try:
        await mark_log_complete(ctx, run_id)
    except Exception:
        log.exception("could not mark the log of run %s complete", run_id)


class MalformedChunk(ValueError):
    """A message that can never be processed; the host moves it to the poison queue."""


class LoggedRunState(CosmosRunState):
    """Run state whose report rows and status changes also go to the run's log, and whose scope
    claims are renewed while this process runs their chunk (a heartbeat).

    The heartbeat is what lets the scope lease (``FERRY_CHUNK_LEASE_SECONDS``) be short: a living
    chunk keeps its scope however long it runs, and the scope of a worker that died is free again
    within one lease, so its redelivered message meets a BUSY claim for at most that long.
    """

    def __init__(self, ctx: TenantContext, migration_id: str, run_log: RunLogWriter) -> None:
        super().__init__(ctx, migration_id, on_final=self._final)
        self.run_log = run_log
        #: what follows a run's end (a verify pass, when the migration asks for one)
        self.after_final: Callable[[RunStatus], Awaitable[None]] | None = None
        #: this delivery set the run's final status (it marks the log complete once flushed)
        self.ended_run: str | None = None
        self._heartbeats: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: the run's status as the delivery read it a moment ago (answers the first look only)
        self._fresh_status: tuple[str, RunStatus] | None = None

    def read_just_now(self, run: Mapping[str, Any]) -> None:
        """The run document this delivery has just read: the chunk runner's first status look
        is answered from it instead of reading the run again (one Cosmos read per chunk)."""
        self._fresh_status = (str(run["id"]), RunStatus(run["status"]))

    async def get_status(self, run_id: str) -> RunStatus:
        fresh, self._fresh_status = self._fresh_status, None
        if fresh is not None and fresh[0] == run_id:
            return fresh[1]
        return await super().get_status(run_id)

    async def claim(self, run_id: str, scope: str, expected: Checkpoint, token: str, until: datetime) -> ClaimResult:
        result = await super().claim(run_id, scope, expected, token, until)
        if result.outcome is Claim.CLAIMED:
            lease_s = max(1.0, (until - datetime.now(UTC)).total_seconds())
            self._stop_heartbeat(run_id, scope)
            self._heartbeats[(run_id, scope)] = asyncio.create_task(self._heartbeat(run_id, scope, token, lease_s))
        return result

    async def release(self, run_id: str, scope: str, token: str) -> None:
        self._stop_heartbeat(run_id, scope)
        await super().release(run_id, scope, token)

    async def advance(self, run_id: str, scope: str, expected: Checkpoint, new: Checkpoint | None) -> bool:
        self._stop_heartbeat(run_id, scope)  # advancing clears the lease
        return await super().advance(run_id, scope, expected, new)

    async def _heartbeat(self, run_id: str, scope: str, token: str, lease_s: float) -> None:
        every = heartbeat_s(lease_s)
        while True:
            await asyncio.sleep(every)
            try:
                if not await self.renew(run_id, scope, token, datetime.now(UTC) + timedelta(seconds=lease_s)):
                    return
            except Exception as exc:  # keep beating: one failed write must not give a live chunk's scope away
                log.warning("could not renew the scope lease of run %s: %s", run_id, type(exc).__name__, exc_info=True)

    def _stop_heartbeat(self, run_id: str, scope: str) -> None:
        task = self._heartbeats.pop((run_id, scope), None)
        if task is not None:
            task.cancel()

    def stop_heartbeats(self) -> None:
        """The chunk is over, whatever its outcome: no lease of it is renewed any more."""
        for task in self._heartbeats.values():
            task.cancel()
        self._heartbeats.clear()

    async def add_items(self, run_id: str, rows: Sequence[ItemReport]) -> None:
        await super().add_items(run_id, rows)
        for row in rows:
            if row.status in _ROLLBACK_EVENTS:
                self.run_log.item(
                    _ROLLBACK_EVENTS[row.status],
                    kind=str(row.kind),
                    source_id=row.source_id,
                    dest_id=row.dest_id,
                    scope=row.scope,
                    message=row.reason,
                )
            else:
                self.run_log.report(row)

    async def set_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> None:
        if status in FINAL_STATUSES:
            # Every line of the run's items is stored before anyone can see the run ended:
            # a reader that finds it final finds its lines (the end event follows, and the
            # log is marked complete after it: shared.logs.runs.run_finished).
            await ChunkWorker.flush(self.run_log)
        await super().set_status(run_id, status, reason)
        if status is RunStatus.PAUSED:
            self.run_log.event(LogEvent.RUN_PAUSED, level=LogLevel.WARNING, message=reason)

    async def _final(self, run_id: str, status: RunStatus, reason: str | None) -> None:
        # Called once per run, by the delivery whose status change won (ETag).
        self.ended_run = run_id
        event, level = _STATUS_EVENTS[status]
        counts = await self.get_counts(run_id)
        self.run_log.event(event, level=level, code=status.value, counts=counts, message=reason)
        if self.after_final is not None:
            await self.after_final(status)


class ChunkWorker:
    """Process-wide: keeps one live connector runtime per stored connector version, so
    pacers (one per credential, drawing on its shared budget) and HTTP connections survive
    across chunks."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self._runtimes: dict[tuple[str, str, str], ConnectorRuntime] = {}
        #: migration specs by (tenant, migration id), newest use last (``_migration``)
        self._migrations: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = asyncio.Lock()
        #: one pacer per credential, on the credential's budget shared by every process
        self._pacers = CredentialPacers()

    async def handle(self, body: bytes | str) -> ChunkResult | None:
        try:
            msg = ChunkMessage.model_validate_json(body)
        except ValidationError as exc:
            raise MalformedChunk(f"not a chunk message: {exc.error_count()} validation error(s)") from exc
        await self.stores.start()
        ctx = TenantContext.for_org(self.stores, msg.tenant_id)
        if not await org_is_active(ctx):
            log.info("dropping a chunk of an organisation that no longer exists")
            return None
        run = await ctx.repo(RunsRepository).find(msg.run_id)
        migration = await self._migration(ctx, msg.migration_id) if run is not None else None
        if migration is None or run is None:
            log.info("dropping a chunk of a deleted migration or run")
            return None
        run_log = RunLogWriter(ctx, msg.run_id)
        state = LoggedRunState(ctx, migration["id"], run_log)
        state.read_just_now(run)
        state.after_final = _verify_after(ctx, migration, run, run_log)
        try:
            settings = run_settings(ctx, migration, run)
            destination = await self._runtime(ctx, migration["destinationConnectorId"])
            if settings.mode == "rollback":
                # a rollback only deletes at the destination: the source may be gone by now
                reader: Any = _NoSource(destination.writer)
            else:
                source = await self._runtime(ctx, migration["sourceConnectorId"])
                reader = MappedReader(source.reader, migration) if source.reader is not None else None
            if reader is None or destination.writer is None:
                await state.set_status(msg.run_id, RunStatus.FAILED, "the connectors cannot read or write")
                return None
            id_map = CosmosIdMap(ctx, migration["id"])
            verifier = None
            if settings.mode == "verify" and destination.reader is not None:
                verifier = _verifier(reader, destination.reader, id_map, migration["id"])
            runner = ChunkRunner(
                reader=reader,
                writer=destination.writer,
                id_map=id_map,
                run_state=state,
                queue=StorageChunkQueue(ctx),
                settings=settings,
                verifier=verifier,
            )
            first = first_messages(settings, [msg.scope])[0]
            if msg.checkpoint == first.checkpoint and msg.attempt == 0:
                run_log.event(LogEvent.RUN_STARTED, scope=msg.scope, phase=msg.phase.value)
            result = await runner.run(msg)
            self._log_result(run_log, msg, result)
            return result
        except Exception as exc:
            run_log.failure(kind=None, source_id=None, error=exc, scope=msg.scope, event="chunk.error")
            raise
        finally:
            state.stop_heartbeats()
            if await self.flush(run_log) and state.ended_run is not None:
                await _log_complete(ctx, state.ended_run)

    async def _migration(self, ctx: TenantContext, migration_id: str) -> dict[str, Any] | None:
        """The migration's stored spec, read once per process: a chunk's fields of it (its
        connectors, mapping, options) never change after it is created — there is no update,
        and ``lastRunId``, which a run start sets, is not read here — so every delivery of
        every chunk re-read the same document (one of a chunk's ~16 Cosmos calls, issue 19).
        A deleted migration is seen through its run: deleting it deletes its runs first, and
        refuses while one is active."""
        key = (ctx.tenant_id, migration_id)
        doc = self._migrations.get(key)
        if doc is not None:
            self._migrations.move_to_end(key)
            return doc
        doc = await ctx.repo(MigrationsRepository).find(migration_id)
        if doc is not None:
            self._migrations[key] = doc
            while len(self._migrations) > MIGRATIONS_KEPT:
                self._migrations.popitem(last=False)
        return doc

    async def _runtime(self, ctx: TenantContext, connector_id: str) -> ConnectorRuntime:
        doc = await ctx.repo(ConnectorsRepository).get(connector_id)
        # `version` counts the user's changes; a rotated refresh token (stored by the runtime
        # itself, see shared.connections.rotation) changes the ETag but not the connection
        key = (ctx.tenant_id, connector_id, str(doc.get("version")))
        async with self._lock:
            runtime = self._runtimes.get(key)
            if runtime is None:
                stale = [k for k in self._runtimes if k[:2] == key[:2]]
                for k in stale:  # credentials changed: close the old client
                    await self._runtimes.pop(k).aclose()
                runtime = await open_connector(ctx, connector_id, pacer_for=partial(self._pacers.pacer_for, ctx))
                self._runtimes[key] = runtime
            return runtime

    @staticmethod
    def _log_result(run_log: RunLogWriter, msg: ChunkMessage, result: ChunkResult) -> None:
        counts: Mapping[str, int] = dict(result.counts)
        if result.outcome is Outcome.DEFERRED:
            run_log.event(
                LogEvent.CHUNK_DEFERRED,
                level=LogLevel.WARNING,
                scope=msg.scope,
                phase=msg.phase.value,
                message=f"retry in {result.delay_s:.0f}s: {result.reason or ''}".strip(),
            )
        elif result.outcome is Outcome.DROPPED:
            run_log.event(
                LogEvent.CHUNK_STALE,
                level=LogLevel.DEBUG,
                scope=msg.scope,
                phase=msg.phase.value,
                message=result.reason,
            )
        else:
            run_log.event(LogEvent.CHUNK_FINISHED, scope=msg.scope, phase=msg.phase.value, counts=counts or None)

    @staticmethod
    async def flush(run_log: RunLogWriter) -> bool:
        """Store the buffered lines; False (logged) when the log store failed."""
        try:
            await run_log.flush()
        except Exception:  # a log outage must not fail (and so repeat) a chunk that succeeded
            log.exception("could not append run log lines")
            return False
        return True

    async def aclose(self) -> None:
        for runtime in self._runtimes.values():
            await runtime.aclose()
        self._runtimes.clear()


class _NoSource:
    """The reader of a rollback run, which reads nothing (the chunk runner never calls it)."""

    def __init__(self, writer: DestinationWriter | None) -> None:
        self.capabilities = writer.capabilities if writer is not None else None

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a rollback does not read the source ({name})")


async def handle_poison(stores: Stores, body: bytes | str) -> None:
    """A chunk that failed every delivery: its scope stops with a failure row, and the run
    ends partially succeeded once no scope is left open."""
    try:
        msg = ChunkMessage.model_validate_json(body)
    except ValidationError:
        log.error("poison queue holds a message that is not a chunk; nothing to record")
        return
    await stores.start()
    ctx = TenantContext.for_org(stores, msg.tenant_id)
    if not await org_is_active(ctx) or await ctx.repo(RunsRepository).find(msg.run_id) is None:
        return
    run_log = RunLogWriter(ctx, msg.run_id)
    state = LoggedRunState(ctx, msg.migration_id, run_log)
    reason = f"chunk failed on every delivery: {msg.phase.value} page at cursor {msg.cursor or 'start'}"
    closed = await state.advance(msg.run_id, msg.scope, msg.checkpoint, None)
    if closed:
        await state.add_counts(msg.run_id, {"scope.failed": 1})
        await state.add_items(
            msg.run_id,
            [
                ItemReport(
                    kind=msg.phase.kind or Kind.PROJECT,
                    source_id=msg.scope,
                    scope=msg.scope,
                    status=ItemStatus.FAILED,
                    reason=reason,
                )
            ],
        )
        if await state.open_scopes(msg.run_id) == 0:
            await state.set_status(msg.run_id, RunStatus.PARTIALLY_SUCCEEDED, reason)
    if await ChunkWorker.flush(run_log) and state.ended_run is not None:
        await _log_complete(ctx, state.ended_run)


_worker: ChunkWorker | None = None


def get_worker(stores: Stores) -> ChunkWorker:
    global _worker
    if _worker is None or _worker.stores is not stores:
        _worker = ChunkWorker(stores)
    return _worker


@on_shutdown
async def close_worker() -> None:
    """Close the connectors' clients the process-wide worker holds (see ``shared.shutdown``);
    runs before the Stores close (registered after them), as the worker uses them."""
    global _worker
    if _worker is not None:
        worker, _worker = _worker, None
        await worker.aclose()
