"""GraphQL object views: plain dicts for graphql-core's default resolver.

A value that needs arguments or is costly is a callable ``(info, **args)``, which the default
resolver calls only when the query selects the field. ``info.context`` is the request's
:class:`simulators.monday.context.RequestContext`.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from simulators.monday.columns import column_view, value_view
from simulators.monday.store import (
    ACCOUNT_ID,
    Asset,
    Board,
    Group,
    Item,
    MondayStore,
    Update,
    User,
    Workspace,
    iso,
)

Info = GraphQLResolveInfo


def account_view() -> dict[str, Any]:
    return {
        "id": str(ACCOUNT_ID),
        "name": "Ferry Simulated Account",
        "slug": "ferry-sim",
        "first_day_of_the_week": "monday",
        "show_timeline_weekends": True,
        "tier": "pro",
        "is_during_trial": False,
        "is_trial_expired": False,
    }


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "title": "",
        "url": f"https://ferry-sim.monday.com/users/{user.id}",
        "created_at": iso(user.created_at),
        "is_admin": user.is_admin,
        "enabled": user.enabled,
        "is_deleted": False,
        "is_email_confirmed": True,
        "account_id": str(ACCOUNT_ID),
        "account": account_view(),
        "kind": "person",
        "status": "ACTIVE",
        "photo_url": None,
        "time_zone_identifier": "UTC",
    }


def workspace_view(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "name": ws.name,
        "kind": ws.kind,
        "description": ws.description,
        "state": "active",
        "is_default_workspace": False,
    }


def _user(store: MondayStore, user_id: str | None) -> dict[str, Any] | None:
    user = store.users.get(str(user_id)) if user_id else None
    return user_view(user) if user else None


def board_view(store: MondayStore, board: Board) -> dict[str, Any]:
    from simulators.monday.paging import items_page_resolver

    def columns(
        _: Info, ids: list[str] | None = None, types: list[str] | None = None, **__: Any
    ) -> list[dict[str, Any]]:
        return [
            column_view(c)
            for c in board.columns
            if not c.archived and (ids is None or c.id in ids) and (types is None or c.type in types)
        ]

    def groups(_: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
        return [group_view(store, board, g) for g in board.live_groups() if ids is None or g.id in ids]

    def workspace(_: Info) -> dict[str, Any] | None:
        ws = store.workspaces.get(board.workspace_id or "")
        return workspace_view(ws) if ws else None

    def tags(_: Info) -> list[dict[str, Any]]:
        used = {
            t
            for i in store.items.values()
            if i.board_id == board.id
            for v in [i.values.get(c.id) for c in board.columns if c.type == "tags"]
            if isinstance(v, dict)
            for t in v.get("tag_ids", [])
        }
        return [vars(store.tags[t]) for t in sorted(used) if t in store.tags]

    creator = _user(store, board.creator_id)
    live = board.live_groups()
    return {
        "id": board.id,
        "name": board.name,
        "description": board.description,
        "state": board.state,
        "board_kind": board.kind,
        "type": board.type,
        "workspace_id": board.workspace_id,
        "workspace": workspace,
        "created_at": iso(board.created_at),
        "updated_at": iso(board.updated_at),
        "creator": creator,
        "owner": creator,
        "owners": [creator] if creator else [],
        "subscribers": [creator] if creator else [],
        "permissions": "everyone",
        "url": f"https://ferry-sim.monday.com/boards/{board.id}",
        "items_count": len(store.board_items(board)),
        "columns": columns,
        "groups": groups,
        "top_group": (lambda _: group_view(store, board, live[0])) if live else None,
        "items_page": items_page_resolver(store, board, None),
        "tags": tags,
        "item_terminology": "item",
        "board_folder_id": None,
        "folder": None,
    }


def group_view(store: MondayStore, board: Board, group: Group) -> dict[str, Any]:
    from simulators.monday.paging import items_page_resolver

    return {
        "id": group.id,
        "title": group.title,
        "color": group.color,
        "position": f"{group.position:.3f}",
        "archived": group.archived,
        "deleted": group.deleted,
        "items_page": items_page_resolver(store, board, group),
    }


def item_view(store: MondayStore, item: Item) -> dict[str, Any]:
    def board(_: Info) -> dict[str, Any] | None:
        b = store.boards.get(item.board_id)
        return board_view(store, b) if b else None

    def group(_: Info) -> dict[str, Any] | None:
        b = store.boards.get(item.board_id)
        g = b.group(item.group_id) if b else None
        return group_view(store, b, g) if b and g else None

    def column_values(
        _: Info, ids: list[str] | None = None, types: list[str] | None = None, **__: Any
    ) -> list[dict[str, Any]]:
        b = store.boards[item.board_id]
        return [
            value_view(store, c, item)
            for c in b.columns
            if not c.archived and (ids is None or c.id in ids) and (types is None or c.type in types)
        ]

    def updates(
        _: Info, limit: int | None = None, page: int | None = None, ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        ups = [u for u in store.item_updates(item) if ids is None or u.id in ids]
        size = limit or 25
        start = ((page or 1) - 1) * size
        return [update_view(store, u) for u in ups[start : start + size]]

    def assets(_: Info, assets_source: str | None = None, column_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Files in the item's file columns (``columns``, the default), in its updates
        (``gallery``) or both (``all``); a file cleared from its column is no longer listed."""
        in_columns = {
            str(f["assetId"])
            for cid, v in item.values.items()
            if isinstance(v, dict) and (column_ids is None or cid in column_ids)
            for f in v.get("files", [])
        }
        in_updates = {a for u in store.item_updates(item) for a in u.asset_ids}
        wanted = {"columns": in_columns, "gallery": in_updates}.get(assets_source or "columns", in_columns | in_updates)
        return [asset_view(store, store.assets[a]) for a in sorted(wanted, key=int) if a in store.assets]

    def description(_: Info) -> dict[str, Any] | None:
        if item.description_doc_id is None:
            return None
        return {"id": item.description_doc_id, "blocks": lambda _i, **_a: []}

    return {
        "id": item.id,
        "name": item.name,
        "state": item.state,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "creator_id": item.creator_id,
        "creator": lambda _: _user(store, item.creator_id),
        "board": board,
        "group": group,
        "column_values": column_values,
        "subitems": lambda _: [item_view(store, s) for s in store.subitems(item)],
        "parent_item": lambda _: (
            item_view(store, store.items[item.parent_id]) if item.parent_id in store.items else None
        ),
        "updates": updates,
        "assets": assets,
        "description": description,
        "email": f"pulse-{item.id}@ferry-sim.monday.com",
        "url": f"https://ferry-sim.monday.com/boards/{item.board_id}/pulses/{item.id}",
        "relative_link": f"/boards/{item.board_id}/pulses/{item.id}",
        "subscribers": [],
    }


