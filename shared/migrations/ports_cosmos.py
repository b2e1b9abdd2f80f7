"""The engine's ports on Cosmos DB and Storage queues, bound to one tenant.

- id map: container `idMap`, partition `tenantId:migrationId`, one document per
  (kind, source id);
- run state: the run document in `runs` (status, counters patched with `incr`), one
  checkpoint-and-lease document per scope in `leases` (compare-and-set with ETags);
- per-item report rows: `runItems`, partition `tenantId:migrationId`, upserted so a
  redelivered chunk overwrites rather than duplicates;
- chunk queue: the region's `migration-chunks` queue, visibility delay for deferrals.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.config import QUEUE_CHUNKS
from shared.contract.model import Kind
from shared.contract.runs import FINAL_STATUSES, RunStatus, can_transition
from shared.engine.child_skip import CHILD_KINDS
from shared.engine.ports import (
    Checkpoint,
    ChunkMessage,
    Claim,
    ClaimResult,
    IdMapEntry,
    IdState,
    ItemReport,
    Phase,
)
from shared.errors import ConflictError, NotFoundError
from shared.store.repository import BATCH_MAX, TenantRepository, iso
from shared.tenancy.context import TenantContext

T = TypeVar("T")
CONCURRENCY = 16
PATCH_OPS_MAX = 10  # Cosmos accepts at most 10 operations per patch


def heartbeat_s(lease_s: float) -> float:
    """How often a running chunk renews its scope lease (``CosmosRunState.renew``): often enough
    that a missed beat shows within seconds, and at least three beats per lease, so one failed
    write never gives a living chunk's scope away."""
    return min(5.0, lease_s / 3)


def lease_stalled(lease_until: datetime, lease_s: float, now: datetime) -> bool:
    """Whether the holder of a scope lease stopped renewing it (its worker died): each renewal
    sets the end to renewal time + ``lease_s``, so a lease last renewed more than two beats (and
    a moment's slack) ago, or one that ran out while still held, belongs to a chunk nobody runs."""
    last_renewal = lease_until.timestamp() - lease_s
    return now >= lease_until or now.timestamp() - last_renewal > 2 * heartbeat_s(lease_s) + 2.0


#: A scope document that is not closed (documents always carry `closed`; older ones may not).
_OPEN = "(NOT IS_DEFINED(c.closed) OR c.closed = false)"


def _literal(value: str | None) -> str:
    """A Cosmos SQL literal for a conditional patch (filter predicates take no parameters):
    JSON's string syntax is Cosmos SQL's (escapes included), so vendor cursors are safe."""
    return "null" if value is None else json.dumps(value)


def _at_clause(expected: Checkpoint) -> str:
    """The condition ``CosmosRunState._at`` checks on a read document, as a filter predicate."""
    cursor = (
        "(NOT IS_DEFINED(c.cursor) OR IS_NULL(c.cursor))"
        if expected.cursor is None
        else f"c.cursor = {_literal(expected.cursor)}"
    )
    return f"{_OPEN} AND c.phase = {_literal(expected.phase.value)} AND {cursor}"


def _lease_ops(token: str | None, until: datetime | None) -> list[dict[str, Any]]:
    """Patch operations setting (or clearing) a scope lease. ``leaseUntilTs`` (epoch seconds)
    is what a claim's condition compares: ISO text does not order when microseconds are 0."""
    return [
        {"op": "set", "path": "/leaseToken", "value": token},
        {"op": "set", "path": "/leaseUntil", "value": iso(until) if until else None},
        {"op": "set", "path": "/leaseUntilTs", "value": until.timestamp() if until else None},
    ]


def _listed_field(kind: Kind | str) -> str:
    """The task document's field holding ``children_listed[kind]`` (``listedAttachment``)."""
    return "listed" + str(kind).capitalize()


class IdMapRepository(TenantRepository):
    container_name = "idMap"


class RunItemsRepository(TenantRepository):
    container_name = "runItems"


class RunsRepository(TenantRepository):
    container_name = "runs"


class LeasesRepository(TenantRepository):
    container_name = "leases"


