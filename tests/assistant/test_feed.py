"""The feed: run log lines as stored become queue messages (indexable lines only, each
message under the limit); a failing feed never fails the log write; a message indexed
twice leaves the same documents."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shared.assistant.feed import MAX_MESSAGE_BYTES, feed_run_lines, messages_for
from shared.assistant.indexer import index_lines
from shared.config import QUEUE_ASSISTANT
from shared.logs import listeners
from shared.logs.model import LogEvent, LogLevel
from shared.logs.writer import RunLogWriter
from tests.assistant.conftest import CachedEmbedder, make_backends
from tests.assistant.seed import ORG_A, item, run_lines


def _raw(lines: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(line).encode() for line in lines]


def test_only_indexable_lines_are_sent_in_messages_under_the_limit() -> None:
    lines = [item("item.created", "task", f"t{n}", scope="b" * 400) for n in range(400)]
    lines.append(
        {"time": "2026-01-01T00:00:00Z", "level": "debug", "event": "item.unchanged", "kind": "task", "sourceId": "x"}
    )
    lines.append({"time": "2026-01-01T00:00:00Z", "level": "info", "event": "chunk.started"})
    messages = messages_for(ORG_A, "run_1", _raw(lines))
    assert len(messages) > 1
    assert all(len(json.dumps(m, separators=(",", ":")).encode()) <= MAX_MESSAGE_BYTES for m in messages)
    sent = [line for m in messages for line in m["lines"]]
    assert [line["sourceId"] for line in sent] == [f"t{n}" for n in range(400)]
    assert all(m["tenantId"] == ORG_A and m["runId"] == "run_1" for m in messages)


class _Storage:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def container(self, name: str) -> object:  # the log's blob container (its writes are replaced)
        return object()

    async def send(self, queue: str, message: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("queue unreachable")
        self.sent.append((queue, message))


async def test_the_writer_feeds_the_region_queue_and_survives_a_failing_feed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    appended: list[bytes] = []

    async def append(self: RunLogWriter, payload: bytes) -> None:
        appended.append(payload)

    monkeypatch.setattr(RunLogWriter, "_append", append)
    monkeypatch.setattr(listeners, "_flush_listeners", [feed_run_lines])
    for fail in (False, True):
        storage = _Storage(fail=fail)
        writer = RunLogWriter(SimpleNamespace(tenant_id=ORG_A, storage=storage), "run_1")
        writer.item(
            LogEvent.ITEM_SKIPPED,
            kind="attachment",
            source_id="att1",
            level=LogLevel.WARNING,
            code="attachment.too_large",
        )
        assert await writer.flush() == 1  # the log line is written whether or not the feed works
        assert writer.pending == 0
        if not fail:
            [(queue, message)] = storage.sent
            assert queue == QUEUE_ASSISTANT and message["lines"][0]["sourceId"] == "att1"
    assert len(appended) == 2


async def test_indexing_a_message_twice_leaves_the_same_documents(tmp_path: Path, embedder: CachedEmbedder) -> None:
    backends = make_backends(tmp_path / "index.sqlite3", embedder)
    lines = run_lines("a")["run_a_full01"]
    await index_lines(backends, ORG_A, "run_a_full01", lines)
    first = await backends.index.ids(ORG_A)
    await index_lines(backends, ORG_A, "run_a_full01", lines)
    assert await backends.index.ids(ORG_A) == first
    assert await backends.index.count(ORG_A) == len(first)


async def test_an_org_is_indexed_in_its_own_region_only(tmp_path: Path, embedder: CachedEmbedder) -> None:
    import pytest

    us = make_backends(tmp_path / "us.sqlite3", embedder, region="us")
    with pytest.raises(ValueError, match="not of region us"):
        await index_lines(us, ORG_A, "run_a_full01", run_lines("a")["run_a_full01"])
