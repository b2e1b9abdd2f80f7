"""Root ``Mutation`` fields the simulator serves (names and arguments as in the SDL).

Rules kept from monday's documentation: item names are 1-255 characters
(``ItemNameTooLongException``); column values are checked before anything is written
(``ColumnValueException``, ``InvalidColumnIdException``); a board keeps at least one
group; subitems live on a hidden ``sub_items_board`` created with the first subitem;
``delete_*`` of something already gone answers ``ResourceNotFoundException``.
"""

from __future__ import annotations

import secrets
from typing import Any

from graphql import GraphQLResolveInfo

from simulators.monday.columns import (
    add_file_entry,
    default_settings,
    write_value,
    write_values,
)
from simulators.monday.errors import MondayError, invalid_argument, invalid_board, not_found
from simulators.monday.files import UploadedFile, store_file
from simulators.monday.store import (
    MAX_ITEM_NAME,
    Asset,
    Board,
    Column,
    Group,
    Item,
    MondayStore,
    Tag,
    Update,
)
from simulators.monday.views import asset_view, board_view, group_view, item_view, update_view

Info = GraphQLResolveInfo
GROUP_COLORS = ("#579bfc", "#00c875", "#fdab3d", "#e2445c", "#a25ddc", "#037f4c")
TAG_COLORS = ("#00c875", "#fdab3d", "#579bfc", "#e2445c", "#a25ddc")
SUBITEM_COLUMNS = (("person", "Owner", "people"), ("status", "Status", "status"), ("date0", "Date", "date"))


def _board(store: MondayStore, board_id: str) -> Board:
    board = store.live_board(str(board_id))
    if board is None:
        raise invalid_board(str(board_id))
    return board


def _item(store: MondayStore, item_id: str | None) -> Item:
    item = store.live_item(str(item_id)) if item_id else None
    if item is None:
        raise not_found("item", str(item_id))
    return item


def _group_items(store: MondayStore, board: Board, group_id: str, *, without: str | None = None) -> list[Item]:
    """Top-level items of a group in board order (``without``: leave one item out)."""
    return [i for i in store.board_items(board) if i.group_id == group_id and i.id != without]


def _relative_position(
    store: MondayStore, board: Board, anchor: Item, method: str | None, *, moving: str | None = None
) -> float:
    """A position right before (``before_at``) or after (``after_at``, the default) ``anchor``
    among the items of its group (``moving``: the item being placed, not counted)."""
    peers = _group_items(store, board, anchor.group_id, without=moving)
    idx = next(n for n, i in enumerate(peers) if i.id == anchor.id)
    if method == "before_at":
        prev = peers[idx - 1].position if idx > 0 else anchor.position - 2.0
        return (prev + anchor.position) / 2
    nxt = peers[idx + 1].position if idx + 1 < len(peers) else anchor.position + 2.0
    return (anchor.position + nxt) / 2


def _anchor(store: MondayStore, board: Board, relative_to: str | None) -> Item | None:
    """The item ``relative_to`` names: a live top-level item of the same board."""
    if relative_to is None:
        return None
    anchor = store.live_item(str(relative_to))
    if anchor is None or anchor.board_id != board.id or anchor.parent_id is not None:
        raise not_found("item", str(relative_to))
    return anchor


def _check_name(name: str) -> None:
    if not name.strip():
        raise invalid_argument("item_name can't be empty")
    if len(name) > MAX_ITEM_NAME:
        raise MondayError(f"Item name is too long (maximum is {MAX_ITEM_NAME} characters)", "ItemNameTooLongException")


def new_column_id(board: Board, column_type: str) -> str:
    while True:
        cid = f"{column_type}_mk{secrets.token_hex(3)}"
        if board.column(cid) is None:
            return cid