def short_hash(text: str) -> str:
    """Cosmos ids may not hold `/ \\ ? #` and vendor ids may: hash them (source ids stay in the body)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


async def bounded(items: Iterable[T], fn: Callable[[T], Awaitable[Any]], limit: int = CONCURRENCY) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with sem:
            return await fn(item)

    return await asyncio.gather(*(one(i) for i in items))


def _ts(value: datetime | None) -> str | None:
    return iso(value) if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class GroupCommit:
    """Upserts of one partition sent together when they meet (group commit, issue 19 item 4).

    Each ``put`` returns only once its document is stored, exactly as a lone upsert would:
    nothing a caller trusts is written later. Puts made while a write is in flight (the items
    of a page run concurrently) wait for it and then go as one transactional batch, one
    request instead of one each. A batch that fails is sent again one document at a time,
    so each put gets its own outcome (one refused document never fails its neighbours).
    The writing runs in a task of its own: a caller that is cancelled leaves the others'
    documents in flight, not orphaned."""

    def __init__(self, repo: TenantRepository) -> None:
        self.repo = repo
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        #: requests sent and documents written (for the figures, see bench.e2e_budget)
        self.requests = 0
        self.documents = 0

    async def put(self, doc: dict[str, Any]) -> None:
        (outcome,) = await self.put_many([doc])
        if outcome is not None:
            raise outcome

    async def put_many(self, docs: Sequence[dict[str, Any]]) -> list[Exception | None]:
        """The documents stored, batched with whatever else is pending; per document, in
        order, None once stored or the error that kept it out."""
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for doc in docs:
            done: asyncio.Future[None] = loop.create_future()
            self._pending.append((doc, done))
            waits.append(done)
        if not waits:
            return []
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        together = asyncio.gather(*waits, return_exceptions=True)
        try:
            outcomes = await asyncio.shield(together)  # a cancelled caller does not cancel the shared write
        except asyncio.CancelledError:
            # nobody reads these outcomes any more: take them, so none is reported as lost
            together.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise
        out: list[Exception | None] = []
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                out.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome  # a cancelled write: nothing to hand back
            else:
                out.append(None)
        return out

    async def _write_pending(self) -> None:
        while self._pending:
            group, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
            if len(group) == 1:
                await self._one(*group[0])
                continue
            try:
                self.requests += 1
                await self.repo.upsert_many(doc for doc, _ in group)
            except Exception:  # each document is tried alone and keeps its own outcome
                await asyncio.gather(*(self._one(doc, done) for doc, done in group))
                continue
            self.documents += len(group)
            for _, done in group:
                if not done.done():
                    done.set_result(None)

    async def _one(self, doc: dict[str, Any], done: asyncio.Future[None]) -> None:
        try:
            self.requests += 1
            await self.repo.upsert(doc)
        except Exception as exc:  # handed to the put that waits for it
            if not done.done():
                done.set_exception(exc)
            return
        self.documents += 1
        if not done.done():
            done.set_result(None)


class CosmosIdMap:
    """(migration, kind, source id) → destination id + source version, in the tenant's region."""

    def __init__(self, ctx: TenantContext, migration_id: str) -> None:
        self.migration_id = migration_id
        self.repo = ctx.repo(IdMapRepository, migration_id)
        self.writes = GroupCommit(self.repo)

    @staticmethod
    def doc_id(kind: Kind | str, source_id: str) -> str:
        return f"{kind}.{short_hash(source_id)}"

    @staticmethod
    def _entry(doc: Mapping[str, Any]) -> IdMapEntry:
        return IdMapEntry(
            migration_id=doc["migrationId"],
            kind=Kind(doc["kind"]),
            source_id=doc["sourceId"],
            scope=doc["scope"],
            marker=doc["marker"],
            state=IdState(doc["state"]),
            dest_id=doc.get("destId"),
            source_version=doc.get("sourceVersion"),
            last_run_id=doc.get("lastRunId"),
            updated_at=_dt(doc.get("updatedAt")),
            adopted=bool(doc.get("adopted")),
            depth=int(doc.get("depth") or 0),
            written_run_id=doc.get("writtenRunId"),
            action=doc.get("action"),
            adaptations=tuple(doc.get("adaptations") or ()),
            reason=doc.get("reason"),
            parent_id=doc.get("parentId"),
            children_listed={str(k): doc[_listed_field(k)] for k in CHILD_KINDS if doc.get(_listed_field(k))},
            section_id=doc.get("sectionId"),
            position=doc.get("position"),
        )

    async def get_many(self, migration_id: str, kind: Kind, source_ids: Sequence[str]) -> dict[str, IdMapEntry]:
        if not source_ids:
            return {}
        docs = await self.repo.query_all(
            "c.kind = @kind AND ARRAY_CONTAINS(@ids, c.sourceId)",
            {"kind": str(kind), "ids": list(dict.fromkeys(source_ids))},
        )
        return {d["sourceId"]: self._entry(d) for d in docs if d.get("migrationId") == migration_id}

    async def put(self, entry: IdMapEntry) -> None:
        await self.writes.put(self._doc(entry))

    async def put_many(self, entries: Sequence[IdMapEntry]) -> builtins.list[Exception | None]:
        """One transactional batch per ``BATCH_MAX`` entries (``GroupCommit.put_many``)."""
        return await self.writes.put_many([self._doc(e) for e in entries])

    def _doc(self, entry: IdMapEntry) -> dict[str, Any]:
        return {
            "id": self.doc_id(entry.kind, entry.source_id),
            "migrationId": entry.migration_id,
            "kind": str(entry.kind),
            "sourceId": entry.source_id,
            "scope": entry.scope,
            "marker": entry.marker,
            "state": str(entry.state),
            "destId": entry.dest_id,
            "sourceVersion": entry.source_version,
            "lastRunId": entry.last_run_id,
            "updatedAt": _ts(entry.updated_at) or iso(datetime.now(UTC)),
            "adopted": entry.adopted,
            "depth": entry.depth,
            "writtenRunId": entry.written_run_id,
            "action": entry.action,
            "adaptations": list(entry.adaptations),
            "reason": entry.reason,
            "parentId": entry.parent_id,
            "sectionId": entry.section_id,
            "position": entry.position,
            **{_listed_field(k): v for k, v in entry.children_listed.items()},
        }

    async def siblings(
        self, migration_id: str, *, scope: str, section: str, low: float, high: float, exclude: Sequence[str]
    ) -> builtins.list[IdMapEntry]:
        """Placed tasks of one section around [low, high] (``IdMapSiblings``): three queries
        on the scope's task entries, the range and the nearest one on either side."""
        where = (
            "c.scope = @scope AND c.kind = @kind AND c.state = @done AND c.sectionId = @section"
            " AND IS_DEFINED(c.destId) AND NOT IS_NULL(c.destId) AND NOT ARRAY_CONTAINS(@exclude, c.sourceId)"
        )
        params: dict[str, Any] = {
            "scope": scope,
            "kind": str(Kind.TASK),
            "done": str(IdState.DONE),
            "section": section,
            "exclude": list(dict.fromkeys(exclude)),
        }
        inside = await self.repo.query_all(
            f"{where} AND c.position >= @low AND c.position <= @high", {**params, "low": low, "high": high}
        )
        below = await self.repo.query_page(
            f"{where} AND c.position < @low", {**params, "low": low}, order_by="c.position DESC", page_size=1
        )
        above = await self.repo.query_page(
            f"{where} AND c.position > @high", {**params, "high": high}, order_by="c.position", page_size=1
        )
        docs = [*inside, *below.items[:1], *above.items[:1]]
        return [self._entry(d) for d in docs if d.get("migrationId") == migration_id]

    async def children(self, migration_id: str, kind: Kind, parent_ids: Sequence[str]) -> builtins.list[IdMapEntry]:
        """Entries of ``kind`` whose task is one of ``parent_ids`` (``IdMapChildren``)."""
        if not parent_ids:
            return []
        docs = await self.repo.query_all(
            "c.kind = @kind AND ARRAY_CONTAINS(@parents, c.parentId)",
            {"kind": str(kind), "parents": list(dict.fromkeys(parent_ids))},
        )
        return [self._entry(d) for d in docs if d.get("migrationId") == migration_id]

    async def set_listed(self, migration_id: str, kind: Kind, versions: Mapping[str, str]) -> None:
        """One patch per task: the version its children of ``kind`` were listed at. A field
        per kind (a patch cannot set a key inside an object the document lacks)."""

        async def one(item: tuple[str, str]) -> None:
            try:
                await self.repo.patch(
                    self.doc_id(Kind.TASK, item[0]),
                    [{"op": "set", "path": f"/{_listed_field(kind)}", "value": item[1]}],
                )
            except NotFoundError:
                pass  # a task without an entry has nothing to remember

        await bounded(versions.items(), one)

    async def mark_seen(self, migration_id: str, kind: Kind, source_ids: Sequence[str], run_id: str) -> None:
        """One transactional batch of patches per ``BATCH_MAX`` entries (an unchanged delta
        marks every entry it saw: one patch request each was most of its time, issue 19); a
        batch that fails (one entry gone meanwhile fails its whole batch) is marked entry by
        entry, where a missing entry is skipped."""
        ops = [{"op": "set", "path": "/lastRunId", "value": run_id}]
        sids = list(dict.fromkeys(source_ids))

        async def one(sid: str) -> None:
            try:
                await self.repo.patch(self.doc_id(kind, sid), ops)
            except NotFoundError:
                pass  # only entries that exist are marked

        async def batch(part: builtins.list[str]) -> None:
            try:
                await self.repo.patch_many([(self.doc_id(kind, sid), ops) for sid in part])
            except Exception:  # any failure: each entry alone, with its own outcome
                await bounded(part, one)

        await bounded([sids[i : i + BATCH_MAX] for i in range(0, len(sids), BATCH_MAX)], batch)

    async def page(
        self, migration_id: str, *, scope: str, kind: Kind, depth: int | None, after: str | None, limit: int
    ) -> builtins.list[IdMapEntry]:
        """Keyset page of (scope, kind[, depth]) by source id (``IdMapPages``, for rollbacks)."""
        where = "c.scope = @scope AND c.kind = @kind"
        params: dict[str, Any] = {"scope": scope, "kind": str(kind)}
        if depth is not None:  # documents written before depth existed are top-level
            where += " AND (c.depth = @depth" + (" OR NOT IS_DEFINED(c.depth))" if depth == 0 else ")")
            params["depth"] = depth
        if after is not None:
            where += " AND c.sourceId > @after"
            params["after"] = after
        page = await self.repo.query_page(where, params, order_by="c.sourceId", page_size=limit)
        return [self._entry(d) for d in page.items]

    async def max_depth(self, migration_id: str, *, scope: str, kind: Kind) -> int:
        values = await self.repo.query_all(
            "c.scope = @scope AND c.kind = @kind AND IS_DEFINED(c.depth)",
            {"scope": scope, "kind": str(kind)},
            select="VALUE MAX(c.depth)",
        )
        return int(values[0] or 0) if values else 0

    async def list(self, migration_id: str, *, scope: str | None = None) -> AsyncIterator[IdMapEntry]:
        where, params = ("c.scope = @scope", {"scope": scope}) if scope is not None else (None, None)
        token = None
        while True:
            page = await self.repo.query_page(where, params, page_size=200, continuation=token)
            for doc in page.items:
                yield self._entry(doc)
            token = page.continuation
            if not token:
                return


