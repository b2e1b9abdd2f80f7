"""What the assistant runs on, per region: an index, an embedder and (maybe) a chat model.

* Azure (`FERRY_ENVIRONMENT=azure`): the region's Azure AI Search index and Azure OpenAI
  deployments (azure_backends.py; SDKs imported on first use, never at cold start).
  Answering runs as the assistant's own managed identity (`FERRY_ASSISTANT_CLIENT_ID`:
  Search Index Data Reader and Cognitive Services OpenAI User, nothing else); indexing and
  purging run as the stamp identity, which may write the index.
* Local: `LocalSearchIndex` under the local data dir, all-MiniLM-L6-v2 embeddings in
  numpy (documentation vectors cached per machine: embedding_cache.py), and answers from
  `FERRY_ASSISTANT_CHAT_URL` (any OpenAI-compatible endpoint) when set, else extractive
  answers (answer.py).

An org's records go to its own region's index and models (the org id names its region),
so an EU org's questions and records are embedded and searched in the EU.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from shared.assistant.index import LocalSearchIndex, SearchIndex
from shared.config import LOCAL_DATA_DIRNAME, Settings

INDEX_NAME = "ferry-assistant"


class Role(StrEnum):
    """Whose identity a backend uses in Azure."""

    ANSWER = "answer"  # the assistant identity: reads only
    INDEX = "index"  # the stamp identity: writes the index


class Embedder(Protocol):
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class ChatModel(Protocol):
    name: str

    async def complete(self, messages: list[dict[str, str]]) -> str: ...

    def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]: ...


class DocsUpkeep(StrEnum):
    """Who brings the shared documentation part of the index up to date."""

    #: Azure: the indexer, after the first message of each process (the answering identity
    #: may only read the index); the service keeps the vectors, so a passage is embedded
    #: once, when it first appears.
    INDEXER = "indexer"
    #: Local: the first question a process answers. The local index is a fresh file for
    #: every demo and test runner, and a runner that is never asked should not load the
    #: model for ~130 passages; their vectors come from the machine's cache
    #: (embedding_cache.py), computed only when no process has computed them yet.
    FIRST_ASK = "first-ask"


@dataclass
class Backends:
    region: str
    index: SearchIndex
    embedder: Embedder
    chat: ChatModel | None
    #: the embedder of documentation passages, when not `embedder` (locally: `embedder`
    #: behind the machine's vector cache)
    doc_embedder: Embedder | None = None
    docs_upkeep: DocsUpkeep = DocsUpkeep.INDEXER

    @property
    def embedder_for_docs(self) -> Embedder:
        return self.doc_embedder or self.embedder


class LocalEmbedder:
    """The packaged MiniLM model, run off the event loop."""

    dimensions = 384

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from shared.assistant.minilm import shared_minilm

        model = await asyncio.to_thread(shared_minilm)
        return await asyncio.to_thread(model.embed, list(texts))


class OpenAICompatibleChat:
    """Chat completions of any OpenAI-compatible endpoint (`base_url` ends in `/v1`), or of
    an Azure OpenAI deployment (`azure_client`)."""

    def __init__(self, client: Any, model: str) -> None:
        self._client = client
        self.name = model

    @classmethod
    def for_url(cls, base_url: str, model: str, api_key: str | None) -> OpenAICompatibleChat:
        from openai import AsyncOpenAI

        return cls(AsyncOpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=1, timeout=60), model)

    async def complete(self, messages: list[dict[str, str]]) -> str:
        reply = await self._client.chat.completions.create(model=self.name, messages=messages, temperature=0)
        return str(reply.choices[0].message.content or "")

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        chunks = await self._client.chat.completions.create(
            model=self.name, messages=messages, temperature=0, stream=True
        )
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def local_index_path(settings: Settings, region: str) -> Path:
    base = settings.local_data_dir or Path(__file__).resolve().parents[2] / LOCAL_DATA_DIRNAME
    return base / "assistant" / f"index-{region}.sqlite3"


def build_backends(settings: Settings, region: str, role: Role) -> Backends:
    """The backends of `region` for `role` (see the module docstring)."""
    regional = settings.region(region)
    if not settings.is_local:
        from shared.assistant.azure_backends import azure_backends

        return azure_backends(settings, regional, role)
    chat: ChatModel | None = None
    if settings.assistant_chat_url:
        chat = OpenAICompatibleChat.for_url(
            settings.assistant_chat_url, settings.assistant_chat_model or "ferry", settings.assistant_chat_key
        )
    from shared.assistant.embedding_cache import DiskCachedEmbedder

    embedder = LocalEmbedder()
    return Backends(
        region=regional.name,
        index=LocalSearchIndex(local_index_path(settings, regional.name)),
        embedder=embedder,
        chat=chat,
        doc_embedder=DiskCachedEmbedder(embedder),
        docs_upkeep=DocsUpkeep.FIRST_ASK,
    )


_BUILT: dict[tuple[int, str, Role], Backends] = {}


def backends_for(settings: Settings, region: str, role: Role) -> Backends:
    """The process's backends of a region (clients are reused across invocations)."""
    key = (id(settings), region, role)
    if key not in _BUILT:
        _BUILT[key] = build_backends(settings, region, role)
    return _BUILT[key]
