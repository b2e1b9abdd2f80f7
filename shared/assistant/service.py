"""Answering a question of one organisation: retrieve (trimmed to it), then answer.

`ask` returns the whole answer; `ask_stream` yields the same as events for SSE
(`query`, then `delta` text pieces, then `citations`). Both build the query the same way
and say what they searched (`query`: the text, the filter, the mode, how many records).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.assistant.answer import cited_refs, extractive, prompt_messages
from shared.assistant.backends import Backends
from shared.assistant.index import Hit
from shared.assistant.indexer import docs_for_ask
from shared.assistant.query import TenantFilter
from shared.errors import ValidationFailed
from shared.identity.access import Action

TOP = 8
MAX_QUESTION_CHARS = 1000


@dataclass
class Answer:
    answer: str
    citations: list[dict[str, Any]]
    query: dict[str, Any]
    model: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer, "citations": self.citations, "query": self.query, "model": self.model}


def clean_question(question: str) -> str:
    text = " ".join(str(question or "").split())
    if not text:
        raise ValidationFailed("ask a question", field="question")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValidationFailed(f"a question has at most {MAX_QUESTION_CHARS} characters", field="question")
    return text


class Assistant:
    """The assistant of one region (its backends) answering for one org at a time."""

    def __init__(self, backends: Backends, *, top: int = TOP) -> None:
        self.backends = backends
        self.top = top

    async def retrieve(
        self, tenant_id: str, allowed: Iterable[Action | str], question: str
    ) -> tuple[TenantFilter, list[Hit], dict[str, Any]]:
        trim = TenantFilter.for_caller(tenant_id, allowed)
        text = clean_question(question)
        await docs_for_ask(self.backends)  # locally the first question brings the docs in
        [vector] = await self.backends.embedder.embed([text])
        hits = await self.backends.index.search(text, vector, trim, top=self.top)
        query = {
            "text": text,
            "mode": "hybrid (keyword + vector, reciprocal rank fusion)",
            "filter": trim.odata(),
            "top": self.top,
            "region": self.backends.region,
            "retrieved": len(hits),
        }
        return trim, hits, query

    async def ask(self, tenant_id: str, allowed: Iterable[Action | str], question: str) -> Answer:
        _trim, hits, query = await self.retrieve(tenant_id, allowed, question)
        chat = self.backends.chat
        if chat is None or not hits:
            draft = extractive(query["text"], hits)
            return Answer(draft.text, _citations(hits, draft.cited), query, "extractive")
        text = await chat.complete(prompt_messages(query["text"], hits))
        return Answer(text, _citations(hits, cited_refs(text, len(hits))), query, chat.name)

    async def ask_stream(
        self, tenant_id: str, allowed: Iterable[Action | str], question: str
    ) -> AsyncIterator[tuple[str, Any]]:
        """(`query`, dict), (`delta`, str)…, (`citations`, list), (`done`, {model})."""
        _trim, hits, query = await self.retrieve(tenant_id, allowed, question)
        yield "query", query
        chat = self.backends.chat
        if chat is None or not hits:
            draft = extractive(query["text"], hits)
            for line in draft.text.splitlines(keepends=True):
                yield "delta", line
            yield "citations", _citations(hits, draft.cited)
            yield "done", {"model": "extractive"}
            return
        parts: list[str] = []
        async for piece in chat.stream(prompt_messages(query["text"], hits)):
            parts.append(piece)
            yield "delta", piece
        yield "citations", _citations(hits, cited_refs("".join(parts), len(hits)))
        yield "done", {"model": chat.name}


def _citations(hits: list[Hit], refs: list[int]) -> list[dict[str, Any]]:
    """Citations of retrieved records only (a model cannot cite what it was not given)."""
    return [{"ref": n, **hits[n - 1].record.citation()} for n in refs if 1 <= n <= len(hits)]
