"""The assistant's test backends: the real local index (SQLite) and the real packaged
MiniLM embeddings, loaded once per session (documentation vectors from the machine's
cache, as the local backends take them); no chat model unless a test brings one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.assistant.backends import Backends, LocalEmbedder
from shared.assistant.embedding_cache import DiskCachedEmbedder
from shared.assistant.index import LocalSearchIndex
from shared.assistant.indexer import index_lines, sync_docs
from tests.assistant.seed import ORG_A, ORG_B, run_lines


class CachedEmbedder(LocalEmbedder):
    """The local embedder with a cache: the same docs are embedded for several indexes."""

    def __init__(self) -> None:
        self.cache: dict[str, list[float]] = {}

    async def embed(self, texts):  # type: ignore[no-untyped-def]
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            for text, vector in zip(missing, await super().embed(missing), strict=True):
                self.cache[text] = vector
        return [self.cache[t] for t in texts]


@pytest.fixture(scope="session")
def embedder() -> CachedEmbedder:
    return CachedEmbedder()


def make_backends(path: Path, embedder: LocalEmbedder, region: str = "eu") -> Backends:
    """Backends as the local ones are built: documentation vectors through the machine's cache
    (shared with other test sessions and the local runners), records through `embedder`."""
    return Backends(
        region=region,
        index=LocalSearchIndex(path),
        embedder=embedder,
        chat=None,
        doc_embedder=DiskCachedEmbedder(embedder),
    )


@pytest.fixture(scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: CachedEmbedder) -> AsyncIterator[Backends]:
    """One EU index with the docs and two orgs' similar runs (read-only for tests)."""
    backends = make_backends(tmp_path_factory.mktemp("assistant") / "index.sqlite3", embedder)
    await sync_docs(backends, force=True)
    for org, tag in ((ORG_A, "a"), (ORG_B, "b")):
        for run_id, lines in run_lines(tag).items():
            await index_lines(backends, org, run_id, lines)
    yield backends
