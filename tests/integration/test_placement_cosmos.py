"""The id map's ``IdMapSiblings`` feature on the Cosmos stand-in (``shared.engine.placement``):
the same answers as the in-memory id map and the fallback through ``IdMap.list``."""

from __future__ import annotations

import uuid
from typing import Any

from shared.contract.model import Kind
from shared.engine.inmemory import InMemoryIdMap
from shared.engine.placement import siblings_from_list
from shared.engine.ports import IdMap, IdMapEntry, IdMapSiblings, IdState
from shared.migrations.ports_cosmos import CosmosIdMap
from shared.tenancy.context import TenantContext


def _task(sid: str, section: str | None, position: float | None, *, state: IdState = IdState.DONE) -> IdMapEntry:
    return IdMapEntry(
        migration_id="mig1",
        kind=Kind.TASK,
        source_id=sid,
        scope="p1",
        marker=f"m-{sid}",
        state=state,
        dest_id=f"d-{sid}" if state is IdState.DONE else None,
        source_version="v1",
        section_id=section,
        position=position,
    )


ENTRIES = [
    _task("t0", "A", 0.0),
    _task("t1", "A", 1.0),
    _task("t2", "A", 2.0),
    _task("t5", "A", 5.0),
    _task("t8", "A", 8.0),
    _task("t9", "A", 9.0),
    _task("b3", "B", 3.0),  # another section
    _task("f4", "A", 4.0, state=IdState.FAILED),  # not placed
    _task("old", None, None),  # written before positions were kept
]


async def _answers(ids: IdMap) -> list[list[str]]:
    for entry in ENTRIES:
        await ids.put(entry)
    asks = [
        {"low": 3.0, "high": 6.0, "exclude": []},
        {"low": 3.0, "high": 6.0, "exclude": ["t2", "t5"]},
        {"low": 10.0, "high": 12.0, "exclude": []},
        {"low": -3.0, "high": -1.0, "exclude": []},
    ]
    out = []
    for ask in asks:
        if isinstance(ids, IdMapSiblings):
            got = await ids.siblings("mig1", scope="p1", section="A", **ask)  # type: ignore[arg-type]
        else:
            got = await siblings_from_list(ids, "mig1", scope="p1", section="A", **ask)  # type: ignore[arg-type]
        out.append(sorted(e.source_id for e in got))
    return out


WANT = [["t2", "t5", "t8"], ["t1", "t8"], ["t9"], ["t0"]]


async def test_siblings_around_a_range(stores: Any) -> None:
    ids = CosmosIdMap(TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}"), "mig1")
    assert isinstance(ids, IdMapSiblings)
    assert await _answers(ids) == WANT
    got = await ids.get_many("mig1", Kind.TASK, ["t5", "old"])
    assert (got["t5"].section_id, got["t5"].position) == ("A", 5.0)
    assert (got["old"].section_id, got["old"].position) == (None, None)


class _ListOnly:
    """An id map without ``IdMapSiblings``: the engine reads it through ``list``."""

    def __init__(self) -> None:
        self.inner = InMemoryIdMap()
        self.get_many, self.put, self.mark_seen, self.list = (
            self.inner.get_many,
            self.inner.put,
            self.inner.mark_seen,
            self.inner.list,
        )


async def test_the_in_memory_map_and_the_fallback_agree() -> None:
    assert await _answers(InMemoryIdMap()) == WANT
    fallback = _ListOnly()
    assert not isinstance(fallback, IdMapSiblings)
    assert await _answers(fallback) == WANT  # type: ignore[arg-type]


async def test_siblings_stay_within_the_tenant_and_the_migration(stores: Any) -> None:
    """Another org's map of a migration with the same id, and another migration of the same
    org, hold nearer siblings of a section with the same id: neither is an anchor (the
    stand-in ignores a query's partition key, so this checks the WHERE clause's tenant and
    partition, ``shared.store.repository``)."""
    org = f"org_eu_{uuid.uuid4().hex[:20]}"
    neighbours = [_task("x4", "A", 4.0), _task("x6", "A", 6.0), _task("x12", "A", 12.0)]
    other_org = CosmosIdMap(TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}"), "mig1")
    other_migration = CosmosIdMap(TenantContext.for_org(stores, org), "mig2")
    for entry in neighbours:
        await other_org.put(entry)
        await other_migration.put(entry.model_copy(update={"migration_id": "mig2"}))
    assert await _answers(CosmosIdMap(TenantContext.for_org(stores, org), "mig1")) == WANT
