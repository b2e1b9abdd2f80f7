"""The reference connector passes the conformance suite, and its fault injection works."""

from __future__ import annotations

import random

import pytest

from shared.connectors.memory import (
    MemoryReader,
    MemoryVendor,
    MemoryWriter,
    VendorLimits,
    memory_capabilities,
    seed_project,
)
from shared.contract.clock import FakeClock
from shared.contract.connector import DestRefs
from shared.contract.limits import RateLimit
from shared.contract.model import Kind, Record
from shared.contract.pacer import DeferChunk, Pacer
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError, SkippableItemError, TransientError
from tests.connectors.conformance import ConnectorConformance, _chunks


class TestMemoryConformance(ConnectorConformance):
    @pytest.fixture
    def vendor(self) -> MemoryVendor:
        v = MemoryVendor(clock=FakeClock())
        seed_project(v, project="p1", tasks=7)
        v.add_workspace("dest-ws", "Destination")
        return v

    @pytest.fixture
    async def reader(self, vendor: MemoryVendor) -> MemoryReader:
        return MemoryReader(vendor)

    @pytest.fixture
    def source_scope(self) -> str:
        return "p1"

    @pytest.fixture
    async def writer(self, vendor: MemoryVendor) -> MemoryWriter:
        return MemoryWriter(vendor)

    @pytest.fixture
    def dest_workspace(self) -> str:
        return "dest-ws"

    @pytest.fixture
    def read_back(self, vendor: MemoryVendor):
        async def get(kind: Kind, dest_id: str) -> Record | None:
            return vendor.items[kind].get(dest_id)

        return get


def _pacer(clock: FakeClock, requests: float = 10, per: float = 1.0) -> Pacer:
    return Pacer(
        RateLimit(requests=requests, per_seconds=per, burst=1, concurrency=2), clock=clock, rng=random.Random(1)
    )


async def test_revoked_credentials_raise_auth_required() -> None:
    v = MemoryVendor(clock=FakeClock())
    seed_project(v)
    v.revoke()
    with pytest.raises(AuthRequiredError):
        await MemoryReader(v, pacer=_pacer(FakeClock())).read(Kind.TASK, "p1", None, 10)


async def test_rate_limit_answers_throttled_and_pacer_recovers() -> None:
    clock = FakeClock()
    v = MemoryVendor(clock=clock, limits=VendorLimits(requests_per_window=3, window_s=1.0))
    seed_project(v)
    reader = MemoryReader(v, pacer=_pacer(clock, requests=100))
    for _ in range(7):
        await reader.read(Kind.SECTION, "p1", None, 10)
    assert v.throttled >= 1  # the vendor said 429 at least once
    assert v.calls["read"] == 7  # and every read was served in the end


async def test_transient_fault_is_retried_by_pacer() -> None:
    clock = FakeClock()
    v = MemoryVendor(clock=clock)
    seed_project(v)
    v.fail_next("read", TransientError("502"), times=2)
    page = await MemoryReader(v, pacer=_pacer(clock)).read(Kind.SECTION, "p1", None, 10)
    assert len(page.records) == 3


async def test_long_retry_after_defers() -> None:
    clock = FakeClock()
    v = MemoryVendor(clock=clock, limits=VendorLimits(requests_per_window=1, window_s=60.0))
    seed_project(v)
    reader = MemoryReader(v, pacer=_pacer(clock))
    await reader.read(Kind.SECTION, "p1", None, 10)
    with pytest.raises(DeferChunk) as info:
        await reader.read(Kind.SECTION, "p1", None, 10)
    assert 55 <= info.value.delay_s <= 60


async def test_writer_refuses_what_capabilities_exclude() -> None:
    v = MemoryVendor(clock=FakeClock())
    seed_project(v)
    w = MemoryWriter(v, capabilities=memory_capabilities(max_assignees=1, max_attachment_bytes=100))
    task = v.items[Kind.TASK]["p1-t0"]  # two assignees
    with pytest.raises(SkippableItemError):
        await w.create(Kind.TASK, task, DestRefs(project="x"), "m")
    att = v.items[Kind.ATTACHMENT]["p1-t0-a"]
    with pytest.raises(SkippableItemError):
        await w.upload_attachment(att, DestRefs(project="x", task="t"), "m2", _chunks([60, 60]))


async def test_crash_after_create_leaves_item_findable() -> None:
    v = MemoryVendor(clock=FakeClock())
    seed_project(v)
    w = MemoryWriter(v)
    proj = v.items[Kind.PROJECT]["p1"]
    mk = make_marker("m1", Kind.PROJECT, "p1")
    v.fail_next("create", RuntimeError("worker died"), after=True)
    with pytest.raises(RuntimeError):
        await w.create(Kind.PROJECT, proj, DestRefs(), mk)
    assert await w.find_by_marker(Kind.PROJECT, mk, proj, DestRefs()) is not None
