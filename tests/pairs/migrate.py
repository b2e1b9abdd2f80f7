"""Run the real ChunkRunner to completion on in-memory ports, between two live runtimes.

The Cosmos/Storage-queue pipeline is covered by the integration and e2e suites; here the
subject is what the connectors write, so the ports are the in-memory ones of
``shared.engine.inmemory`` and the queue is drained in-process. Deferred chunks (rate
limits) really wait, as the preview does.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from shared.contract.connector import DestinationWriter, SourceReader
from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.chunk import ChunkRunner
from shared.engine.idmap import retry_plan, retryable
from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
from shared.engine.plan import RunMode, RunSettings, first_messages
from shared.engine.ports import IdMapEntry, IdState, ItemReport, ItemStatus
from shared.engine.scoped_ids import unscoped
from shared.verify.scope import verify_scope

PAGE_SIZE = 10


@dataclass
class RunResult:
    run_id: str
    status: RunStatus
    reason: str | None
    counts: dict[str, int]
    rows: list[ItemReport]

    def rows_with(self, status: ItemStatus) -> list[ItemReport]:
        return [r for r in self.rows if r.status is status]

    def count_suffix(self, suffix: str) -> dict[str, int]:
        """Counters ending in ``.<suffix>`` (e.g. ``created``) that are non-zero."""
        return {k: v for k, v in self.counts.items() if k.endswith(f".{suffix}") and v}


@dataclass
class Migration:
    """One migration (one id map) of one source scope into one destination container."""

    migration_id: str
    scope: str
    dest_workspace: str
    id_map: InMemoryIdMap = field(default_factory=InMemoryIdMap)
    state: InMemoryRunState = field(default_factory=InMemoryRunState)
    runs: int = 0

    async def run(
        self, reader: SourceReader, writer: DestinationWriter, *, mode: RunMode = "full", chunk_backoff_s: float = 30.0
    ) -> RunResult:
        """One run (the first creates, later ones are deltas against the same id map)."""
        self.runs += 1
        settings = RunSettings(
            tenant_id="t-pairs",
            migration_id=self.migration_id,
            run_id=f"{self.migration_id}-r{self.runs}",
            mode=mode,
            dest_workspace=self.dest_workspace,
            page_size=PAGE_SIZE,
            chunk_backoff_s=chunk_backoff_s,
            retry_plan=self._retry_plan() if mode == "retry_failed" else None,
        )
        queue = InMemoryQueue()
        runner = ChunkRunner(
            reader=reader, writer=writer, id_map=self.id_map, run_state=self.state, queue=queue, settings=settings
        )
        await self.state.start(settings.run_id, [self.scope])
        for msg in first_messages(settings, [self.scope]):
            await queue.enqueue(msg)

        async def wait(seconds: float) -> None:
            await asyncio.sleep(seconds)

        await drain(queue, runner.run, max_messages=2_000, on_wait=wait)
        rid = settings.run_id
        return RunResult(
            rid,
            self.state.status[rid],
            self.state.reasons.get(rid),
            dict(self.state.counts.get(rid, Counter())),
            list(self.state.items.get(rid, [])),
        )

    async def verify(self, reader: SourceReader, dest_reader: SourceReader) -> RunResult:
        """A verify run (``shared.verify`` through the ChunkRunner, as the worker wires it)."""
        self.runs += 1
        settings = RunSettings(
            tenant_id="t-pairs",
            migration_id=self.migration_id,
            run_id=f"{self.migration_id}-r{self.runs}",
            mode="verify",
            dest_workspace=self.dest_workspace,
            page_size=PAGE_SIZE,
        )

        async def verifier(scope: str) -> tuple[Counter[str], list[ItemReport]]:
            verdict = await verify_scope(
                reader, dest_reader, self.id_map, migration_id=self.migration_id, scope=scope, with_bytes=True
            )
            return verdict.counts, verdict.rows

        queue = InMemoryQueue()
        runner = ChunkRunner(
            reader=reader,
            writer=dest_reader,  # type: ignore[arg-type]
            id_map=self.id_map,
            run_state=self.state,
            queue=queue,
            settings=settings,
            verifier=verifier,
        )
        await self.state.start(settings.run_id, [self.scope])
        for msg in first_messages(settings, [self.scope]):
            await queue.enqueue(msg)
        await drain(queue, runner.run, max_messages=10)
        rid = settings.run_id
        return RunResult(
            rid,
            self.state.status[rid],
            self.state.reasons.get(rid),
            dict(self.state.counts.get(rid, Counter())),
            list(self.state.items.get(rid, [])),
        )

    def _retry_plan(self) -> dict[str, frozenset[Kind]]:
        plan = retry_plan(
            (e.scope, e.kind)
            for e in self.id_map.entries.values()
            if e.migration_id == self.migration_id and retryable(e)
        )
        return plan or {self.scope: frozenset()}

    def done_entries(self) -> dict[tuple[Kind, str], IdMapEntry]:
        """(kind, source id) → entry, for items written (state DONE)."""
        return {
            (e.kind, unscoped(e)): e.model_copy(update={"source_id": unscoped(e)})
            for e in self.id_map.entries.values()
            if e.migration_id == self.migration_id and e.state is IdState.DONE
        }

    def dest_project(self) -> str:
        entry = self.done_entries().get((Kind.PROJECT, self.scope))
        assert entry is not None and entry.dest_id, "the project was not migrated"
        return entry.dest_id
