"""Group commit of id-map upserts (``shared.migrations.ports_cosmos.GroupCommit``): puts that
meet share one batch, and every put still returns only once its own document is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from shared.errors import TransientError
from shared.migrations.ports_cosmos import GroupCommit


class FakeRepo:
    """Records what was stored and the requests made; faults by document id."""

    def __init__(self, *, refuse: frozenset[str] = frozenset(), batches_fail: bool = False) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[list[str]] = []
        self.refuse = refuse
        self.batches_fail = batches_fail
        self.gate = asyncio.Event()
        self.gate.set()

    async def upsert(self, doc: dict[str, Any]) -> dict[str, Any]:
        self.requests.append([doc["id"]])
        await self.gate.wait()
        if doc["id"] in self.refuse:
            raise ValueError(f"{doc['id']} refused")
        self.stored[doc["id"]] = doc
        return doc

    async def upsert_many(self, docs: Iterable[dict[str, Any]]) -> int:
        group = list(docs)
        self.requests.append([d["id"] for d in group])
        await self.gate.wait()
        if self.batches_fail or any(d["id"] in self.refuse for d in group):
            raise TransientError("batch failed whole")  # a transactional batch: nothing applied
        for d in group:
            self.stored[d["id"]] = d
        return len(group)


def commit(repo: FakeRepo) -> GroupCommit:
    return GroupCommit(repo)  # type: ignore[arg-type]  # the repository's two upserts only


async def test_puts_that_meet_go_as_one_batch_and_each_returns_once_stored() -> None:
    repo = FakeRepo()
    writes = commit(repo)
    repo.gate.clear()  # the first write is in flight while the others arrive

    async def put(n: int) -> None:
        await writes.put({"id": f"d{n}"})
        assert f"d{n}" in repo.stored  # never returns before its document is stored

    tasks = [asyncio.create_task(put(n)) for n in range(9)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    repo.gate.set()
    await asyncio.gather(*tasks)
    assert set(repo.stored) == {f"d{n}" for n in range(9)}
    assert len(repo.requests) < 9 and sorted(sum(repo.requests, [])) == sorted(repo.stored)
    assert (writes.requests, writes.documents) == (len(repo.requests), 9)


async def test_a_lone_put_is_a_plain_upsert() -> None:
    repo = FakeRepo()
    await commit(repo).put({"id": "only"})
    assert repo.requests == [["only"]] and "only" in repo.stored


async def test_a_refused_document_fails_its_own_put_only() -> None:
    repo = FakeRepo(refuse=frozenset({"bad"}))
    writes = commit(repo)
    repo.gate.clear()
    ids = ["a", "bad", "b", "c"]
    tasks = [asyncio.create_task(writes.put({"id": i})) for i in ids]
    await asyncio.sleep(0)
    repo.gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["NoneType", "ValueError", "NoneType", "NoneType"]
    assert set(repo.stored) == {"a", "b", "c"}


async def test_a_failed_batch_is_written_one_document_at_a_time() -> None:
    repo = FakeRepo(batches_fail=True)
    writes = commit(repo)
    repo.gate.clear()
    tasks = [asyncio.create_task(writes.put({"id": f"d{n}"})) for n in range(4)]
    await asyncio.sleep(0)
    repo.gate.set()
    await asyncio.gather(*tasks)
    assert set(repo.stored) == {"d0", "d1", "d2", "d3"}
    assert any(len(r) > 1 for r in repo.requests)  # the batch was tried, then each alone


async def test_a_cancelled_put_leaves_the_others_written() -> None:
    repo = FakeRepo()
    writes = commit(repo)
    repo.gate.clear()
    first = asyncio.create_task(writes.put({"id": "first"}))
    others = [asyncio.create_task(writes.put({"id": f"d{n}"})) for n in range(3)]
    await asyncio.sleep(0)
    first.cancel()  # e.g. its chunk ran out of time
    with pytest.raises(asyncio.CancelledError):
        await first
    repo.gate.set()
    await asyncio.gather(*others)
    assert {"d0", "d1", "d2"} <= set(repo.stored)
    assert "first" in repo.stored  # in flight when its caller gave up: it lands, as a lone upsert would
