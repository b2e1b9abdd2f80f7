"""Read a run's log by cursor: pages, long-poll waits and the live stream use the same code.

A cursor is `"<segment>.<offset>"`: the byte offset in that segment where unread lines
start. Every line's id is the cursor just after it, so `after=<id of the last line seen>`
(or SSE `Last-Event-ID`) resumes exactly after it: no gap, no repeat. Segments are read
in order; a later segment is only entered once it exists, and by then the earlier one is
sealed (segments.py), so nothing can appear behind a cursor.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ValidationFailed
from shared.logs.model import LogLevel
from shared.logs.segments import Segment, list_segments, logs_container

_CURSOR = re.compile(r"^(\d{1,6})\.(\d{1,15})$")
START = "0.0"
MAX_PAGE_BYTES = 1024 * 1024


@dataclass(frozen=True, order=True)
class Cursor:
    segment: int
    offset: int

    def __str__(self) -> str:
        return f"{self.segment}.{self.offset}"

    @classmethod
    def parse(cls, text: str | None, *, field_name: str = "after") -> Cursor:
        if not text:
            return cls(0, 0)
        match = _CURSOR.match(text.strip())
        if not match:
            raise ValidationFailed("the log cursor is not valid", field=field_name)
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass
class LogPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    cursor: Cursor = Cursor(0, 0)
    more: bool = False  # more lines were already available past `cursor`


class RunLogReader:
    """Reads one run's log (bound to the run's tenant and region)."""

    def __init__(self, ctx: Any, run_id: str) -> None:
        self.tenant_id: str = ctx.tenant_id
        self.run_id = run_id
        self._container = logs_container(ctx.storage)

    async def segments(self) -> list[Segment]:
        return await list_segments(self._container, self.tenant_id, self.run_id)

    async def exists(self) -> bool:
        return bool(await self.segments())

    async def page(
        self, after: Cursor, *, limit: int = 200, min_level: LogLevel | None = None, max_bytes: int = MAX_PAGE_BYTES
    ) -> LogPage:
        """Up to `limit` lines after `after` (at least `min_level` when given). Lines
        skipped by the level filter still advance the cursor."""
        segments = await self.segments()
        result = LogPage(cursor=after)
        position = after
        budget = max_bytes
        for seg in segments:
            if seg.number < position.segment:
                continue
            start = position.offset if seg.number == position.segment else 0
            if seg.number > position.segment:
                position = Cursor(seg.number, 0)
            if start >= seg.size:
                result.cursor = max(result.cursor, position)
                continue
            length = min(seg.size - start, budget)
            data = await self._read(seg.name, start, length)
            # Appends hold whole lines; a page cut by the byte budget stops at the last newline.
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if length < seg.size - start:
                    data = await self._read(seg.name, start, seg.size - start)
                    cut = data.rfind(b"\n") + 1
                if cut == 0:
                    break
            offset = start
            for raw in data[:cut].split(b"\n")[:-1]:
                offset += len(raw) + 1
                if len(result.items) >= limit:
                    result.more = True
                    return result
                position = Cursor(seg.number, offset)
                result.cursor = position
                line = _parse(raw)
                if line is None or (min_level and LogLevel(line.get("level", "info")).rank < min_level.rank):
                    continue
                result.items.append({"id": str(position), **line})
            budget -= cut
            if cut < seg.size - start or budget <= 0:
                result.more = True
                return result
        return result

    async def wait_page(
        self,
        after: Cursor,
        *,
        wait_s: float,
        limit: int = 200,
        min_level: LogLevel | None = None,
        poll_s: float = 0.5,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> LogPage:
        """Long-poll: like `page`, but waits up to `wait_s` seconds for a first line."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait_s)
        cursor = after
        while True:
            page = await self.page(cursor, limit=limit, min_level=min_level)
            if page.items or page.more or loop.time() >= deadline:
                return page
            cursor = page.cursor
            await sleep(min(poll_s, max(0.0, deadline - loop.time())))

    async def follow(
        self,
        after: Cursor,
        *,
        min_level: LogLevel | None = None,
        poll_s: float = 0.5,
        stop: Callable[[], Any] | None = None,
    ) -> AsyncIterator[dict[str, Any] | None]:
        """Lines after `after` as they arrive; yields None after each empty poll (a chance
        for heartbeats and disconnect checks). Ends when `stop()` (awaited) is true and no
        further line is available."""
        cursor = after
        while True:
            page = await self.page(cursor, limit=500, min_level=min_level)
            cursor = page.cursor
            for item in page.items:
                yield item
            if page.more:
                continue
            if stop is not None:
                done = stop()
                if asyncio.iscoroutine(done):
                    done = await done
                if done:
                    final = await self.page(cursor, limit=500, min_level=min_level)
                    for item in final.items:
                        yield item
                    if not final.more:
                        return
                    cursor = final.cursor
                    continue
            yield None
            await asyncio.sleep(poll_s)

    async def _read(self, name: str, offset: int, length: int) -> bytes:
        blob = self._container.get_blob_client(name)
        stream = await blob.download_blob(offset=offset, length=length)
        return bytes(await stream.readall())


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
