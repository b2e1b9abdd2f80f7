"""A whole engine on memory vendors and in-memory ports, for pure-logic tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from shared.connectors.memory import (
    MemoryReader,
    MemoryVendor,
    MemoryWriter,
    memory_capabilities,
    seed_project,
)
from shared.contract.clock import FakeClock
from shared.contract.connector import Capabilities
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.contract.runs import RunStatus
from shared.engine.chunk import ChunkResult, ChunkRunner
from shared.engine.inmemory import (
    InMemoryIdMap,
    InMemoryQueue,
    InMemoryRunState,
    drain,
    drain_concurrently,
)
from shared.engine.plan import RunSettings, first_messages, resume_messages
from shared.engine.ports import ChunkMessage


@dataclass
class Harness:
    caps: Capabilities = field(default_factory=memory_capabilities)
    scopes: tuple[str, ...] = ("p1",)
    seed: dict = field(default_factory=dict)
    dest_limit: RateLimit | None = None
    workers: int = 1  # deliveries in flight at once

    def __post_init__(self) -> None:
        self.clock = FakeClock()
        self.src = MemoryVendor(name="src", clock=self.clock)
        self.dst = MemoryVendor(name="dst", clock=self.clock)
        self.dst.add_workspace("dws", "Destination")
        for scope in self.scopes:
            seed_project(self.src, project=scope, **self.seed)
        self.reader = MemoryReader(self.src)
        pacer = None
        if self.dest_limit is not None:
            pacer = Pacer(self.dest_limit, clock=self.clock, rng=random.Random(7))
        self.writer = MemoryWriter(self.dst, capabilities=self.caps, pacer=pacer)
        self.id_map = InMemoryIdMap()
        self.state = InMemoryRunState(now=self.clock.now)
        self.queue = InMemoryQueue()
        self.results: list[ChunkResult] = []
        self._runs = 0

    def settings(self, run_id: str, **kw: object) -> RunSettings:
        return RunSettings(
            tenant_id="t1", migration_id="mig-0001", run_id=run_id, dest_workspace="dws", page_size=4, **kw
        )

    def runner(self, settings: RunSettings) -> ChunkRunner:
        return ChunkRunner(
            reader=self.reader,
            writer=self.writer,
            id_map=self.id_map,
            run_state=self.state,
            queue=self.queue,
            settings=settings,
            clock=self.clock,
        )

    async def deliver(self, settings: RunSettings, msg: ChunkMessage) -> ChunkResult:
        res = await self.runner(settings).run(msg)
        self.results.append(res)
        return res

    async def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def start(self, **kw: object) -> RunSettings:
        self._runs += 1
        settings = self.settings(f"run{self._runs}", **kw)
        await self.state.start(settings.run_id, self.scopes)
        for msg in first_messages(settings, self.scopes):
            await self.queue.enqueue(msg)
        return settings

    async def drain(self, settings: RunSettings) -> int:
        if self.workers > 1:
            return await drain_concurrently(
                self.queue, lambda m: self.deliver(settings, m), workers=self.workers, on_wait=self.wait
            )
        return await drain(self.queue, lambda m: self.deliver(settings, m), on_wait=self.wait)

    async def run(self, **kw: object) -> RunSettings:
        """Start a run and deliver chunks until the queue is empty."""
        settings = await self.start(**kw)
        await self.drain(settings)
        return settings

    async def resume(self, settings: RunSettings) -> None:
        await self.state.set_status(settings.run_id, RunStatus.RUNNING)
        cps = await self.state.checkpoints(settings.run_id)
        for msg in resume_messages(settings, cps):
            await self.queue.enqueue(msg)
        await self.drain(settings)

    def counts(self, settings: RunSettings) -> dict[str, int]:
        return dict(self.state.counts[settings.run_id])

    def status(self, settings: RunSettings) -> RunStatus:
        return self.state.status[settings.run_id]

    def rows(self, settings: RunSettings):
        return self.state.items[settings.run_id]