class CosmosRunState:
    """Status, counters, report rows, and per-scope checkpoints with leases."""

    def __init__(
        self,
        ctx: TenantContext,
        migration_id: str,
        on_final: Callable[[str, RunStatus, str | None], Awaitable[None]] | None = None,
    ) -> None:
        self.runs = ctx.repo(RunsRepository)
        self.leases = ctx.repo(LeasesRepository)
        self.items = ctx.repo(RunItemsRepository, migration_id)
        self.migration_id = migration_id
        self.on_final = on_final

    @staticmethod
    def scope_id(run_id: str, scope: str) -> str:
        return f"{run_id}.{short_hash(scope)}"

    async def start(self, run_id: str, scopes: Sequence[str]) -> None:
        async def one(scope: str) -> None:
            try:
                await self.leases.create(
                    {
                        "id": self.scope_id(run_id, scope),
                        "runId": run_id,
                        "scope": scope,
                        "phase": Phase.PROJECT.value,
                        "cursor": None,
                        "closed": False,
                    }
                )
            except ConflictError:
                pass  # start is idempotent: a scope already started keeps its checkpoint

        await bounded(dict.fromkeys(scopes), one)
        await self.set_status(run_id, RunStatus.RUNNING)

    async def get_status(self, run_id: str) -> RunStatus:
        doc = await self.runs.find(run_id)
        return RunStatus(doc["status"]) if doc else RunStatus.QUEUED

    async def set_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> None:
        """Transition with an ETag so a final status is reached exactly once."""
        for _ in range(20):
            doc = await self.runs.get(run_id)
            old = RunStatus(doc["status"])
            if old == status or not can_transition(old, status):
                return
            now = iso(datetime.now(UTC))
            changed = {**doc, "status": status.value, "statusReason": reason, "lastActivityAt": now}
            if status is RunStatus.RUNNING and not doc.get("startedAt"):
                changed["startedAt"] = now
            if status in FINAL_STATUSES:
                changed["finishedAt"] = now
            try:
                await self.runs.replace(changed, etag=doc["_etag"])
            except ConflictError:
                continue
            if status in FINAL_STATUSES and self.on_final is not None:
                await self.on_final(run_id, status, reason)
            return
        raise ConflictError(f"run {run_id} status kept changing")

    async def add_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        ops = [{"op": "incr", "path": f"/counts/{name}", "value": int(n)} for name, n in counts.items() if n]
        for i in range(0, len(ops), PATCH_OPS_MAX - 1):
            batch = ops[i : i + PATCH_OPS_MAX - 1]
            batch.append({"op": "set", "path": "/lastActivityAt", "value": iso(datetime.now(UTC))})
            await self.runs.patch(run_id, batch)

    async def get_counts(self, run_id: str) -> dict[str, int]:
        doc = await self.runs.get(run_id)
        return {k: int(v) for k, v in (doc.get("counts") or {}).items()}

    async def add_items(self, run_id: str, rows: Sequence[ItemReport]) -> None:
        # One transactional batch per 100 rows (all of a migration's rows share a partition):
        # a chunk's report is one request, not one per item (issue 19 item 4).
        docs = {
            f"{run_id}.{row.kind}.{short_hash(row.source_id)}": {
                "id": f"{run_id}.{row.kind}.{short_hash(row.source_id)}",
                "runId": run_id,
                "kind": str(row.kind),
                "sourceId": row.source_id,
                "scope": row.scope,
                "status": str(row.status),
                "destId": row.dest_id,
                "reason": row.reason,
                "adaptations": list(row.adaptations),
            }
            for row in rows
        }  # one row per id, the last one winning, as one upsert after another would leave it
        await self.items.upsert_many(docs.values())

    async def item_keys(self, run_id: str) -> set[tuple[Kind, str]]:
        docs = await self.items.query_all("c.runId = @run", {"run": run_id}, select="c.kind, c.sourceId")
        return {(Kind(d["kind"]), d["sourceId"]) for d in docs}

    async def set_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        ops = [{"op": "set", "path": f"/counts/{name}", "value": int(n)} for name, n in counts.items()]
        for i in range(0, len(ops), PATCH_OPS_MAX):
            await self.runs.patch(run_id, ops[i : i + PATCH_OPS_MAX])

    async def _scope_doc(self, run_id: str, scope: str) -> dict[str, Any] | None:
        return await self.leases.find(self.scope_id(run_id, scope))

    @staticmethod
    def _at(doc: Mapping[str, Any], expected: Checkpoint) -> bool:
        return (
            not doc.get("closed") and doc.get("phase") == expected.phase.value and doc.get("cursor") == expected.cursor
        )

    async def checkpoints(self, run_id: str) -> dict[str, Checkpoint]:
        docs = await self.leases.query_all("c.runId = @run AND c.closed = false", {"run": run_id})
        return {d["scope"]: Checkpoint(phase=Phase(d["phase"]), cursor=d.get("cursor")) for d in docs}

    async def claim(self, run_id: str, scope: str, expected: Checkpoint, token: str, until: datetime) -> ClaimResult:
        # One conditional patch when the scope is at `expected` and free (the usual case);
        # otherwise read it to say why (stale, busy until when) or to take a lease written
        # before leases carried `leaseUntilTs`.
        free = (
            f"(NOT IS_DEFINED(c.leaseToken) OR IS_NULL(c.leaseToken) OR c.leaseToken = {_literal(token)}"
            f" OR c.leaseUntilTs <= {datetime.now(UTC).timestamp()!r})"
        )
        try:
            await self.leases.patch(
                self.scope_id(run_id, scope),
                _lease_ops(token, until),
                condition=f"FROM c WHERE {_at_clause(expected)} AND {free}",
            )
            return ClaimResult(outcome=Claim.CLAIMED)
        except NotFoundError:
            return self._stale(None, expected)
        except ConflictError:
            pass
        for _ in range(20):
            doc = await self._scope_doc(run_id, scope)
            if doc is None or not self._at(doc, expected):
                return self._stale(doc, expected)
            held_until = _dt(doc.get("leaseUntil"))
            if doc.get("leaseToken") not in (None, token) and held_until and held_until > datetime.now(UTC):
                return ClaimResult(outcome=Claim.BUSY, busy_until=held_until)
            try:
                await self.leases.replace(
                    {**doc, "leaseToken": token, "leaseUntil": iso(until), "leaseUntilTs": until.timestamp()},
                    etag=doc["_etag"],
                )
                return ClaimResult(outcome=Claim.CLAIMED)
            except ConflictError:
                continue
        return ClaimResult(outcome=Claim.BUSY, busy_until=until)

    async def release(self, run_id: str, scope: str, token: str) -> None:
        try:
            await self.leases.patch(
                self.scope_id(run_id, scope),
                _lease_ops(None, None),
                condition=f"FROM c WHERE c.leaseToken = {_literal(token)}",
            )
        except (ConflictError, NotFoundError):
            return  # released, advanced or taken over meanwhile: not ours to clear

    async def renew(self, run_id: str, scope: str, token: str, until: datetime) -> bool:
        """Extend the lease ``token`` holds to ``until`` (the heartbeat of a running chunk, see
        ``shared.migrations.worker``); False once ``token`` holds it no more (released, advanced
        or taken over), so the heartbeat stops."""
        try:
            await self.leases.patch(
                self.scope_id(run_id, scope),
                _lease_ops(token, until)[1:],
                condition=f"FROM c WHERE c.leaseToken = {_literal(token)} AND {_OPEN}",
            )
            return True
        except (ConflictError, NotFoundError):
            return False

    async def advance(self, run_id: str, scope: str, expected: Checkpoint, new: Checkpoint | None) -> bool:
        # Remember which step got here, with its hand-off pending until `handed_off`; one
        # conditional patch: it applies only while the scope is still at `expected`.
        ops = [
            *_lease_ops(None, None),
            {"op": "set", "path": "/prevPhase", "value": expected.phase.value},
            {"op": "set", "path": "/prevCursor", "value": expected.cursor},
            {"op": "set", "path": "/handoffPending", "value": new is not None},
        ]
        if new is None:
            ops.append({"op": "set", "path": "/closed", "value": True})
        else:
            ops += [
                {"op": "set", "path": "/phase", "value": new.phase.value},
                {"op": "set", "path": "/cursor", "value": new.cursor},
            ]
        try:
            await self.leases.patch(self.scope_id(run_id, scope), ops, condition=f"FROM c WHERE {_at_clause(expected)}")
            return True
        except (ConflictError, NotFoundError):
            return False

    async def handed_off(self, run_id: str, scope: str, checkpoint: Checkpoint) -> None:
        try:
            await self.leases.patch(
                self.scope_id(run_id, scope),
                [{"op": "set", "path": "/handoffPending", "value": False}],
                condition=f"FROM c WHERE c.handoffPending = true AND {_at_clause(checkpoint)}",
            )
        except (ConflictError, NotFoundError):
            return  # moved on meanwhile: that step owns the flag now

    @staticmethod
    def _stale(doc: Mapping[str, Any] | None, expected: Checkpoint) -> ClaimResult:
        """STALE, and whether this message is the step that moved the scope on (see ports)."""
        if doc is None or doc.get("prevPhase") != expected.phase.value or doc.get("prevCursor") != expected.cursor:
            return ClaimResult(outcome=Claim.STALE)
        if doc.get("closed"):
            return ClaimResult(outcome=Claim.STALE, closed_by_it=True)
        if doc.get("handoffPending"):
            resume = Checkpoint(phase=Phase(doc["phase"]), cursor=doc.get("cursor"))
            return ClaimResult(outcome=Claim.STALE, resume=resume)
        return ClaimResult(outcome=Claim.STALE)

    async def held_leases(self, run_id: str) -> list[tuple[str, datetime]]:
        """(scope, lease end) of every open scope a delivery holds (read-only, for the run view)."""
        docs = await self.leases.query_all(
            "c.runId = @run AND c.closed = false AND IS_DEFINED(c.leaseToken) AND NOT IS_NULL(c.leaseToken)",
            {"run": run_id},
            select="c.scope, c.leaseUntil",
        )
        return [(d["scope"], until) for d in docs if (until := _dt(d.get("leaseUntil"))) is not None]

    async def open_scopes(self, run_id: str) -> int:
        return await self.leases.count("c.runId = @run AND c.closed = false", {"run": run_id})


class StorageChunkQueue:
    """The region's chunk queue; a deferral is a visibility delay, never a sleep."""

    MAX_DELAY_S = 7 * 24 * 3600 - 1  # Azure Storage caps the visibility timeout at 7 days

    def __init__(self, ctx: TenantContext) -> None:
        self.storage = ctx.storage

    async def enqueue(self, message: ChunkMessage, *, delay_s: float = 0.0) -> None:
        import json

        delay = min(self.MAX_DELAY_S, int(round(delay_s))) if delay_s > 0 else None
        await self.storage.send(QUEUE_CHUNKS, json.loads(message.to_json()), visibility_timeout=delay)
