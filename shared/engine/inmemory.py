"""In-memory implementations of the engine ports, and an in-process run driver.

They define the ports' semantics (compare-and-set checkpoints, idempotent upserts) for
pure-logic tests and benchmarks. Production uses the Cosmos and Storage-queue adapters of
``shared/migrations/ports_cosmos.py``; these never persist anything.
"""

from __future__ import annotations

import asyncio
import builtins
import heapq
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from shared.contract.model import Kind
from shared.contract.runs import RunStatus, can_transition
from shared.engine.placement import select_around
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


class InMemoryIdMap:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, Kind, str], IdMapEntry] = {}
        self._by_scope: dict[tuple[str, str], set[tuple[str, Kind, str]]] = {}
        #: (migration, kind, parent task) → keys of the entries that name it as their parent
        self._by_parent: dict[tuple[str, Kind, str], set[tuple[str, Kind, str]]] = {}
        self.writes = 0

    async def get_many(self, migration_id: str, kind: Kind, source_ids: Sequence[str]) -> dict[str, IdMapEntry]:
        out = {}
        for sid in source_ids:
            entry = self.entries.get((migration_id, kind, sid))
            if entry is not None:
                out[sid] = entry
        return out

    async def put_many(self, entries: Sequence[IdMapEntry]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for entry in entries:
            try:
                await self.put(entry)  # through ``put``: a test that replaces it sees these too
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    async def put(self, entry: IdMapEntry) -> None:
        self.writes += 1
        key = (entry.migration_id, entry.kind, entry.source_id)
        self.entries[key] = entry
        self._by_scope.setdefault((entry.migration_id, entry.scope), set()).add(key)
        if entry.parent_id is not None:
            self._by_parent.setdefault((entry.migration_id, entry.kind, entry.parent_id), set()).add(key)

    async def mark_seen(self, migration_id: str, kind: Kind, source_ids: Sequence[str], run_id: str) -> None:
        self.writes += 1
        for sid in source_ids:
            key = (migration_id, kind, sid)
            if key in self.entries:
                self.entries[key] = self.entries[key].model_copy(update={"last_run_id": run_id})

    async def children(self, migration_id: str, kind: Kind, parent_ids: Sequence[str]) -> builtins.list[IdMapEntry]:
        out: builtins.list[IdMapEntry] = []
        for parent in dict.fromkeys(parent_ids):
            for key in sorted(self._by_parent.get((migration_id, kind, parent), ())):
                entry = self.entries.get(key)
                if entry is not None and entry.parent_id == parent:  # it may have moved since
                    out.append(entry)
        return out

    async def set_listed(self, migration_id: str, kind: Kind, versions: Mapping[str, str]) -> None:
        self.writes += 1
        for parent, version in versions.items():
            key = (migration_id, Kind.TASK, parent)
            entry = self.entries.get(key)
            if entry is not None:
                listed = {**entry.children_listed, str(kind): version}
                self.entries[key] = entry.model_copy(update={"children_listed": listed})

    async def siblings(
        self, migration_id: str, *, scope: str, section: str, low: float, high: float, exclude: Sequence[str]
    ) -> builtins.list[IdMapEntry]:
        """``IdMapSiblings``: the scope's placed tasks of ``section`` around [low, high]."""
        skip = set(exclude)
        mine = [
            e
            for key in sorted(self._by_scope.get((migration_id, scope), ()))
            if (e := self.entries.get(key)) is not None
            and e.kind is Kind.TASK
            and e.state is IdState.DONE
            and e.dest_id
            and e.section_id == section
            and e.source_id not in skip
        ]
        return select_around(mine, low, high)

    async def list(self, migration_id: str, *, scope: str | None = None) -> AsyncIterator[IdMapEntry]:
        if scope is not None:
            keys = sorted(self._by_scope.get((migration_id, scope), ()))
            for key in keys:
                entry = self.entries.get(key)
                if entry is not None and entry.scope == scope:
                    yield entry
            return
        for (mig, _, _), entry in list(self.entries.items()):
            if mig == migration_id:
                yield entry

    async def page(
        self, migration_id: str, *, scope: str, kind: Kind, depth: int | None, after: str | None, limit: int
    ) -> builtins.list[IdMapEntry]:
        rows = [
            e
            async for e in self.list(migration_id, scope=scope)
            if e.kind is kind and (depth is None or e.depth == depth) and (after is None or e.source_id > after)
        ]
        rows.sort(key=lambda e: e.source_id)
        return rows[:limit]

    async def max_depth(self, migration_id: str, *, scope: str, kind: Kind) -> int:
        return max([e.depth async for e in self.list(migration_id, scope=scope) if e.kind is kind], default=0)


class InMemoryRunState:
    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(UTC))
        self.leases: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.status: dict[str, RunStatus] = {}
        self.reasons: dict[str, str | None] = {}
        self.counts: dict[str, Counter[str]] = {}
        self.items: dict[str, list[ItemReport]] = {}
        self.scope_checkpoints: dict[str, dict[str, Checkpoint | None]] = {}
        #: (run, scope) → (the checkpoint of the step that last advanced it, hand-off pending)
        self.previous: dict[tuple[str, str], tuple[Checkpoint, bool]] = {}

    async def start(self, run_id: str, scopes: Sequence[str]) -> None:
        self.status[run_id] = RunStatus.RUNNING
        self.counts.setdefault(run_id, Counter())
        self.items.setdefault(run_id, [])
        self.scope_checkpoints[run_id] = {s: Checkpoint(phase=Phase.PROJECT) for s in scopes}

    async def get_status(self, run_id: str) -> RunStatus:
        return self.status.get(run_id, RunStatus.QUEUED)

    async def set_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> None:
        if can_transition(self.status.get(run_id, RunStatus.QUEUED), status):
            self.status[run_id] = status
            self.reasons[run_id] = reason

    async def add_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        self.counts.setdefault(run_id, Counter()).update(counts)

    async def get_counts(self, run_id: str) -> dict[str, int]:
        return dict(self.counts.get(run_id, {}))

    async def add_items(self, run_id: str, rows: Sequence[ItemReport]) -> None:
        # an upsert by (kind, source id), as the Cosmos report is: a row written again replaces
        table = self.items.setdefault(run_id, [])
        at = {(r.kind, r.source_id): i for i, r in enumerate(table)}
        for row in rows:
            i = at.get((row.kind, row.source_id))
            if i is None:
                at[(row.kind, row.source_id)] = len(table)
                table.append(row)
            else:
                table[i] = row

    async def item_keys(self, run_id: str) -> set[tuple[Kind, str]]:
        return {(r.kind, r.source_id) for r in self.items.get(run_id, [])}

    async def set_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        self.counts.setdefault(run_id, Counter()).update(
            {k: v - self.counts[run_id].get(k, 0) for k, v in counts.items()}
        )

    async def checkpoints(self, run_id: str) -> dict[str, Checkpoint]:
        return {s: cp for s, cp in self.scope_checkpoints.get(run_id, {}).items() if cp is not None}

    async def claim(self, run_id: str, scope: str, expected: Checkpoint, token: str, until: datetime) -> ClaimResult:
        if self.scope_checkpoints.get(run_id, {}).get(scope) != expected:
            return self._stale(run_id, scope, expected)
        held = self.leases.get((run_id, scope))
        if held is not None and held[0] != token and held[1] > self.now():
            return ClaimResult(outcome=Claim.BUSY, busy_until=held[1])
        self.leases[(run_id, scope)] = (token, until)
        return ClaimResult(outcome=Claim.CLAIMED)

    async def release(self, run_id: str, scope: str, token: str) -> None:
        held = self.leases.get((run_id, scope))
        if held is not None and held[0] == token:
            del self.leases[(run_id, scope)]

    async def advance(self, run_id: str, scope: str, expected: Checkpoint, new: Checkpoint | None) -> bool:
        scopes = self.scope_checkpoints.setdefault(run_id, {})
        if scopes.get(scope) != expected:
            return False
        scopes[scope] = new
        self.leases.pop((run_id, scope), None)
        self.previous[(run_id, scope)] = (expected, new is not None)
        return True

    async def handed_off(self, run_id: str, scope: str, checkpoint: Checkpoint) -> None:
        prev = self.previous.get((run_id, scope))
        if prev and self.scope_checkpoints.get(run_id, {}).get(scope) == checkpoint:
            self.previous[(run_id, scope)] = (prev[0], False)

    def _stale(self, run_id: str, scope: str, expected: Checkpoint) -> ClaimResult:
        prev = self.previous.get((run_id, scope))
        if prev is None or prev[0] != expected:
            return ClaimResult(outcome=Claim.STALE)
        current = self.scope_checkpoints.get(run_id, {}).get(scope)
        if current is None:
            return ClaimResult(outcome=Claim.STALE, closed_by_it=True)
        return ClaimResult(outcome=Claim.STALE, resume=current if prev[1] else None)

    async def open_scopes(self, run_id: str) -> int:
        return sum(1 for cp in self.scope_checkpoints.get(run_id, {}).values() if cp is not None)


