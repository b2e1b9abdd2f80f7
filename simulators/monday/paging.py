"""Cursor paging of items (https://developer.monday.com/api-reference/reference/items-page).

``items_page(limit, cursor, query_params)`` on a board or group answers up to ``limit`` (at
most 500) items and a ``cursor``; ``next_items_page(cursor, limit)`` continues; the last page
answers ``cursor: null``. A cursor is valid for 60 minutes. It stands for the result set
as it was when the first page was read (the ids are kept with the cursor), so items created
or deleted meanwhile neither shift nor repeat a page.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from simulators.common import SimClock
from simulators.monday.errors import MondayError, invalid_argument, invalid_board
from simulators.monday.store import Board, Group, Item, MondayStore

MAX_PAGE = 500
CURSOR_TTL_S = 3600.0


@dataclass
class _Cursor:
    ids: list[str]
    offset: int
    issued: float


class CursorBook:
    """Issued cursors (opaque random tokens) and what they stand for."""

    def __init__(self, clock: SimClock, ttl_s: float = CURSOR_TTL_S) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._cursors: dict[str, _Cursor] = {}
        self._lock = threading.Lock()

    def issue(self, ids: list[str], offset: int) -> str:
        token = "MSw" + secrets.token_urlsafe(24)
        with self._lock:
            self._cursors[token] = _Cursor(ids, offset, self.clock.monotonic())
        return token

    def take(self, token: str) -> _Cursor:
        with self._lock:
            cur = self._cursors.get(token)
            if cur is not None and self.clock.monotonic() - cur.issued > self.ttl_s:
                del self._cursors[token]
                raise MondayError(
                    "CursorExpiredError: The cursor has expired, please run the query again without a cursor",
                    "CursorExpiredError",
                )
        if cur is None:
            raise MondayError("CursorException: cursor is not valid", "CursorException")
        return cur


def _check_limit(limit: int) -> None:
    if limit < 1 or limit > MAX_PAGE:
        raise invalid_argument(f"limit must be between 1 and {MAX_PAGE}")


def _text_of(item: Item, column_id: str) -> str | None:
    raw = item.values.get(column_id)
    if raw is None:
        return None
    if isinstance(raw, dict) and "index" in raw:
        return str(raw["index"])
    return raw if isinstance(raw, str) else None


def _rule_ok(item: Item, rule: dict[str, Any]) -> bool:
    values = rule.get("compare_value")
    wanted = [str(v) for v in (values if isinstance(values, list) else [values])]
    op = rule.get("operator") or "any_of"
    if rule["column_id"] == "name":
        have: str | None = item.name
    else:
        have = _text_of(item, str(rule["column_id"]))
    if op == "any_of":
        return have is not None and have in wanted
    if op == "not_any_of":
        return have is None or have not in wanted
    if op == "is_empty":
        return not have
    if op == "is_not_empty":
        return bool(have)
    if op == "contains_text":
        return have is not None and any(w in have for w in wanted)
    raise invalid_argument(f"operator {op} is not supported by this simulator")


def _filtered(items: list[Item], params: dict[str, Any] | None) -> list[Item]:
    if not params:
        return items
    ids = params.get("ids")
    if ids:
        wanted = {str(i) for i in ids}
        items = [i for i in items if i.id in wanted]
    rules = params.get("rules") or []
    if rules:
        combine = all if (params.get("operator") or "and") == "and" else any
        items = [i for i in items if combine(_rule_ok(i, r) for r in rules)]
    return items


def page_of(info: GraphQLResolveInfo, store: MondayStore, ids: list[str], offset: int, limit: int) -> dict[str, Any]:
    from simulators.monday.views import item_view

    ctx = info.context
    chunk = ids[offset : offset + limit]
    items = [store.items[i] for i in chunk if i in store.items]
    more = offset + limit < len(ids)
    return {
        "cursor": ctx.cursors.issue(ids, offset + limit) if more else None,
        "items": [item_view(store, i) for i in items if i.state != "deleted"],
    }


def items_page_resolver(store: MondayStore, board: Board, group: Group | None) -> Callable[..., dict[str, Any]]:
    def resolve(
        info: GraphQLResolveInfo,
        limit: int,
        cursor: str | None = None,
        query_params: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        _check_limit(limit)
        if cursor:
            cur = info.context.cursors.take(cursor)
            return page_of(info, store, cur.ids, cur.offset, limit)
        items = [i for i in store.board_items(board) if group is None or i.group_id == group.id]
        ids = [i.id for i in _filtered(items, query_params)]
        return page_of(info, store, ids, 0, limit)

    return resolve


def next_items_page(info: GraphQLResolveInfo, store: MondayStore, cursor: str, limit: int) -> dict[str, Any]:
    _check_limit(limit)
    cur = info.context.cursors.take(cursor)
    return page_of(info, store, cur.ids, cur.offset, limit)


def items_by_column_values(
    info: GraphQLResolveInfo,
    store: MondayStore,
    board_id: str,
    limit: int,
    columns: list[dict[str, Any]] | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``items_page_by_column_values``: items whose column texts equal one of the values."""
    _check_limit(limit)
    if cursor:
        cur = info.context.cursors.take(cursor)
        return page_of(info, store, cur.ids, cur.offset, limit)
    board = store.live_board(board_id)
    if board is None:
        raise invalid_board(board_id)
    rules = [
        {"column_id": c["column_id"], "compare_value": c["column_values"], "operator": "any_of"} for c in columns or []
    ]
    items = _filtered(store.board_items(board), {"rules": rules})
    return page_of(info, store, [i.id for i in items], 0, limit)
