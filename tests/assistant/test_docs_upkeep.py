"""Who embeds Ferry's documentation, and when. In Azure the indexer keeps the shared part
(unchanged: the answering identity may only read the index). Locally a runner that is
never asked embeds no documentation at all: the first question of a process brings the
passages in, from the machine's vector cache, and a slow or failing sync never holds or
fails the question."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.assistant import indexer
from shared.assistant.backends import Backends, DocsUpkeep, Embedder, Role, build_backends
from shared.assistant.docs import doc_records
from shared.assistant.embedding_cache import DiskCachedEmbedder
from shared.assistant.index import LocalSearchIndex
from shared.assistant.indexer import docs_for_ask, handle_index_message
from shared.assistant.records import SHARED_TENANT, records_from_lines
from shared.assistant.service import Assistant
from shared.identity.access import Action
from tests.assistant.conftest import CachedEmbedder
from tests.assistant.seed import ORG_A, run_lines

EVERYONE = set(Action)
DOC_QUESTION = "what will Planner do to my labels?"


class Counting:
    """Counts the texts an embedder is asked for; can hold them back or fail once."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dimensions = inner.dimensions
        self.texts: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail_next = False

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the model went away")
        return await self.inner.embed(texts)


def local_backends(path: Path, embedder: CachedEmbedder, upkeep: DocsUpkeep) -> tuple[Backends, Counting, Counting]:
    records, docs = Counting(embedder), Counting(DiskCachedEmbedder(embedder))
    backends = Backends(
        region="eu", index=LocalSearchIndex(path), embedder=records, chat=None, doc_embedder=docs, docs_upkeep=upkeep
    )
    return backends, records, docs


def message() -> dict[str, object]:
    return {"tenantId": ORG_A, "runId": "run_a_full01", "lines": run_lines("a")["run_a_full01"]}


async def test_a_local_runner_never_asked_embeds_no_documentation(tmp_path: Path, embedder: CachedEmbedder) -> None:
    backends, records, docs = local_backends(tmp_path / "index.sqlite3", embedder, DocsUpkeep.FIRST_ASK)
    assert await handle_index_message(backends, message()) > 0
    assert docs.texts == [] and await backends.index.count(SHARED_TENANT) == 0
    run_records = records_from_lines(ORG_A, "run_a_full01", run_lines("a")["run_a_full01"])
    assert records.texts and set(records.texts) <= {r.vector_text for r in run_records}  # the org's records only

    answer = await Assistant(backends).ask(ORG_A, EVERYONE, DOC_QUESTION)  # the first question
    assert await backends.index.count(SHARED_TENANT) == len(doc_records())
    assert any(c["type"] == "doc" for c in answer.citations)
    asked = len(docs.texts)
    await Assistant(backends).ask(ORG_A, EVERYONE, "which attachments were skipped?")
    assert len(docs.texts) == asked  # once per process and index


async def test_azure_keeps_the_docs_in_the_indexer(tmp_path: Path, embedder: CachedEmbedder) -> None:
    backends, _, docs = local_backends(tmp_path / "index.sqlite3", embedder, DocsUpkeep.INDEXER)
    await handle_index_message(backends, message())
    assert await backends.index.count(SHARED_TENANT) == len(doc_records())
    indexed = len(docs.texts)
    assert indexed == len(doc_records())
    await Assistant(backends).ask(ORG_A, EVERYONE, DOC_QUESTION)
    assert len(docs.texts) == indexed  # answering never writes the docs part there


async def test_slow_docs_do_not_hold_the_question(
    tmp_path: Path, embedder: CachedEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    backends, _, docs = local_backends(tmp_path / "index.sqlite3", embedder, DocsUpkeep.FIRST_ASK)
    await handle_index_message(backends, message())
    docs.gate = asyncio.Event()  # the docs are being computed (a machine with a cold cache)
    monkeypatch.setattr(indexer, "DOCS_WAIT_S", 0.0)
    answer = await Assistant(backends).ask(ORG_A, EVERYONE, "which attachments were skipped and why?")
    assert answer.citations and all(c["type"] != "doc" for c in answer.citations)  # the org's records
    assert await backends.index.count(SHARED_TENANT) == 0

    docs.gate.set()
    assert await docs_for_ask(backends, wait_s=600)  # the same sync, finishing in the background
    assert await backends.index.count(SHARED_TENANT) == len(doc_records())
    assert len(docs.texts) == len(doc_records())  # computed (or read from the cache) once
    answer = await Assistant(backends).ask(ORG_A, EVERYONE, DOC_QUESTION)
    assert any(c["type"] == "doc" for c in answer.citations)


async def test_a_failed_doc_sync_answers_anyway_and_the_next_question_retries(
    tmp_path: Path, embedder: CachedEmbedder
) -> None:
    backends, _, docs = local_backends(tmp_path / "index.sqlite3", embedder, DocsUpkeep.FIRST_ASK)
    await handle_index_message(backends, message())
    docs.fail_next = True
    answer = await Assistant(backends).ask(ORG_A, EVERYONE, "which attachments were skipped and why?")
    assert answer.citations and await backends.index.count(SHARED_TENANT) == 0
    answer = await Assistant(backends).ask(ORG_A, EVERYONE, DOC_QUESTION)
    assert await backends.index.count(SHARED_TENANT) == len(doc_records())
    assert len(docs.texts) == 2 * len(doc_records()) and any(c["type"] == "doc" for c in answer.citations)


def test_local_backends_cache_doc_vectors_and_sync_them_on_the_first_question(tmp_path: Path) -> None:
    settings = SimpleNamespace(
        is_local=True, region=lambda name: SimpleNamespace(name=name), assistant_chat_url=None, local_data_dir=tmp_path
    )
    backends = build_backends(settings, "eu", Role.INDEX)  # type: ignore[arg-type]
    assert backends.docs_upkeep is DocsUpkeep.FIRST_ASK
    assert isinstance(backends.doc_embedder, DiskCachedEmbedder) and backends.doc_embedder.inner is backends.embedder


async def test_azure_backends_keep_their_indexer_path() -> None:
    from shared.assistant.azure_backends import azure_backends
    from shared.config import RegionSettings

    settings = SimpleNamespace(openai_embedding_deployment="embedding", openai_chat_deployment="chat")
    region = RegionSettings(
        name="eu",
        cosmos_endpoint="https://cosmos.example",
        cosmos_database="ferry",
        search_endpoint="https://search.example",
        openai_endpoint="https://openai.example",
    )
    backends = azure_backends(settings, region, Role.INDEX)  # type: ignore[arg-type]
    try:
        assert backends.docs_upkeep is DocsUpkeep.INDEXER and backends.doc_embedder is None
        assert backends.embedder_for_docs is backends.embedder  # Azure OpenAI, no local cache
    finally:
        await backends.index.close()  # type: ignore[attr-defined]
