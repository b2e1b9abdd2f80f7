"""Reads a monday.com board (a project-level container) into canonical records.

Streams and their cursors (opaque to the engine; each page is a checkpoint):
* PROJECT — the board (one page); SECTION — its groups in board order; LABEL — the account
  tags used on the board (``Board.tags``); cursor ``{"after": records already emitted}``.
* TASK, COMMENT, ATTACHMENT — a walk over the board's items with ``items_page`` /
  ``next_items_page`` (100 items a request), each item followed by its subitems (so a parent
  comes before its subtasks); per item the task itself, its updates (oldest first) or its
  files. Cursor ``{"c": monday's cursor of the page, "n": items before that page, "i": the
  item within the page, "d": records of that item already emitted}``. monday's cursors
  expire after 60 minutes: an expired one is replaced by walking again to item ``n``.

Task positions are board-wide, whatever the page size: a top-level item's place on the
board, a subitem's among its parent's subitems.

Descriptions are item documents exported as Markdown (``export_markdown_from_doc``), 25 per
request. Users (for assignees and authors by e-mail) are read once per reader.
Cursors go through the kit's ``CursorCodec``: one that does not fit is ``InvalidCursor``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.kit.cursor import CursorCodec
from shared.connectors.monday import operations as ops
from shared.connectors.monday import people
from shared.connectors.monday.capabilities import monday_capabilities
from shared.connectors.monday.client import CursorExpired, MondayClient
from shared.connectors.monday.mapping import (
    Columns,
    asset_to_attachment,
    board_to_project,
    group_to_section,
    item_to_task,
    tag_to_label,
    update_to_comment,
)
from shared.contract.connector import Page
from shared.contract.model import Attachment, Container, Kind, Record, UserRef
from shared.errors import NotFoundError, SkippableItemError

DOCS_PER_REQUEST = 25
Flat = tuple[Mapping[str, Any], str | None]  # (item, parent item id)
PerItem = Callable[[str, list[Flat], int], Awaitable[list[Record]]]


class _After(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(ge=0)


class _Walk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    c: str | None = Field(default=None, max_length=3000)
    n: int = Field(default=0, ge=0)
    i: int = Field(default=0, ge=0)
    d: int = Field(default=0, ge=0)


_AFTER = CursorCodec("monday.com", _After)
_WALK = CursorCodec("monday.com", _Walk)


class MondayReader:
    """``SourceReader`` over the monday.com GraphQL API."""

    def __init__(self, client: MondayClient) -> None:
        self.client = client
        self.capabilities = monday_capabilities()
        self._users: dict[str, UserRef] | None = None
        self._boards: dict[str, Mapping[str, Any]] = {}
        self._tags: dict[str, str] | None = None
        #: item descriptions (markdown) read ahead for the items of the current page
        self._md: dict[str, str] = {}
        #: top-level items of the board before the page being read (positions are board-wide)
        self._before = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.client.list_containers()

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """The account's users (``PeopleLister``), fetched fresh."""
        return await people.list_people(self.client, scope)

    async def users(self) -> dict[str, UserRef]:
        if self._users is None:
            self._users = await people.account_users(self.client)
        return self._users

    async def board(self, scope: str, *, fresh: bool = False) -> Mapping[str, Any]:
        if fresh or scope not in self._boards:
            boards = (await self.client.run("board", {"ids": [scope]}))["boards"] or []
            if not boards or boards[0] is None:
                raise NotFoundError(f"monday.com: board {scope} not found", status=404)
            self._boards[scope] = boards[0]
        return self._boards[scope]

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Up to ``limit`` records of ``kind`` from board ``scope`` after ``cursor``."""
        limit = max(1, limit)
        if kind is Kind.PROJECT:
            return Page(records=(board_to_project(await self.board(scope, fresh=True)),))
        if kind is Kind.SECTION:
            board = await self.board(scope, fresh=cursor is None)
            groups = sorted(board["groups"] or [], key=lambda g: float(g["position"]))
            return _slice([group_to_section(scope, g, i) for i, g in enumerate(groups)], cursor, limit)
        if kind is Kind.LABEL:
            tags = (await self.client.run("tags"))["tags"] or []
            used = await self._used_tags(scope)
            return _slice([tag_to_label(t, scope) for t in tags if str(t["id"]) in used], cursor, limit)
        if kind is Kind.TASK:
            return await self._walk(scope, cursor, limit, "items", self._tasks)
        if kind is Kind.COMMENT:
            return await self._walk(scope, cursor, limit, "updates", self._comments)
        if kind is Kind.ATTACHMENT:
            return await self._walk(scope, cursor, limit, "assets", self._attachments)
        raise SkippableItemError(f"monday.com has no {kind}", status=400)

    async def _used_tags(self, scope: str) -> set[str]:
        """Tag ids on the board's items and subitems (tags are the account's)."""
        used: set[str] = set()
        cursor: str | None = None
        while True:
            items, cursor = await self._page(scope, "tagvals", cursor)
            for item in items:
                for one in [item, *(item.get("subitems") or [])]:
                    for cv in (one or {}).get("column_values") or []:
                        used.update(str(t) for t in cv.get("tag_ids") or [])
            if cursor is None:
                return used

    async def tags(self) -> dict[str, str]:
        """Account tags by id (name), read once per reader."""
        if self._tags is None:
            self._tags = {str(t["id"]): t["name"] for t in (await self.client.run("tags"))["tags"] or []}
        return self._tags

    # --- the item walk -----------------------------------------------------------------------

    async def _page(
        self, scope: str, stream: str, cursor: str | None, size: int = ops.ITEMS_PAGE
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        if cursor is None:
            data = await self.client.run(f"{stream}_first", {"ids": [scope], "limit": size})
            boards = data["boards"] or []
            if not boards or boards[0] is None:
                raise NotFoundError(f"monday.com: board {scope} not found", status=404)
            page = boards[0]["items_page"]
        else:
            data = await self.client.run(f"{stream}_next", {"cursor": cursor, "limit": size})
            page = data["next_items_page"]
        return list(page["items"] or []), page.get("cursor")

    async def _page_at(
        self, scope: str, stream: str, cursor: str | None, before: int, size: int
    ) -> tuple[list[Mapping[str, Any]], str | None, str | None]:
        """``size`` items after the first ``before``, the next page's cursor and the cursor
        that now starts this page: an expired one is replaced by walking again (light pages
        of ids) to the ``before``-th item."""
        try:
            items, nxt = await self._page(scope, stream, cursor, size)
            return items, nxt, cursor
        except CursorExpired:
            seen, fresh = 0, None
            while seen < before:
                step = min(ops.ITEMS_PAGE, before - seen)
                ids, fresh = await self._page(scope, "ids", fresh, step)
                seen += len(ids)
                if fresh is None:
                    return [], None, None
            items, nxt = await self._page(scope, stream, fresh, size)
            return items, nxt, fresh

    async def _walk(self, scope: str, cursor: str | None, limit: int, stream: str, per_item: PerItem) -> Page:
        state = _WALK.load(cursor)
        page_cursor, before, index, done = state.c, state.n, state.i, state.d
        self._md = {}  # descriptions are read ahead for this read only, never reused
        out: list[Record] = []
        # fetch about as many items as the page may hold (items carry their subitems);
        # comments and files nest lists under each item, so those pages are smaller
        size = max(1, min(limit, ops.ITEMS_PAGE if stream == "items" else ops.NESTED_PAGE))
        while True:
            items, nxt, page_cursor = await self._page_at(scope, stream, page_cursor, before, size)
            flat: list[Flat] = []
            for item in items:
                flat.append((item, None))
                flat += [(sub, str(item["id"])) for sub in item.get("subitems") or [] if sub]
            self._before = before
            while index < len(flat):
                records = (await per_item(scope, flat, index))[done:]
                room = limit - len(out)
                if len(records) > room:
                    out += records[:room]
                    return Page(
                        records=tuple(out),
                        next_cursor=_WALK.encode(_Walk(c=page_cursor, n=before, i=index, d=done + room)),
                    )
                out += records
                index, done = index + 1, 0
                if len(out) == limit and index < len(flat):
                    return Page(records=tuple(out), next_cursor=_WALK.encode(_Walk(c=page_cursor, n=before, i=index)))
            if nxt is None:
                return Page(records=tuple(out))
            page_cursor, before, index, done = nxt, before + len(items), 0, 0
            if len(out) == limit:
                return Page(records=tuple(out), next_cursor=_WALK.encode(_Walk(c=page_cursor, n=before)))

    async def _tasks(self, scope: str, flat: list[Flat], index: int) -> list[Record]:
        board = await self.board(scope)
        item, parent = flat[index]
        columns = Columns.of(board["columns"] or [])
        if parent is not None:
            sub_board = columns.subitems_board
            columns = await self._columns(sub_board) if sub_board else Columns.of([])
        descriptions = await self._descriptions(flat, index)
        tags = await self.tags() if _has_tags(item) else {}
        return [
            item_to_task(
                item,
                scope,
                columns,
                await self.users(),
                tags,
                description=descriptions.get(str(item["id"]), ""),
                position=_position(flat, index, self._before),
                parent_id=parent,
            )
        ]

    async def _columns(self, board_id: str) -> Columns:
        return Columns.of((await self.board(board_id))["columns"] or [])

    async def _descriptions(self, flat: list[Flat], index: int) -> dict[str, str]:
        """Markdown of the item at ``index`` and the next ones (cached by item id)."""
        cache = self._md
        item_id = str(flat[index][0]["id"])
        if item_id in cache:
            return cache
        batch: list[tuple[str, str]] = []
        for item, _ in flat[index:]:
            doc = (item.get("description") or {}).get("id")
            if str(item["id"]) in cache:
                continue
            if doc is None:
                cache[str(item["id"])] = ""
                continue
            batch.append((str(item["id"]), str(doc)))
            if len(batch) == DOCS_PER_REQUEST:
                break
        if batch:
            data = await self.client.run(
                "docs_markdown", {f"d{i}": doc for i, (_, doc) in enumerate(batch)}, query=ops.docs_markdown(len(batch))
            )
            for i, (iid, _) in enumerate(batch):
                got = data.get(f"d{i}") or {}
                cache[iid] = (got.get("markdown") or "") if got.get("success") else ""
        return cache

    async def _comments(self, scope: str, flat: list[Flat], index: int) -> list[Record]:
        item = flat[index][0]
        updates = list(item.get("updates") or [])
        page = 1
        while len(updates) == page * ops.UPDATES_PAGE:  # more than one page on this item
            page += 1
            data = await self.client.run("item_updates_page", {"ids": [item["id"]], "page": page})
            rows = data["items"] or []
            updates += (rows[0].get("updates") or []) if rows else []
        ordered = sorted(updates, key=lambda u: (u.get("created_at") or "", int(u["id"])))
        return [update_to_comment(u, scope, str(item["id"])) for u in ordered]

    async def _attachments(self, scope: str, flat: list[Flat], index: int) -> list[Record]:
        item = flat[index][0]
        assets = sorted(item.get("assets") or [], key=lambda a: int(a["id"]))
        return [asset_to_attachment(a, scope, str(item["id"])) for a in assets]

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream a file from a fresh signed link (links live one hour, so none is kept)."""
        if attachment.is_link:
            raise SkippableItemError("a link attachment has no body", status=400)
        found = (await self.client.run("asset_url", {"ids": [attachment.source_id]}))["assets"]
        url = (found or [{}])[0].get("public_url") if found else None
        if not url:
            raise NotFoundError(f"monday.com: file {attachment.source_id} not found", status=404)
        async for chunk in self.client.download(url):
            yield chunk


def _position(flat: list[Flat], index: int, before: int) -> int:
    """A top-level item's place on the board (``before`` items came on earlier pages), a
    subitem's among its parent's subitems: the same whatever page size the walk reads."""
    parent = flat[index][1]
    if parent is None:
        return before + sum(1 for _, p in flat[:index] if p is None)
    return sum(1 for _, p in flat[:index] if p == parent)


def _has_tags(item: Mapping[str, Any]) -> bool:
    return any(cv.get("tag_ids") for cv in item.get("column_values") or [])


def _slice(records: list[Any], cursor: str | None, limit: int) -> Page:
    start = _AFTER.load(cursor).after if cursor else 0
    page = records[start : start + limit]
    end = start + len(page)
    return Page(records=tuple(page), next_cursor=_AFTER.encode(_After(after=end)) if end < len(records) else None)