class InMemoryQueue:
    """A delay-aware queue on a virtual time axis (no real waiting)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, ChunkMessage]] = []
        self._seq = itertools.count()
        self.now = 0.0
        self.sent: list[tuple[ChunkMessage, float]] = []

    async def enqueue(self, message: ChunkMessage, *, delay_s: float = 0.0) -> None:
        message.to_json()  # the size check a real queue adapter makes
        self.sent.append((message, delay_s))
        heapq.heappush(self._heap, (self.now + delay_s, next(self._seq), message))

    def pop(self, *, due_only: bool = False) -> tuple[ChunkMessage, float] | None:
        """Next visible message and the virtual delay waited for it (``due_only``: only a
        message already visible now, without moving time forward)."""
        if not self._heap or (due_only and self._heap[0][0] > self.now):
            return None
        at, _, msg = heapq.heappop(self._heap)
        waited = max(0.0, at - self.now)
        self.now = max(self.now, at)
        return msg, waited

    def __len__(self) -> int:
        return len(self._heap)


async def drain_concurrently(
    queue: InMemoryQueue,
    handle: Callable[[ChunkMessage], Awaitable[object]],
    *,
    workers: int = 3,
    max_messages: int = 100_000,
    on_wait: Callable[[float], Awaitable[None]] | None = None,
) -> int:
    """Like ``drain`` with up to ``workers`` deliveries in flight (as several Function
    instances would); time only moves forward when nothing is in flight."""
    n = 0
    running: set[asyncio.Task[object]] = set()
    while n < max_messages:
        if len(running) < workers:
            item = queue.pop(due_only=True)
            if item is not None:
                running.add(asyncio.ensure_future(handle(item[0])))
                n += 1
                continue
        if running:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            running -= done
            for task in done:
                task.result()
            continue
        item = queue.pop()
        if item is None:
            return n
        msg, waited = item
        if waited and on_wait is not None:
            await on_wait(waited)
        running.add(asyncio.ensure_future(handle(msg)))
        n += 1
    raise RuntimeError("queue did not drain")


async def drain(
    queue: InMemoryQueue,
    handle: Callable[[ChunkMessage], Awaitable[object]],
    *,
    max_messages: int = 100_000,
    on_wait: Callable[[float], Awaitable[None]] | None = None,
) -> int:
    """Deliver queued messages one by one until the queue is empty; returns how many."""
    n = 0
    while n < max_messages:
        item = queue.pop()
        if item is None:
            return n
        msg, waited = item
        if waited and on_wait is not None:
            await on_wait(waited)  # e.g. advance a FakeClock by the visibility delay
        await handle(msg)
        n += 1
    raise RuntimeError("queue did not drain")
