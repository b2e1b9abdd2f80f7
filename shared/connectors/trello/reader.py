"""Reads a Trello board (a project-level container) into canonical records.

Streams and their cursors (opaque to the engine; each page is a checkpoint):
* PROJECT — the board itself (one page).
* SECTION, LABEL — the board's lists (all, archived too) / labels, sorted by id;
  cursor ``{"after": last id emitted}`` (ids grow with creation time, so new items only
  append).
* TASK — ``GET /boards/{id}/cards/all?limit&before&checklists=all&customFieldItems=true``:
  Trello's id paging, newest first; cursor ``{"after": the last (oldest) card id}``. Custom
  field values are named and typed by the board's definitions (``custom_fields.py``).
* COMMENT — board-wide, ``/boards/{id}/actions?filter=commentCard`` (1,000 per call), oldest
  first so each card's comments are re-created in their order; cursor ``{"after": last
  comment id}`` (action ids grow with time).
* ATTACHMENT — board-wide, ``/boards/{id}/cards/all?attachments=true`` in one call; ordered by
  card id, then attachment id; cursor ``{"after": "<card id>:<attachment id>"}``.

A whole board's comments or attachments are read per page instead of once per card (a card
read cost 1 request each: 835 + 402 of 1,320 source reads in a 1,000-card delta). The
listing a stream's first page read serves its next pages (``LISTING_TTL_S``): re-reading the
board for every page of 50 cost 9 of the 17 requests per 100-card board of an unchanged delta.

Cursors go through the kit's ``CursorCodec``: one that does not fit is ``InvalidCursor``.
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.kit.cursor import CursorCodec
from shared.connectors.trello import people
from shared.connectors.trello.api_types import (
    TAction,
    TAttachment,
    TBoard,
    TCard,
    TLabel,
    TList,
    TMember,
)
from shared.connectors.trello.capabilities import trello_capabilities
from shared.connectors.trello.client import TrelloClient
from shared.connectors.trello.custom_fields import TCustomField, with_custom_fields
from shared.connectors.trello.mapping import (
    Members,
    action_to_comment,
    attachment_to_attachment,
    board_to_project,
    card_to_task,
    label_to_label,
    list_to_section,
    user,
)
from shared.contract.connector import Page
from shared.contract.model import Attachment, Container, Kind, Record, UserRef
from shared.errors import SkippableItemError

MAX_PAGE = 1000  # Trello's largest ``limit``
#: How long a board-wide listing (comments, attachments) read for a stream's first page
#: serves the pages after it. A stream's pages follow each other within seconds; a first page
#: always reads the board afresh, so a run never starts from an older listing. A comment
#: written between two pages of one run is left to the next delta (its id is new there).
LISTING_TTL_S = 120.0
#: listings kept at most (per reader, i.e. per connector in a worker process)
LISTINGS_KEPT = 16


class _After(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: str = Field(min_length=1, max_length=128)


_AFTER = CursorCodec("Trello", _After)


class TrelloReader:
    """``SourceReader`` over the Trello REST API."""

    def __init__(self, client: TrelloClient) -> None:
        self.client = client
        self.capabilities = trello_capabilities()
        self._members: dict[str, Members] = {}
        self._fields: dict[str, dict[str, TCustomField]] = {}
        # (kind, board) → (monotonic time read, the board-wide listing, sorted)
        self._listings: OrderedDict[tuple[Kind, str], tuple[float, list[Any]]] = OrderedDict()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.client.list_containers()

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """Members of a board or workspace (``PeopleLister``), fetched fresh."""
        return await people.list_people(self.client, scope)

    async def members(self, board_id: str) -> Members:
        """Board members by id (e-mails where Trello shows them), cached per board."""
        if board_id not in self._members:
            raw = await self.client.get(f"/boards/{board_id}/members", fields="username,fullName,email")
            self._members[board_id] = {m.id: user(m) for m in (TMember.model_validate(x) for x in raw)}
        return self._members[board_id]

    async def custom_fields(self, board_id: str, *, fresh: bool = False) -> dict[str, TCustomField]:
        """The board's custom field definitions by id, cached per board (one call)."""
        if fresh or board_id not in self._fields:
            raw = await self.client.get(f"/boards/{board_id}/customFields")
            self._fields[board_id] = {f.id: f for f in (TCustomField.model_validate(x) for x in raw)}
        return self._fields[board_id]

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Up to ``limit`` records of ``kind`` from board ``scope`` after ``cursor``."""
        limit = max(1, min(limit, MAX_PAGE))
        if kind is Kind.PROJECT:
            board = TBoard.model_validate(await self.client.get(f"/boards/{scope}"))
            return Page(records=(board_to_project(board, await self.members(scope)),))
        if kind is Kind.SECTION:
            raw = await self.client.get(f"/boards/{scope}/lists", filter="all")
            items: list[Record] = [list_to_section(TList.model_validate(x), scope) for x in raw]
            return _after_id(items, cursor, limit)
        if kind is Kind.LABEL:
            raw = await self.client.get(f"/boards/{scope}/labels", limit=MAX_PAGE)
            return _after_id([label_to_label(TLabel.model_validate(x), scope) for x in raw], cursor, limit)
        if kind is Kind.TASK:
            return await self._tasks(scope, cursor, limit)
        if kind is Kind.COMMENT:
            return await self._comments(scope, cursor, limit)
        if kind is Kind.ATTACHMENT:
            return await self._attachments(scope, cursor, limit)
        raise SkippableItemError(f"Trello has no {kind}", status=400)

    async def _tasks(self, scope: str, cursor: str | None, limit: int) -> Page:
        members = await self.members(scope)
        before = _AFTER.load(cursor).after if cursor else None
        raw = await self.client.get(
            f"/boards/{scope}/cards/all", limit=limit, before=before, checklists="all", customFieldItems="true"
        )
        cards = [TCard.model_validate(x) for x in raw]
        fields = await self.custom_fields(scope)
        used = {i.get("idCustomField") for x in raw for i in x.get("customFieldItems") or ()}
        if not used <= fields.keys():  # a field defined since the definitions were cached
            fields = await self.custom_fields(scope, fresh=True)
        records = tuple(
            with_custom_fields(card_to_task(c, members), x.get("customFieldItems") or (), fields)
            for c, x in zip(cards, raw, strict=True)
        )
        more = len(cards) == limit
        return Page(records=records, next_cursor=_AFTER.encode(_After(after=cards[-1].id)) if more and cards else None)

    async def _comments(self, scope: str, cursor: str | None, limit: int) -> Page:
        """The board's comments, oldest first (each card's in the order they were written),
        read board-wide: ``/boards/{id}/actions?filter=commentCard`` in pages of 1,000 (newest
        first, by ``before``), not once per card. Only comments of cards on the board count
        (a card moved away takes its comments along)."""
        listing = self._listing(Kind.COMMENT, scope, cursor)
        if listing is None:
            listing = self._keep(Kind.COMMENT, scope, await self._board_comments(scope))
        page = _after_id(listing, cursor, limit)
        if page.next_cursor is None:
            self._listings.pop((Kind.COMMENT, scope), None)  # the stream is done with it
        return page

    async def _board_comments(self, scope: str) -> list[Record]:
        members = await self.members(scope)
        on_board = {c["id"] for c in await self.client.get(f"/boards/{scope}/cards/all", fields="id")}
        actions: list[TAction] = []
        before: str | None = None
        while True:
            raw = await self.client.get(f"/boards/{scope}/actions", filter="commentCard", limit=MAX_PAGE, before=before)
            actions += [TAction.model_validate(x) for x in raw]
            if len(raw) < MAX_PAGE:
                break
            before = actions[-1].id
        comments: list[Record] = [
            action_to_comment(a, scope, members)
            for a in actions
            if a.data.card is not None and a.data.card.id in on_board
        ]
        return sorted(comments, key=lambda r: r.source_id)

    async def _attachments(self, scope: str, cursor: str | None, limit: int) -> Page:
        """The board's attachments in one call (``cards/all?attachments=true``), not once per
        card; ordered by card, then attachment id, so a card's files keep their order."""
        found = self._listing(Kind.ATTACHMENT, scope, cursor)
        if found is None:
            found = self._keep(Kind.ATTACHMENT, scope, await self._board_attachments(scope))
        start = 0
        if cursor:
            after = _AFTER.load(cursor).after
            start = bisect.bisect_right([key for key, _ in found], after)
        page = found[start : start + limit]
        more = start + limit < len(found)
        if not more:
            self._listings.pop((Kind.ATTACHMENT, scope), None)  # the stream is done with it
        return Page(
            records=tuple(r for _, r in page),
            next_cursor=_AFTER.encode(_After(after=page[-1][0])) if more and page else None,
        )

    async def _board_attachments(self, scope: str) -> list[tuple[str, Attachment]]:
        members = await self.members(scope)
        raw = await self.client.get(f"/boards/{scope}/cards/all", fields="id", attachments="true")
        found: list[tuple[str, Attachment]] = []
        for card in raw:
            for att in (TAttachment.model_validate(x) for x in card.get("attachments") or ()):
                found.append((f"{card['id']}:{att.id}", attachment_to_attachment(att, scope, str(card["id"]), members)))
        found.sort(key=lambda pair: pair[0])
        return found

    def _listing(self, kind: Kind, scope: str, cursor: str | None) -> list[Any] | None:
        """The board-wide listing a first page of this stream read, for a later page; None
        for a first page (read afresh), a listing not read here or read too long ago."""
        if cursor is None:
            return None
        kept = self._listings.get((kind, scope))
        if kept is None or time.monotonic() - kept[0] > LISTING_TTL_S:
            return None
        return kept[1]

    def _keep(self, kind: Kind, scope: str, listing: list[Any]) -> list[Any]:
        self._listings.pop((kind, scope), None)
        self._listings[(kind, scope)] = (time.monotonic(), listing)
        while len(self._listings) > LISTINGS_KEPT:
            self._listings.popitem(last=False)
        return listing

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream an uploaded file (1 MiB chunks) from its ``/download/`` URL."""
        if attachment.is_link or not attachment.url:
            raise SkippableItemError("a link attachment has no body", status=400)
        async for chunk in self.client.download(attachment.url):
            yield chunk


def _after_id(items: list[Any], cursor: str | None, limit: int) -> Page:
    items = sorted(items, key=lambda r: r.source_id)
    if cursor:
        after = _AFTER.load(cursor).after
        items = [r for r in items if r.source_id > after]
    page = items[:limit]
    more = len(items) > limit
    return Page(records=tuple(page), next_cursor=_AFTER.encode(_After(after=page[-1].source_id)) if more else None)
