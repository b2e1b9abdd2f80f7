"""Root ``Query`` fields the simulator serves (names and arguments as in the SDL)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from simulators.monday.errors import invalid_argument
from simulators.monday.paging import items_by_column_values, next_items_page
from simulators.monday.store import MondayStore
from simulators.monday.views import (
    account_view,
    asset_view,
    board_view,
    item_view,
    update_view,
    user_view,
    workspace_view,
)

Info = GraphQLResolveInfo


def _page(rows: list[Any], limit: int | None, page: int | None, default: int) -> list[Any]:
    size = default if limit is None else limit
    if size < 1 or (page is not None and page < 1):
        raise invalid_argument("limit and page must be positive")
    start = ((page or 1) - 1) * size
    return rows[start : start + size]


def query_root(store: MondayStore) -> dict[str, Any]:
    """The root value of query operations."""

    def me(info: Info) -> dict[str, Any]:
        return user_view(info.context.user)

    def users(
        _: Info,
        ids: list[str] | None = None,
        emails: list[str] | None = None,
        limit: int | None = None,
        page: int | None = None,
        name: str | None = None,
        **__: Any,
    ) -> list[dict[str, Any]]:
        rows = sorted(store.users.values(), key=lambda u: int(u.id))
        if ids is not None:
            rows = [u for u in rows if u.id in {str(i) for i in ids}]
        if emails is not None:
            low = {e.lower() for e in emails}
            rows = [u for u in rows if u.email.lower() in low]
        if name:
            rows = [u for u in rows if name.lower() in u.name.lower()]
        return [user_view(u) for u in _page(rows, limit, page, 200)]

    def boards(
        _: Info,
        ids: list[str] | None = None,
        limit: int | None = None,
        page: int | None = None,
        state: str | None = None,
        workspace_ids: list[str | None] | None = None,
        board_kind: str | None = None,
        **__: Any,
    ) -> list[dict[str, Any]]:
        want = state or "active"
        rows = sorted(store.boards.values(), key=lambda b: int(b.id))
        rows = [b for b in rows if want == "all" or b.state == want]
        if ids is not None:
            rows = [b for b in rows if b.id in {str(i) for i in ids}]
        if workspace_ids is not None:
            rows = [b for b in rows if b.workspace_id in {str(w) for w in workspace_ids if w}]
        if board_kind is not None:
            rows = [b for b in rows if b.kind == board_kind]
        return [board_view(store, b) for b in _page(rows, limit, page, 25)]

    def items(
        _: Info, ids: list[str] | None = None, limit: int | None = None, page: int | None = None, **__: Any
    ) -> list[dict[str, Any]]:
        rows = sorted((i for i in store.items.values() if i.state != "deleted"), key=lambda i: int(i.id))
        if ids is not None:
            wanted = [str(i) for i in ids]
            rows = [store.items[i] for i in wanted if i in store.items and store.items[i].state != "deleted"]
        return [item_view(store, i) for i in _page(rows, limit, page, 25)]

    def updates(
        _: Info, ids: list[str] | None = None, limit: int | None = None, page: int | None = None, **__: Any
    ) -> list[dict[str, Any]]:
        rows = sorted((u for u in store.updates.values() if not u.deleted), key=lambda u: int(u.id), reverse=True)
        if ids is not None:
            rows = [u for u in rows if u.id in {str(i) for i in ids}]
        return [update_view(store, u) for u in _page(rows, limit, page, 25)]

    def assets(_: Info, ids: list[str]) -> list[dict[str, Any]]:
        return [asset_view(store, store.assets[str(i)]) for i in ids if str(i) in store.assets]

    def tags(_: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
        rows = sorted(store.tags.values(), key=lambda t: t.id)
        if ids is not None:
            rows = [t for t in rows if str(t.id) in {str(i) for i in ids}]
        return [vars(t) for t in rows]

    def workspaces(
        _: Info, ids: list[str] | None = None, limit: int | None = None, page: int | None = None, **__: Any
    ) -> list[dict[str, Any]]:
        rows = sorted(store.workspaces.values(), key=lambda w: int(w.id))
        if ids is not None:
            rows = [w for w in rows if w.id in {str(i) for i in ids}]
        return [workspace_view(w) for w in _page(rows, limit, page, 25)]

    def export_markdown_from_doc(_: Info, docId: str, **__: Any) -> dict[str, Any]:
        item = next(
            (i for i in store.items.values() if i.description_doc_id == str(docId) and i.state != "deleted"), None
        )
        if item is None:
            return {"success": False, "markdown": None, "error": "Document not found"}
        return {"success": True, "markdown": item.description_md or "", "error": None}

    return {
        "me": me,
        "users": users,
        "boards": boards,
        "items": items,
        "updates": updates,
        "assets": assets,
        "tags": tags,
        "workspaces": workspaces,
        "account": lambda _: account_view(),
        "complexity": lambda info: vars(info.context.charge),
        "next_items_page": lambda info, cursor, limit: next_items_page(info, store, cursor, limit),
        "items_page_by_column_values": lambda info, board_id, limit, **kw: items_by_column_values(
            info, store, board_id, limit, kw.get("columns"), kw.get("cursor")
        ),
        "export_markdown_from_doc": export_markdown_from_doc,
    }
