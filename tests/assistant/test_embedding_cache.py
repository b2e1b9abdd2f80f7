"""The machine's cache of documentation vectors (shared/assistant/embedding_cache.py): a
vector is computed once per model and text, two processes at once neither corrupt the file
nor compute the same texts, and a cache that cannot be read or written costs the reuse,
never the vectors. A fake model stands in for MiniLM (what is cached is not its concern)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from shared.assistant import embedding_cache
from shared.assistant.embedding_cache import DiskCachedEmbedder, EmbeddingCache, text_digest

DIMS = 8
MODEL = "fake-model:1"


def vector_of(text: str) -> list[float]:
    """A vector that names its text (exact in float32), so a mixed-up row shows."""
    seed = int(text_digest(text)[:6], 16)
    return [float((seed >> n) % 97) / 4 for n in range(DIMS)]


class CountingModel:
    dimensions = DIMS

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [vector_of(t) for t in texts]

    @property
    def computed(self) -> list[str]:
        return [t for call in self.calls for t in call]


def cached(path: Path, model: str = MODEL) -> tuple[DiskCachedEmbedder, CountingModel]:
    inner = CountingModel()
    return DiskCachedEmbedder(inner, EmbeddingCache(path, model, DIMS)), inner


async def test_a_text_is_computed_once_then_read_by_every_process_of_the_model(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    first, model = cached(path)
    texts = ["passage one", "passage two", "passage one"]
    assert await first.embed(texts) == [vector_of(t) for t in texts]
    assert model.computed == ["passage one", "passage two"]  # a repeated text once

    again, model_again = cached(path)  # another process: a new embedder on the same file
    assert await again.embed(["passage two", "passage three"]) == [vector_of("passage two"), vector_of("passage three")]
    assert model_again.computed == ["passage three"]

    other, other_model = cached(path, model="another-model:1")  # vectors are the model's own
    await other.embed(["passage one"])
    assert other_model.computed == ["passage one"]


async def test_the_local_model_identity_names_weights_and_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.assistant import minilm

    identity = minilm.model_identity()
    assert identity.startswith("all-MiniLM-L6-v2:") and identity == minilm.model_identity()
    monkeypatch.setattr(minilm, "COMPUTATION_VERSION", "numpy-changed")
    assert minilm.model_identity() != identity  # vectors of a changed computation are new vectors


async def test_a_damaged_file_is_replaced_and_the_vectors_computed(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    path.write_bytes(b"not a database " * 500)
    embedder, model = cached(path)
    assert await embedder.embed(["a passage"]) == [vector_of("a passage")]
    assert model.computed == ["a passage"]
    reread, model_again = cached(path)
    assert await reread.embed(["a passage"]) == [vector_of("a passage")]
    assert model_again.computed == []  # the replacement cache kept it


async def test_a_short_vector_on_disk_is_computed_again(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    embedder, _ = cached(path)
    await embedder.embed(["a passage"])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE vectors SET vector = substr(vector, 1, 5)")
    again, model = cached(path)
    assert await again.embed(["a passage"]) == [vector_of("a passage")]
    assert model.computed == ["a passage"]


async def test_an_unusable_location_costs_the_reuse_not_the_vectors(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache's folder cannot be made under a file")
    for _ in range(2):
        embedder, model = cached(blocker / "assistant" / "embeddings.sqlite3")
        assert await embedder.embed(["a passage"]) == [vector_of("a passage")]
        assert model.computed == ["a passage"]  # computed each time: nothing could be kept


async def test_a_write_refused_after_computing_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: EmbeddingCache, vectors: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    path = tmp_path / "embeddings.sqlite3"
    embedder, model = cached(path)
    monkeypatch.setattr(EmbeddingCache, "put", refuse)
    assert await embedder.embed(["a passage"]) == [vector_of("a passage")]
    monkeypatch.undo()
    again, model_again = cached(path)
    await again.embed(["a passage"])
    assert model.computed == model_again.computed == ["a passage"]  # not kept, so computed again


async def test_a_failed_model_leaves_the_cache_and_its_lock_as_they_were(tmp_path: Path) -> None:
    class Broken(CountingModel):
        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            raise RuntimeError("model not installed")

    path = tmp_path / "embeddings.sqlite3"
    broken = DiskCachedEmbedder(Broken(), EmbeddingCache(path, MODEL, DIMS))
    with pytest.raises(RuntimeError):
        await broken.embed(["a passage"])
    embedder, model = cached(path)
    assert await embedder.embed(["a passage"]) == [vector_of("a passage")]  # the lock was released
    assert model.computed == ["a passage"]


def test_vectors_unused_for_the_keep_period_go_with_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite3", MODEL, DIMS)
    monkeypatch.setattr(embedding_cache, "_today", lambda: 20_000)
    cache.put({"old": vector_of("old"), "read": vector_of("read")})
    monkeypatch.setattr(embedding_cache, "_today", lambda: 20_000 + embedding_cache.KEEP_DAYS)
    assert set(cache.get(["read"])) == {"read"}  # reading marks it used
    monkeypatch.setattr(embedding_cache, "_today", lambda: 20_001 + embedding_cache.KEEP_DAYS)
    cache.put({"new": vector_of("new")})
    assert set(cache.get(["old", "read", "new"])) == {"read", "new"}


def test_a_vector_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EmbeddingCache(tmp_path / "embeddings.sqlite3", MODEL, DIMS).put({"x": [1.0, 2.0]})


# Two processes ------------------------------------------------------------------------


def _write_many(path: str, worker: int, rounds: int, ready: object, go: object) -> None:
    cache = EmbeddingCache(Path(path), MODEL, DIMS)
    ready.set()  # type: ignore[attr-defined]
    go.wait(60)  # type: ignore[attr-defined]
    for n in range(rounds):
        # Overlapping sets: every round shares half its texts with the other worker's.
        texts = [f"text {n}-{k}" for k in range(40)] + [f"text {worker}-{n}-{k}" for k in range(40)]
        cache.put({text_digest(t): vector_of(t) for t in texts})


def test_two_processes_writing_at_once_leave_every_vector_whole(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    readies = [context.Event() for _ in range(2)]
    rounds = 25
    workers = [context.Process(target=_write_many, args=(str(path), w, rounds, readies[w], go)) for w in range(2)]
    for p in workers:
        p.start()
    for ready in readies:
        assert ready.wait(120), "a writer did not start"
    go.set()
    for p in workers:
        p.join(300)
        assert p.exitcode == 0, "a writer failed"
    texts = [f"text {n}-{k}" for n in range(rounds) for k in range(40)]
    texts += [f"text {w}-{n}-{k}" for w in range(2) for n in range(rounds) for k in range(40)]
    found = EmbeddingCache(path, MODEL, DIMS).get([text_digest(t) for t in texts])
    assert len(found) == len(texts) == 3 * rounds * 40
    assert all(found[text_digest(t)] == vector_of(t) for t in texts)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _hold_the_lock_while_computing(path: str, holding: object, release: object) -> None:
    cache = EmbeddingCache(Path(path), MODEL, DIMS)
    with cache.computing() as held:
        assert held
        holding.set()  # type: ignore[attr-defined]
        release.wait(300)  # type: ignore[attr-defined]
        cache.put({text_digest(t): vector_of(t) for t in ("shared one", "shared two")})


def test_a_process_waits_for_the_one_computing_and_reads_its_vectors(tmp_path: Path) -> None:
    """Process A holds the lock while it computes; this process asks for the same texts,
    waits (it says so in its log), then reads A's vectors instead of computing them."""
    path = tmp_path / "embeddings.sqlite3"
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_the_lock_while_computing, args=(str(path), holding, release))
    holder.start()
    try:
        assert holding.wait(120), "the holder did not take the lock"

        class ReleaseWhenWaiting(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "waiting for another process" in record.getMessage():
                    release.set()  # only now does A store its vectors and let go

        handler = ReleaseWhenWaiting()
        logger = logging.getLogger("ferry.assistant")
        logger.addHandler(handler)
        previous = logger.level
        logger.setLevel(logging.INFO)
        try:
            embedder, model = cached(path)
            vectors = asyncio.run(embedder.embed(["shared one", "shared two"]))
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
        assert release.is_set()  # it did wait for A
        assert vectors == [vector_of("shared one"), vector_of("shared two")]
        assert model.computed == []
    finally:
        release.set()
        holder.join(120)
    assert holder.exitcode == 0
