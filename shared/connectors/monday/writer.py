"""Writes canonical records into monday.com (see ``capabilities.py`` for the adaptations).

Destination ids: a board id (PROJECT), ``<board id>:<group id>`` (SECTION), a tag id
(LABEL), an item id (TASK, subitems too), an update id (COMMENT), ``<item id>:<asset id>``
(ATTACHMENT: an asset does not name its item, and removing a file needs it), or
``link:<update id>`` for a link attachment (a Files column holds no links: the link is
written as an update "Link: [name](url)").

Creates are single mutations where monday allows it, so an answer lost after the write
leaves an item the engine finds again by its marker: ``create_item`` carries the marker in
the ``ferry_marker`` column together with the other values; the description (a separate
document mutation) follows, and ``update`` — which the engine runs after finding a lost
create — writes it again. The one exception is a board's very first subitem: monday creates
the subitems board with it, so its columns exist only afterwards (name first, then values).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from shared.connectors.kit.definitions import define_once
from shared.connectors.kit.markers import find_marker, with_footer
from shared.connectors.kit.subtasks import subtask_without_section
from shared.connectors.monday import operations as ops
from shared.connectors.monday.capabilities import monday_capabilities
from shared.connectors.monday.client import LastGroup, MondayClient
from shared.connectors.monday.mapping import (
    ORDER_COLUMN,
    ROLES,
    Columns,
    comment_body,
    comment_marker,
    section_id,
    split_section,
    task_values,
    unknown_people_note,
)
from shared.connectors.monday.placement import AFTER, BEFORE, GroupOrder, ItemOrder, anchor_for, in_place, put
from shared.contract.connector import Adaptation, DestRefs, Written
from shared.contract.model import (
    Attachment,
    Comment,
    Container,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.text import name_nameless_label, unstack_comment_header
from shared.errors import NotFoundError, SkippableItemError

logger = logging.getLogger(__name__)
#: columns of an item; a subitem has no order column (monday cannot place subitems)
TASK_ROLES = ("people", "status", "date", "tags", "marker", "order")
SUBITEM_ROLES = ("people", "status", "date", "tags", "marker")
#: a link attachment's destination id: the update that names it
LINK_ID = "link:"
LINK_PREFIX = "Link: "
#: the group monday gives a new board (id ``topics``)
DEFAULT_GROUP_TITLE = "Group Title"


class MondayWriter:
    """``DestinationWriter`` over the monday.com GraphQL API."""

    def __init__(self, client: MondayClient) -> None:
        self.client = client
        self.capabilities = monday_capabilities()
        self._columns: dict[str, Columns] = {}
        self._workspaces: set[str] | None = None
        #: source order of groups and items (see placement.py)
        self._groups = GroupOrder()
        self._items = ItemOrder(client)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.client.list_containers()

    # --- boards and their columns ----------------------------------------------------------

    async def _board(self, board_id: str) -> dict[str, Any]:
        rows = (await self.client.run("board", {"ids": [board_id]}))["boards"] or []
        if not rows or rows[0] is None:
            raise NotFoundError(f"monday.com: board {board_id} not found", status=404)
        board: dict[str, Any] = rows[0]
        return board

    async def columns(self, board_id: str, roles: tuple[str, ...], *, fresh: bool = False) -> Columns:
        """The board's columns, with a column created once for each role it lacks."""
        if fresh or board_id not in self._columns:
            self._columns[board_id] = Columns.of((await self._board(board_id))["columns"] or [])
        cols = self._columns[board_id]
        for role in roles:
            if role not in cols.by_role:
                await self._define(board_id, role)
                cols = self._columns[board_id]
        return cols

    async def _define(self, board_id: str, role: str) -> None:
        ctype, cid, title = ROLES[role]

        async def listing(fresh: bool) -> list[str]:
            if fresh:
                self._columns[board_id] = Columns.of((await self._board(board_id))["columns"] or [])
            found = self._columns[board_id].by_role.get(role)
            return [found] if found else []

        async def create() -> str:
            made = (
                await self.client.run(
                    "create_column", {"board": board_id, "id": cid, "title": title, "type": ctype}, mutation=True
                )
            )["create_column"]
            self._columns[board_id] = Columns.of((await self._board(board_id))["columns"] or [])
            return str(made["id"])

        # a fixed column id: a second worker's create is refused, and it takes the first one
        await define_once(
            listing=listing, matches=lambda _: True, create=create, order=lambda c: c, identity=lambda c: c
        )

    async def _workspace(self, wanted: str | None) -> str | None:
        """``refs.workspace`` when it names a workspace (a board id or nothing: none)."""
        if not wanted:
            return None
        if self._workspaces is None:
            found: set[str] = set()
            page = 1
            while True:
                rows = (await self.client.run("workspaces", {"page": page}))["workspaces"] or []
                found |= {str(w["id"]) for w in rows if w and w.get("id")}
                if len(rows) < ops.LIST_PAGE:
                    break
                page += 1
            self._workspaces = found
        return wanted if wanted in self._workspaces else None

    # --- the contract ------------------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """monday-only adaptations (pure): a subitem has no group of its own; a tag needs a
        name (a colour-only label is named after its colour); a comment Ferry moved before
        keeps its first author header only."""
        if isinstance(record, Task):
            return subtask_without_section(record, "monday.com")
        if isinstance(record, Label):
            return name_nameless_label(record)
        if isinstance(record, Comment):
            return unstack_comment_header(record), []
        return record, []

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        if isinstance(record, Project):
            data = await self.client.run(
                "create_board",
                {
                    "name": record.name,
                    "ws": await self._workspace(refs.workspace),
                    "desc": with_footer(record.description, marker),
                },
                mutation=True,
            )
            return str(data["create_board"]["id"])
        if isinstance(record, Section):
            board = _need(refs.project, "project")
            group = await self._create_group(board, record)
            await self._drop_default_group(board)
            return section_id(board, group)
        if isinstance(record, Label):
            return await self._tag(record)
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            data = await self.client.run(
                "create_update",
                {
                    "item": _need(refs.task, "task"),
                    "body": comment_body(record.text, marker),
                    "when": _iso(record.created_at),
                },
                mutation=True,
            )
            return str(data["create_update"]["id"])
        raise SkippableItemError(f"monday.com cannot create {kind} this way", status=400)

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        if isinstance(record, Project):
            await self.client.run(
                "update_board",
                {"id": dest_id, "name": record.name, "desc": with_footer(record.description, marker)},
                mutation=True,
            )
            return None
        if isinstance(record, Section):
            board, group = split_section(dest_id)
            await self.client.run("rename_group", {"board": board, "group": group, "title": record.name}, mutation=True)
            await self._keep_group_in_place(board, group, record.position)
            return None
        if isinstance(record, Label):
            # monday has no tag rename: the label is the tag of the new name
            return await self._tag(record)
        if isinstance(record, Task):
            return await self._update_task(dest_id, record, refs, marker)
        if isinstance(record, Comment):
            await self.client.run(
                "edit_update", {"id": dest_id, "body": comment_body(record.text, marker)}, mutation=True
            )
            return None
        raise SkippableItemError(f"monday.com cannot update {kind}", status=400)

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            return await self._find_board(marker, await self._workspace(refs.workspace))
        if kind is Kind.SECTION and refs.project:
            board = await self._board(refs.project)
            name = getattr(record, "name", "")
            for group in board["groups"] or []:
                if group["title"] == name:
                    if isinstance(record, Section):  # its place is known from now on
                        self._groups.known[refs.project].setdefault(str(group["id"]), record.position)
                    return section_id(refs.project, str(group["id"]))
            return None
        if kind is Kind.LABEL:
            name = getattr(record, "name", "")
            tags = (await self.client.run("tags"))["tags"] or []
            return next((str(t["id"]) for t in tags if t["name"] == name), None)
        if kind is Kind.TASK and refs.project:
            return await self._find_item(marker, refs)
        if kind is Kind.COMMENT and refs.task:
            return await self._find_update(marker, refs.task)
        if kind is Kind.ATTACHMENT and refs.task and isinstance(record, Attachment):
            if record.is_link:
                found = await self._find_update(marker, refs.task)
                return f"{LINK_ID}{found}" if found else None
            return await self._find_file(record, refs.task)
        return None

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent: something already gone is deleted."""
        try:
            if kind is Kind.PROJECT:
                await self.client.run("delete_board", {"id": dest_id}, mutation=True)
            elif kind is Kind.SECTION:
                board, group = split_section(dest_id)
                try:
                    await self.client.run("delete_group", {"board": board, "group": group}, mutation=True)
                except LastGroup:
                    # monday keeps one group per board; it goes with the board (rollback
                    # deletes the project after its sections)
                    logger.info("monday.com: group %s is the last of board %s; kept", group, board)
            elif kind is Kind.TASK:
                await self.client.run("delete_item", {"item": dest_id}, mutation=True)
            elif kind is Kind.COMMENT:
                await self.client.run("delete_update", {"id": dest_id}, mutation=True)
            elif kind is Kind.ATTACHMENT and dest_id.startswith(LINK_ID):
                await self.client.run("delete_update", {"id": dest_id[len(LINK_ID) :]}, mutation=True)
            elif kind is Kind.ATTACHMENT:
                await self._delete_file(dest_id)
            # LABEL: monday has no mutation that deletes an account tag; it stays.
        except NotFoundError:
            return

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str | Written:
        item = _need(refs.task, "task")
        if record.is_link or chunks is None:
            return await self._link_update(record, item, marker)
        board = await self._item_board(item)
        cols = await self.columns(board, ("file",))
        data = await self.client.upload(
            "add_file",
            {"item": item, "column": cols.by_role["file"]},
            filename=record.name,
            content_type=record.mime_type or "application/octet-stream",
            chunks=chunks,
        )
        return f"{item}:{data['add_file_to_column']['id']}"

    async def _tag(self, label: Label) -> Written:
        """The account tag of the label's name (``create_or_get_tag`` is idempotent). monday
        gives a tag its own colour and has no argument or mutation to choose one, so a label
        whose colour is not the tag's is reported (``label.color_assigned``)."""
        tag = (await self.client.run("create_tag", {"name": label.name}, mutation=True))["create_or_get_tag"]
        if tag.get("color") == label.color:
            return Written(dest_id=str(tag["id"]))
        note = Adaptation(
            kind=Kind.LABEL,
            code="label.color_assigned",
            message="monday.com gives a tag its own colour; the label's colour is not kept",
            loss=label.color is not None,
        )
        return Written(dest_id=str(tag["id"]), notes=(note,))

    async def _link_update(self, record: Attachment, item: str, marker: str) -> Written:
        """A Files column holds no links: a link attachment becomes an update naming it."""
        if not record.url:
            raise SkippableItemError("a link attachment without a URL", status=400)
        text = f"{LINK_PREFIX}[{record.name or record.url}]({record.url})"
        data = await self.client.run(
            "create_update",
            {"item": item, "body": comment_body(text, marker), "when": _iso(record.created_at)},
            mutation=True,
        )
        note = Adaptation(
            kind=Kind.ATTACHMENT,
            code="attachment.link_as_update",
            message="a link attachment is written as an update with the link",
        )
        return Written(dest_id=f"{LINK_ID}{data['create_update']['id']}", notes=(note,))

    # --- tasks --------------------------------------------------------------------------------

    async def _people(self, task: Task) -> tuple[list[str], list[UserRef]]:
        emails = [u.email for u in task.assignees if u.email]
        ids = await self.client.user_ids([e for e in emails if e])
        known = [uid for e in emails if (uid := ids.get(e.lower()))]
        unknown = [u for u in task.assignees if not (u.email and ids.get(u.email.lower()))]
        return known, unknown

    async def _prepare(
        self, task: Task, refs: DestRefs, cols: Columns, marker: str | None, *, clear: bool
    ) -> tuple[dict[str, Any], str, list[Adaptation]]:
        """Column values, the description markdown and the notes of a task write."""
        people, unknown = await self._people(task)
        notes: list[Adaptation] = []
        description = task.description
        if unknown:
            description = (description + unknown_people_note(unknown)).lstrip()
            notes.append(
                Adaptation(
                    kind=Kind.TASK,
                    code="task.assignee_not_in_account",
                    message="assignees without a monday.com account are named in the description",
                )
            )
        tag_ids = [refs.labels[ref.source_id] for ref in task.labels if ref.source_id in refs.labels]
        values = task_values(
            task, cols, people=people, tag_ids=tag_ids, marker=marker, clear=clear, ordered=ORDER_COLUMN in cols.titles
        )
        return values, description, notes

    async def _create_task(self, task: Task, refs: DestRefs, marker: str) -> Written:
        notes: list[Adaptation] = []
        if refs.parent_task:
            parent, lifted = await self._top_parent(refs.parent_task)
            if lifted:
                notes.append(
                    Adaptation(
                        kind=Kind.TASK,
                        code="task.subtask_lifted",
                        message="monday.com subitems have no subitems: written under the top-level item",
                    )
                )
            return await self._create_subitem(task, refs, parent, marker, notes)
        board = _need(refs.project, "project")
        cols = await self.columns(board, TASK_ROLES)
        values, description, more = await self._prepare(task, refs, cols, marker, clear=False)
        group = split_section(refs.section)[1] if refs.section else None
        variables: dict[str, Any] = {"board": board, "group": group, "name": task.name, "values": json.dumps(values)}
        if group is None:  # monday's first group; no order to keep
            item = str((await self.client.run("create_item", variables, mutation=True))["create_item"]["id"])
        else:
            item = await self._create_placed(board, group, task.position, variables, _siblings(refs))
        await self._describe(item, description)
        return Written(dest_id=item, notes=tuple(notes + more))

    async def _create_subitem(
        self, task: Task, refs: DestRefs, parent: str, marker: str, notes: list[Adaptation]
    ) -> Written:
        board = _need(refs.project, "project")
        sub_board = (await self.columns(board, (), fresh=True)).subitems_board
        if sub_board is not None:
            cols = await self.columns(sub_board, SUBITEM_ROLES)
            values, description, more = await self._prepare(task, refs, cols, marker, clear=False)
            data = await self.client.run(
                "create_subitem", {"parent": parent, "name": task.name, "values": json.dumps(values)}, mutation=True
            )
            item = str(data["create_subitem"]["id"])
        else:  # the board's first subitem creates the subitems board
            data = await self.client.run("create_subitem", {"parent": parent, "name": task.name}, mutation=True)
            item = str(data["create_subitem"]["id"])
            sub_board = str(data["create_subitem"]["board"]["id"])
            cols = await self.columns(sub_board, SUBITEM_ROLES)
            values, description, more = await self._prepare(task, refs, cols, marker, clear=False)
            await self.client.run(
                "change_values", {"board": sub_board, "item": item, "values": json.dumps(values)}, mutation=True
            )
        await self._describe(item, description)
        return Written(dest_id=item, notes=tuple(notes + more))

    async def _update_task(self, dest_id: str, task: Task, refs: DestRefs, marker: str) -> Written:
        meta = await self._item_meta(dest_id)
        board = str(meta["board"]["id"])
        top = not meta.get("parent_item")
        cols = await self.columns(board, TASK_ROLES if top else SUBITEM_ROLES)
        values, description, notes = await self._prepare(task, refs, cols, marker, clear=True)
        values["name"] = task.name
        await self.client.run(
            "change_values", {"board": board, "item": dest_id, "values": json.dumps(values)}, mutation=True
        )
        if refs.section and top:
            group = split_section(refs.section)[1]
            now = str((meta.get("group") or {}).get("id") or "")
            if now != group:
                self._items.forget(board, now)
                self._items.forget(board, group)
                await self.client.run("move_item", {"item": dest_id, "group": group}, mutation=True)
            if now != group or refs.reposition:
                # an edit in place leaves the item where it is: listing its group to check
                # would cost a listing per group and writer (and per item written before
                # ferry_order existed, which no listing holds)
                await self._keep_item_in_place(board, group, dest_id, task.position, _siblings(refs))
        await self._describe(dest_id, description, always=True)
        return Written(dest_id=dest_id, notes=tuple(notes))

    async def _describe(self, item: str, markdown: str, *, always: bool = False) -> None:
        if markdown or always:
            await self.client.run("set_description", {"item": item, "md": markdown}, mutation=True)

    async def _item_meta(self, item: str) -> dict[str, Any]:
        rows = (await self.client.run("item_meta", {"ids": [item]}))["items"] or []
        if not rows or rows[0] is None:
            raise NotFoundError(f"monday.com: item {item} not found", status=404)
        meta: dict[str, Any] = rows[0]
        return meta

    async def _item_board(self, item: str) -> str:
        return str((await self._item_meta(item))["board"]["id"])

    async def _top_parent(self, item: str) -> tuple[str, bool]:
        meta = await self._item_meta(item)
        parent = meta.get("parent_item")
        return (str(parent["id"]), True) if parent else (item, False)

    async def _drop_default_group(self, board: str) -> None:
        """A board made by ``create_board`` starts with monday's group "Group Title" (id
        ``topics``); once a migrated section exists, that group — still empty — goes, or
        verify would find a section no source has."""
        rows = (await self.client.run("default_group", {"ids": [board]}))["boards"] or []
        groups = (rows[0].get("groups") or []) if rows and rows[0] else []
        for group in groups:
            if group and group["title"] == DEFAULT_GROUP_TITLE and not group["items_page"]["items"]:
                try:
                    await self.client.run("delete_group", {"board": board, "group": group["id"]}, mutation=True)
                except NotFoundError:
                    pass

    # --- source order (placement.py) ------------------------------------------------------

    async def _groups_in_order(self, board: str) -> list[str]:
        groups = sorted((await self._board(board))["groups"] or [], key=lambda g: float(g["position"]))
        return [str(g["id"]) for g in groups]

    async def _create_group(self, board: str, section: Section) -> str:
        """A group before the nearest known group that comes later in the source, else after
        the board's last group."""
        async with self._groups.lock(board):
            groups = await self._groups_in_order(board)
            later = [(g, p) for g, p in self._groups.on_board(board, groups) if p > section.position]
            anchor = anchor_for(section.position, later) if later else None
            if anchor is None and groups:
                anchor = (groups[-1], AFTER)
            variables = {"board": board, "name": section.name, "anchor": None, "method": None}
            if anchor is not None:
                variables.update(anchor=anchor[0], method=anchor[1])
            data = await self.client.run("create_group", variables, mutation=True)
            group = str(data["create_group"]["id"])
            self._groups.known[board][group] = section.position
            return group

    async def _keep_group_in_place(self, board: str, group: str, position: float) -> None:
        """Move a group among the groups whose source place this writer knows, if it is not
        between them where the source has it (a group whose create answer was lost may have
        been passed by another section's create)."""
        async with self._groups.lock(board):
            self._groups.known[board][group] = position
            placed = self._groups.on_board(board, await self._groups_in_order(board))
            if in_place(group, placed):
                return
            anchor = anchor_for(position, [p for p in placed if p[0] != group])
            if anchor is None:
                return
            how = "relative_position_before" if anchor[1] == BEFORE else "relative_position_after"
            await self.client.run(
                "place_group", {"board": board, "group": group, "how": how, "anchor": anchor[0]}, mutation=True
            )

    async def _create_placed(
        self, board: str, group: str, position: float, variables: dict[str, Any], siblings: Sequence[str]
    ) -> str:
        """``create_item`` next to the item that keeps the source order (placement.py)."""
        async with self._items.lock(board, group):
            for attempt in (1, 2):
                placed = await self._items.listing(board, group, fresh=attempt == 2, siblings=siblings)
                anchor = anchor_for(position, placed)
                variables.update(anchor=anchor[0] if anchor else None, method=anchor[1] if anchor else None)
                try:
                    data = await self.client.run("create_item", variables, mutation=True)
                except NotFoundError:
                    self._items.forget(board, group)
                    if anchor is None or attempt == 2:
                        raise
                    continue  # the anchor went meanwhile: list the group again
                except BaseException:
                    self._items.forget(board, group)  # it may have been created: list again
                    raise
                item = str(data["create_item"]["id"])
                put(placed, item, position, anchor)
                return item
        raise AssertionError("unreachable")

    async def _keep_item_in_place(
        self, board: str, group: str, item: str, position: float, siblings: Sequence[str]
    ) -> None:
        """Move an item to its source place in its group if it is not there (found after a
        lost create answer, moved to another group, or moved at the source)."""
        async with self._items.lock(board, group):
            placed = await self._items.listing(board, group, siblings=siblings)
            if not any(pid == item for pid, _ in placed):
                placed = await self._items.listing(board, group, fresh=True)
            if not any(pid == item for pid, _ in placed):
                return  # no order value (written before it was kept): nothing to go by
            placed[:] = [(pid, position if pid == item else pos) for pid, pos in placed]
            if in_place(item, placed):
                return
            anchor = anchor_for(position, [p for p in placed if p[0] != item])
            if anchor is None:
                return
            try:
                await self.client.run(
                    "place_item", {"item": item, "anchor": anchor[0], "method": anchor[1]}, mutation=True
                )
            except BaseException:
                self._items.forget(board, group)
                raise
            put(placed, item, position, anchor)

    # --- finding ----------------------------------------------------------------------------

    async def _find_board(self, marker: str, workspace: str | None) -> str | None:
        page = 1
        while True:
            rows = (
                await self.client.run("boards_described", {"page": page, "ws": [workspace] if workspace else None})
            )["boards"] or []
            for row in rows:
                if row and find_marker(row.get("description")) == marker:
                    return str(row["id"])
            if len(rows) < ops.LIST_PAGE:
                return None
            page += 1

    async def _find_item(self, marker: str, refs: DestRefs) -> str | None:
        board = _need(refs.project, "project")
        boards = [board]
        if refs.parent_task:
            sub = (await self.columns(board, (), fresh=True)).subitems_board
            boards = [sub] if sub else []
        for target in boards:
            cols = await self.columns(target, ())
            if "marker" not in cols.by_role:
                continue
            data = await self.client.run(
                "find_items", {"board": target, "column": cols.by_role["marker"], "values": [marker]}
            )
            live = [
                i for i in data["items_page_by_column_values"]["items"] or [] if i.get("state", "active") != "deleted"
            ]
            if live:
                return str(min(live, key=lambda i: int(i["id"]))["id"])
        return None

    async def _find_update(self, marker: str, item: str) -> str | None:
        page = 1
        while True:
            rows = (await self.client.run("item_update_bodies", {"ids": [item], "page": page}))["items"] or []
            updates = (rows[0].get("updates") or []) if rows and rows[0] else []
            for update in updates:
                if comment_marker(update["body"]) == marker:
                    return str(update["id"])
            if len(updates) < ops.UPDATES_PAGE:
                return None
            page += 1

    async def _find_file(self, record: Attachment, item: str) -> str | None:
        rows = (await self.client.run("item_assets", {"ids": [item]}))["items"] or []
        assets = (rows[0].get("assets") or []) if rows and rows[0] else []
        for asset in assets:
            if asset["name"] == record.name and (record.size is None or int(asset["file_size"]) == record.size):
                return f"{item}:{asset['id']}"
        return None

    async def _delete_file(self, dest_id: str) -> None:
        """monday has no mutation removing one file: a file alone in its column goes by
        clearing the column (``{"clear_all": true}``); one among others stays, logged (see
        the README)."""
        item, _, asset = dest_id.partition(":")
        rows = (await self.client.run("item_assets", {"ids": [item]}))["items"] or []
        if not rows or rows[0] is None:
            return
        for cv in rows[0].get("column_values") or []:
            if cv.get("type") != "file" or not cv.get("value"):
                continue
            files = json.loads(cv["value"]).get("files") or []
            if not any(str(f.get("assetId")) == asset for f in files):
                continue
            if len(files) > 1:
                logger.warning("monday.com: file %s shares its column with others; it stays", asset)
                return
            board = await self._item_board(item)
            await self.client.run(
                "clear_files",
                {"board": board, "item": item, "column": cv["id"], "value": json.dumps({"clear_all": True})},
                mutation=True,
            )
            return


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SkippableItemError(f"monday.com: the {what} of this item is not known", status=400)
    return value


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _siblings(refs: DestRefs) -> list[str]:
    """The destination ids of the engine's placement siblings (``DestRefs.after``/``before``):
    items another writer may have put into the group since this one listed it."""
    return [sib.dest_id for sib in (refs.after, refs.before) if sib is not None]