def update_view(store: MondayStore, update: Update) -> dict[str, Any]:
    from simulators.monday.richtext import html_to_plain

    return {
        "id": update.id,
        "body": update.body,
        "text_body": html_to_plain(update.body),
        "creator_id": update.creator_id,
        "creator": lambda _: _user(store, update.creator_id),
        "created_at": iso(update.created_at),
        "updated_at": iso(update.updated_at),
        "edited_at": iso(update.updated_at),
        "item_id": update.item_id,
        "item": lambda _: item_view(store, store.items[update.item_id]) if update.item_id in store.items else None,
        "original_creation_date": update.original_creation_date,
        "assets": lambda _: [asset_view(store, store.assets[a]) for a in update.asset_ids if a in store.assets],
        "replies": lambda _: [],
        "likes": [],
        "pinned_to_top": [],
        "viewers": lambda _i, **_a: [],
    }


def asset_view(store: MondayStore, asset: Asset) -> dict[str, Any]:
    from simulators.monday.files import private_url, public_url

    return {
        "id": asset.id,
        "name": asset.name,
        "file_extension": asset.extension,
        "file_size": asset.size,
        "created_at": iso(asset.created_at),
        "public_url": lambda info: public_url(info.context, asset),
        "url": lambda info: private_url(info.context, asset),
        "url_thumbnail": None,
        "original_geometry": None,
        "uploaded_by": lambda _: _user(store, asset.uploaded_by),
    }