def new_board(
    store: MondayStore,
    name: str,
    kind: str,
    workspace_id: str | None,
    creator: str,
    *,
    description: str = "",
    btype: str = "board",
    columns: tuple[tuple[str, str, str], ...] = SUBITEM_COLUMNS,
) -> Board:
    now = store.now()
    board = Board(store.new_id(), name, workspace_id, kind, creator, now, now, description=description, type=btype)
    board.columns = [Column(cid, title, ctype, default_settings(ctype)) for cid, title, ctype in columns]
    board.groups = [Group("topics", "Group Title", GROUP_COLORS[0], 1.0)]
    store.boards[board.id] = board
    return board


def _subitems_board(store: MondayStore, parent_board: Board, user_id: str) -> Board:
    if parent_board.subitems_board_id and parent_board.subitems_board_id in store.boards:
        return store.boards[parent_board.subitems_board_id]
    sub = new_board(
        store,
        f"Subitems of {parent_board.name}",
        parent_board.kind,
        parent_board.workspace_id,
        user_id,
        btype="sub_items_board",
    )
    sub.parent_board_id = parent_board.id
    parent_board.subitems_board_id = sub.id
    parent_board.columns.append(Column("subitems", "Subitems", "subtasks", {"boardIds": [int(sub.id)]}))
    return sub


def _touch(store: MondayStore, item: Item) -> None:
    item.updated_at = store.now()
    board = store.boards.get(item.board_id)
    if board is not None:
        board.updated_at = item.updated_at


def _add_asset(store: MondayStore, user_id: str, up: UploadedFile) -> Asset:
    if not isinstance(up, UploadedFile):
        raise invalid_argument("file must be sent as a multipart file part")
    asset = Asset(
        store.new_id(),
        up.filename or "file",
        up.size,
        user_id,
        store.now(),
        content_type=up.content_type,
        path=store_file(store.upload_dir, up),
    )
    store.assets[asset.id] = asset
    return asset


