"""What the assistant embeds: a record's sentence without its ids, each distinct sentence
once per process (issue 19: embedding every item record's ids was ~40 % of a worker's CPU).
The ids stay in the record's content, where the keyword half of the hybrid search finds them."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from pathlib import Path

from shared.assistant.index import LocalSearchIndex
from shared.assistant.indexer import VectorCache, index_lines
from shared.assistant.records import records_from_lines
from shared.assistant.service import Assistant
from shared.identity.access import Action
from tests.assistant.conftest import CachedEmbedder, make_backends
from tests.assistant.seed import ORG_A, item


class Counting:
    """Records every text the model is asked to embed."""

    dimensions = 384

    def __init__(self, inner: CachedEmbedder) -> None:
        self.inner = inner
        self.asked: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.asked.extend(texts)
        vectors: list[list[float]] = await self.inner.embed(texts)  # type: ignore[no-untyped-call]
        return vectors


def _lines(first: int, count: int, *, failed: int = 0) -> list[dict[str, object]]:
    lines = [
        item("item.created", "task", f"card{n:04d}", dest=f"gid{n:06d}", scope=f"board{n % 3}")
        for n in range(first, first + count)
    ]
    lines += [
        item(
            "item.failed",
            "attachment",
            f"att{n:04d}",
            level="error",
            code="remote.rejected",
            error={"type": "vendor", "status": 413, "slug": "too_large"},
        )
        for n in range(failed)
    ]
    return lines


def test_the_vector_text_holds_no_id_and_the_content_keeps_them() -> None:
    records = records_from_lines(ORG_A, "run_x1", _lines(0, 50, failed=2), mode="full")
    for record in records:
        assert record.vector_text != record.content
        for forbidden in ("run_x1", "card00", "gid00", "board", "att000"):
            assert forbidden not in record.vector_text, (forbidden, record.vector_text)
    grouped = next(r for r in records if r.event == "item.created")
    assert "card0039" in grouped.content and "run_x1" in grouped.content
    assert "50 task items were created" in grouped.content
    failed = [r for r in records if r.event == "item.failed"]
    assert len(failed) == 2 and {r.sourceId for r in failed} == {"att0000", "att0001"}
    assert "too large" in failed[0].vector_text  # what went wrong is part of the meaning
    assert "meaning" not in grouped.to_doc()  # not a field of the index


async def test_a_run_embeds_each_distinct_sentence_once(tmp_path: Path, embedder: CachedEmbedder) -> None:
    model = Counting(embedder)
    backends = make_backends(tmp_path / "index.sqlite3", embedder)
    backends.embedder = model
    written = 0
    for batch in range(6):  # six flushes of a run's log, as the feed sends them
        written += await index_lines(backends, ORG_A, "run_x1", _lines(batch * 40, 40, failed=2), mode="full")
    assert written == 6 * 3  # a group per flush + the same 2 failures each time
    assert await backends.index.count(ORG_A) == 6 + 2
    assert len(model.asked) == len(set(model.asked)) == 2  # "task items were created", the failure

    # the ids are still found: the keyword ranking finds an item of the fourth flush
    _, hits, _ = await Assistant(backends, top=5).retrieve(ORG_A, set(Action), "what happened to card0130?")
    assert any("card0130" in h.record.content for h in hits)


async def test_the_cache_is_per_embedder_bounded_and_survives_a_racing_eviction() -> None:
    class Model:
        dimensions = 2

        def __init__(self, tag: float) -> None:
            self.tag, self.calls = tag, 0
            self.gate = asyncio.Event()
            self.gate.set()

        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            self.calls += 1
            await self.gate.wait()
            return [[self.tag, float(len(t))] for t in texts]

    cache = VectorCache(size=3)
    one, two = Model(1.0), Model(2.0)
    assert await cache.embed(one, ["a", "bb", "a"]) == [[1.0, 1.0], [1.0, 2.0], [1.0, 1.0]]
    assert await cache.embed(two, ["a"]) == [[2.0, 1.0]]  # another model: its own vectors
    assert await cache.embed(one, ["a", "bb"]) == [[1.0, 1.0], [1.0, 2.0]] and one.calls == 1

    # a batch that waits on the model while another evicts what it had found cached
    one.gate.clear()
    slow = asyncio.create_task(cache.embed(one, ["a", "new1"]))
    await asyncio.sleep(0)
    one.gate.set()
    await cache.embed(one, ["x", "y", "z"])  # evicts "a" and "bb" (size 3)
    assert await slow == [[1.0, 1.0], [1.0, 4.0]]
    assert len(cache._vectors[one]) == 3

    del two
    gc.collect()
    assert len(cache._vectors) == 1  # a dropped embedder takes its vectors with it


async def test_an_index_record_round_trips_without_the_meaning(tmp_path: Path) -> None:
    record = records_from_lines(ORG_A, "run_x1", _lines(0, 2))[0]
    doc = record.to_doc()
    assert set(doc) == {f for f in record.__dataclass_fields__ if f != "meaning"}
    index = LocalSearchIndex(tmp_path / "index.sqlite3")
    await index.upsert([record])
    assert await index.ids(ORG_A) == {record.id}