def mutation_root(store: MondayStore) -> dict[str, Any]:
    """The root value of mutation operations."""

    def create_board(
        info: Info,
        board_name: str,
        board_kind: str,
        workspace_id: str | None = None,
        description: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if workspace_id is not None and str(workspace_id) not in store.workspaces:
            raise MondayError("Workspace not found", "InvalidWorkspaceIdException")
        board = new_board(
            store, board_name, board_kind, workspace_id, info.context.user.id, description=description or ""
        )
        return board_view(store, board)

    def update_board(_: Info, board_id: str, board_attribute: str, new_value: str) -> Any:
        board = _board(store, board_id)
        if board_attribute == "name":
            board.name = new_value
        elif board_attribute == "description":
            board.description = new_value
        else:
            raise invalid_argument(f"board_attribute {board_attribute} is not supported here")
        board.updated_at = store.now()
        return {"success": True, "undo_data": None}

    def set_board_state(state: str) -> Any:
        def resolve(_: Info, board_id: str) -> dict[str, Any]:
            board = store.boards.get(str(board_id))
            if board is None or board.state == "deleted":
                raise invalid_board(str(board_id))
            board.state = state
            board.updated_at = store.now()
            return board_view(store, board)

        return resolve

    def create_group(
        _: Info,
        board_id: str,
        group_name: str,
        group_color: str | None = None,
        relative_to: str | None = None,
        position_relative_method: str | None = None,
        **__: Any,
    ) -> dict[str, Any]:
        board = _board(store, board_id)
        groups = board.live_groups()
        # monday puts a new group at the top unless told where (create_group docs)
        position = (groups[0].position - 1.0) if groups else 1.0
        anchor = board.group(relative_to) if relative_to else None
        if relative_to and anchor is None:
            raise not_found("group", relative_to)
        if anchor is not None:
            idx = groups.index(anchor)
            if position_relative_method == "before_at":
                prev = groups[idx - 1].position if idx > 0 else anchor.position - 2.0
                position = (prev + anchor.position) / 2
            else:
                nxt = groups[idx + 1].position if idx + 1 < len(groups) else anchor.position + 2.0
                position = (anchor.position + nxt) / 2
        group = Group(
            f"group_mk{secrets.token_hex(4)}",
            group_name,
            group_color or GROUP_COLORS[len(board.groups) % len(GROUP_COLORS)],
            position,
        )
        board.groups.append(group)
        board.updated_at = store.now()
        return group_view(store, board, group)

    def update_group(_: Info, board_id: str, group_id: str, group_attribute: str, new_value: str) -> dict[str, Any]:
        board = _board(store, board_id)
        group = board.group(group_id)
        if group is None:
            raise not_found("group", group_id)
        if group_attribute == "title":
            group.title = new_value
        elif group_attribute == "color":
            group.color = new_value
        elif group_attribute == "position":
            group.position = float(new_value)
        elif group_attribute in ("relative_position_after", "relative_position_before"):
            # new_value names the group to place this one after (before)
            others = [g for g in board.live_groups() if g.id != group.id]
            anchor = next((g for g in others if g.id == new_value), None)
            if anchor is None:
                raise not_found("group", new_value)
            idx = others.index(anchor)
            if group_attribute == "relative_position_before":
                prev = others[idx - 1].position if idx > 0 else anchor.position - 2.0
                group.position = (prev + anchor.position) / 2
            else:
                nxt = others[idx + 1].position if idx + 1 < len(others) else anchor.position + 2.0
                group.position = (anchor.position + nxt) / 2
        else:
            raise invalid_argument(f"group_attribute {group_attribute} is not supported here")
        return group_view(store, board, group)

    def delete_group(_: Info, board_id: str, group_id: str) -> dict[str, Any]:
        board = _board(store, board_id)
        group = board.group(group_id)
        if group is None:
            raise not_found("group", group_id)
        if len(board.live_groups()) == 1:
            raise MondayError("Cannot delete the last group of the board", "DeleteLastGroupException")
        group.deleted = True
        for item in store.items.values():
            if item.board_id == board.id and item.group_id == group.id:
                item.state = "deleted"
        return group_view(store, board, group)

    def create_column(
        _: Info,
        board_id: str,
        title: str,
        column_type: str,
        id: str | None = None,
        description: str | None = None,
        defaults: Any = None,
        **__: Any,
    ) -> dict[str, Any]:
        from simulators.monday.columns import column_view, parse_json_arg

        board = _board(store, board_id)
        if id is not None and board.column(id) is not None:
            raise MondayError(f"Column id {id} already exists", "ColumnIdAlreadyExists")
        settings = default_settings(column_type)
        extra = parse_json_arg(defaults, "defaults") if defaults else None
        if isinstance(extra, dict):
            settings.update(extra)
        column = Column(id or new_column_id(board, column_type), title, column_type, settings, description)
        board.columns.append(column)
        board.updated_at = store.now()
        return column_view(column)

    def create_item(
        info: Info,
        board_id: str,
        item_name: str,
        group_id: str | None = None,
        column_values: Any = None,
        create_labels_if_missing: bool = False,
        relative_to: str | None = None,
        position_relative_method: str | None = None,
    ) -> dict[str, Any]:
        board = _board(store, board_id)
        _check_name(item_name)
        groups = board.live_groups()
        anchor = _anchor(store, board, relative_to)
        group = board.group(group_id) if group_id else (groups[0] if groups else None)
        if group is None:
            raise MondayError("Group not found", "InvalidGroupIdException", error_data={"group_id": group_id})
        if anchor is not None and anchor.group_id != group.id:
            if group_id:
                raise invalid_argument("relative_to must be an item of the group group_id names")
            group = board.group(anchor.group_id) or group
        now = store.now()
        if anchor is not None:
            position = _relative_position(store, board, anchor, position_relative_method)
        else:  # at the bottom of the group
            position = max((i.position for i in _group_items(store, board, group.id)), default=0.0) + 1.0
        item = Item(store.new_id(), board.id, group.id, item_name, info.context.user.id, now, now, position)
        write_values(store, board, item, column_values, create_labels=create_labels_if_missing)
        store.items[item.id] = item
        board.updated_at = now
        return item_view(store, item)

    def create_subitem(
        info: Info,
        parent_item_id: str,
        item_name: str,
        column_values: Any = None,
        create_labels_if_missing: bool = False,
    ) -> dict[str, Any]:
        parent = _item(store, parent_item_id)
        if parent.parent_id is not None:
            raise invalid_argument("subitems cannot have subitems")
        _check_name(item_name)
        sub_board = _subitems_board(store, store.boards[parent.board_id], info.context.user.id)
        now = store.now()
        item = Item(
            store.new_id(),
            sub_board.id,
            "topics",
            item_name,
            info.context.user.id,
            now,
            now,
            float(len(store.subitems(parent)) + 1),
            parent_id=parent.id,
        )
        write_values(store, sub_board, item, column_values, create_labels=create_labels_if_missing)
        store.items[item.id] = item
        _touch(store, parent)
        return item_view(store, item)

    def change_multiple_column_values(
        _: Info, board_id: str, column_values: Any, item_id: str | None = None, create_labels_if_missing: bool = False
    ) -> dict[str, Any]:
        board = _board(store, board_id)
        item = _item(store, item_id)
        if item.board_id != board.id:
            raise not_found("item", str(item_id))
        write_values(store, board, item, column_values, create_labels=create_labels_if_missing)
        _touch(store, item)
        return item_view(store, item)

    def change_column_value(
        _: Info,
        board_id: str,
        column_id: str,
        value: Any,
        item_id: str | None = None,
        create_labels_if_missing: bool = False,
    ) -> dict[str, Any]:
        from simulators.monday.columns import parse_json_arg

        board = _board(store, board_id)
        item = _item(store, item_id)
        if item.board_id != board.id:
            raise not_found("item", str(item_id))
        write_value(
            store, board, item, column_id, parse_json_arg(value, column_id), create_labels=create_labels_if_missing
        )
        _touch(store, item)
        return item_view(store, item)

    def move_item_to_group(_: Info, group_id: str, item_id: str | None = None) -> dict[str, Any]:
        item = _item(store, item_id)
        board = store.boards[item.board_id]
        if board.group(group_id) is None:
            raise MondayError("Group not found", "InvalidGroupIdException")
        item.group_id = group_id
        _touch(store, item)
        return item_view(store, item)

    def change_item_position(
        _: Info,
        item_id: str,
        relative_to: str | None = None,
        position_relative_method: str | None = None,
        group_id: str | None = None,
        group_top: bool | None = None,
    ) -> dict[str, Any]:
        """Next to another item of the board (``relative_to``, into its group) or at the top
        or bottom of a group (``group_id`` + ``group_top``); the two are mutually exclusive."""
        item = _item(store, item_id)
        if item.parent_id is not None:
            raise invalid_argument("subitems cannot be positioned this way")
        board = store.boards[item.board_id]
        if (relative_to is None) == (group_id is None):
            raise invalid_argument("give either relative_to or group_id")
        if relative_to is not None:
            if group_top is not None:
                raise invalid_argument("group_top is only allowed with group_id")
            anchor = _anchor(store, board, relative_to)
            assert anchor is not None
            if anchor.id == item.id:
                raise invalid_argument("an item cannot be positioned relative to itself")
            item.position = _relative_position(store, board, anchor, position_relative_method, moving=item.id)
            item.group_id = anchor.group_id
        else:
            if position_relative_method is not None:
                raise invalid_argument("position_relative_method is only allowed with relative_to")
            group = board.group(str(group_id))
            if group is None:
                raise MondayError("Group not found", "InvalidGroupIdException", error_data={"group_id": group_id})
            peers = [i.position for i in _group_items(store, board, group.id, without=item.id)]
            item.group_id = group.id
            item.position = (min(peers, default=1.0) - 1.0) if group_top else (max(peers, default=0.0) + 1.0)
        _touch(store, item)
        return item_view(store, item)

    def set_item_state(state: str) -> Any:
        def resolve(_: Info, item_id: str | None = None) -> dict[str, Any]:
            item = _item(store, item_id)
            item.state = state
            _touch(store, item)
            if state == "deleted":
                for sub in store.subitems(item):
                    sub.state = "deleted"
            return item_view(store, item)

        return resolve

    def create_update(
        info: Info,
        body: str,
        item_id: str | None = None,
        parent_id: str | None = None,
        original_creation_date: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if parent_id is not None:
            parent = store.updates.get(str(parent_id))
            if parent is None or parent.deleted:
                raise not_found("update", str(parent_id))
            item_id = parent.item_id
        item = _item(store, item_id)
        if not body.strip():
            raise invalid_argument("body can't be empty")
        now = store.now()
        update = Update(
            store.new_id(),
            item.id,
            body,
            info.context.user.id,
            now,
            now,
            original_creation_date=original_creation_date,
            parent_id=str(parent_id) if parent_id else None,
        )
        store.updates[update.id] = update
        return update_view(store, update)

    def edit_update(_: Info, id: str, body: str) -> dict[str, Any]:
        update = store.updates.get(str(id))
        if update is None or update.deleted:
            raise not_found("update", str(id))
        update.body = body
        update.updated_at = store.now()
        return update_view(store, update)

    def delete_update(_: Info, id: str) -> dict[str, Any]:
        update = store.updates.get(str(id))
        if update is None or update.deleted:
            raise not_found("update", str(id))
        update.deleted = True
        return update_view(store, update)

    def add_file_to_column(info: Info, item_id: str, column_id: str, file: Any) -> dict[str, Any]:
        item = _item(store, item_id)
        board = store.boards[item.board_id]
        column = board.column(column_id)
        if column is None or column.type != "file":
            from simulators.monday.errors import invalid_column

            raise invalid_column(column_id)
        asset = _add_asset(store, info.context.user.id, file)
        asset.item_id, asset.column_id = item.id, column_id
        add_file_entry(store, item, column_id, asset.id, asset.name, info.context.user.id)
        _touch(store, item)
        return asset_view(store, asset)

    def add_file_to_update(info: Info, update_id: str, file: Any) -> dict[str, Any]:
        update = store.updates.get(str(update_id))
        if update is None or update.deleted:
            raise not_found("update", str(update_id))
        asset = _add_asset(store, info.context.user.id, file)
        asset.item_id, asset.update_id = update.item_id, update.id
        update.asset_ids.append(asset.id)
        return asset_view(store, asset)

    def create_or_get_tag(_: Info, tag_name: str | None = None, board_id: str | None = None) -> dict[str, Any] | None:
        if not tag_name or not tag_name.strip():
            raise invalid_argument("tag_name can't be empty")
        tag = next((t for t in store.tags.values() if t.name == tag_name), None)
        if tag is None:
            tag = Tag(store.new_tag_id(), tag_name, TAG_COLORS[len(store.tags) % len(TAG_COLORS)])
            store.tags[tag.id] = tag
        return vars(tag)

    def set_item_description_content(_: Info, item_id: str, markdown: str) -> dict[str, Any]:
        item = _item(store, item_id)
        item.description_md = markdown
        if item.description_doc_id is None:
            item.description_doc_id = store.new_id()
        _touch(store, item)
        blocks = [f"blk{secrets.token_hex(6)}" for para in markdown.split("\n\n") if para.strip()]
        return {"success": True, "block_ids": blocks, "error": None}

    return {
        "create_board": create_board,
        "update_board": update_board,
        "archive_board": set_board_state("archived"),
        "delete_board": set_board_state("deleted"),
        "create_group": create_group,
        "update_group": update_group,
        "delete_group": delete_group,
        "create_column": create_column,
        "create_item": create_item,
        "create_subitem": create_subitem,
        "change_multiple_column_values": change_multiple_column_values,
        "change_column_value": change_column_value,
        "move_item_to_group": move_item_to_group,
        "change_item_position": change_item_position,
        "archive_item": set_item_state("archived"),
        "delete_item": set_item_state("deleted"),
        "create_update": create_update,
        "edit_update": edit_update,
        "delete_update": delete_update,
        "add_file_to_column": add_file_to_column,
        "add_file_to_update": add_file_to_update,
        "create_or_get_tag": create_or_get_tag,
        "set_item_description_content": set_item_description_content,
        "complexity": lambda info: vars(info.context.charge),
    }


__all__ = ["mutation_root", "new_board", "write_value"]
