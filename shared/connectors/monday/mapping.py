"""Pure conversions between monday.com's GraphQL objects and Ferry's canonical records.

Group ids are unique only within a board (every board has a ``topics`` group), so a
section's id — source and destination — is ``<board id>:<group id>``. Column values are
read by column *type* (the first People, Status, Date and Tags column of the board); other
status and text columns become custom field values; the ``ferry_marker`` column is Ferry's.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from shared.connectors.kit.markers import find_marker, without_footer
from shared.connectors.monday.richtext import html_to_text, text_to_html
from shared.contract.model import (
    Attachment,
    Comment,
    CustomFieldType,
    CustomFieldValue,
    Label,
    LabelRef,
    Project,
    Record,
    Section,
    Task,
    UserRef,
    content_version,
)

MARKER_COLUMN = "ferry_marker"
MARKER_TITLE = "Ferry marker"
#: the text column holding a top-level item's source position (see placement.py)
ORDER_COLUMN = "ferry_order"
ORDER_TITLE = "Ferry order"
DONE_LABEL = "Done"
#: the column types Ferry writes, by role, and the id/title it gives a column it creates
ROLES: dict[str, tuple[str, str, str]] = {
    "people": ("people", "ferry_people", "Owner"),
    "status": ("status", "ferry_status", "Status"),
    "date": ("date", "ferry_date", "Due date"),
    "tags": ("tags", "ferry_tags", "Tags"),
    "file": ("file", "ferry_files", "Files"),
    "marker": ("text", MARKER_COLUMN, MARKER_TITLE),
    "order": ("text", ORDER_COLUMN, ORDER_TITLE),
}
#: Ferry's own columns, found by their fixed id only (never a board's other text column)
FIXED = {MARKER_COLUMN: "marker", ORDER_COLUMN: "order"}

Users = Mapping[str, UserRef]


def section_id(board_id: str, group_id: str) -> str:
    return f"{board_id}:{group_id}"


def split_section(value: str) -> tuple[str, str]:
    board, _, group = value.partition(":")
    return board, group


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Columns:
    """A board's columns by role: the first column of each type Ferry reads and writes."""

    by_role: Mapping[str, str]
    titles: Mapping[str, str]
    types: Mapping[str, str]
    subitems_board: str | None = None

    @classmethod
    def of(cls, columns: Iterable[Mapping[str, Any]]) -> Columns:
        by_role: dict[str, str] = {}
        titles: dict[str, str] = {}
        types: dict[str, str] = {}
        sub_board = None
        for col in columns:
            cid, ctype = str(col["id"]), str(col["type"])
            titles[cid], types[cid] = str(col.get("title") or cid), ctype
            if cid in FIXED:
                by_role[FIXED[cid]] = cid
                continue
            for role, (wanted, _, _) in ROLES.items():
                if role not in FIXED.values() and ctype == wanted and role not in by_role:
                    by_role[role] = cid
            if ctype == "subtasks":
                try:
                    ids = json.loads(col.get("settings_str") or "{}").get("boardIds") or []
                except ValueError:
                    ids = []
                sub_board = str(ids[0]) if ids else None
        return cls(by_role, titles, types, sub_board)


# --- reading --------------------------------------------------------------------------------


def user_ref(raw: Mapping[str, Any] | None) -> UserRef | None:
    if not raw:
        return None
    return UserRef(
        email=raw.get("email"), display_name=raw.get("name"), source_id=str(raw["id"]) if raw.get("id") else None
    )


def board_to_project(board: Mapping[str, Any]) -> Project:
    rec = Project(
        source_id=str(board["id"]),
        version="-",
        name=board["name"],
        description=without_footer(board.get("description") or ""),
        workspace_id=str(board["workspace_id"]) if board.get("workspace_id") else None,
        archived=board.get("state") == "archived",
        created_at=parse_time(board.get("created_at")),
    )
    return _versioned(rec)


def group_to_section(board_id: str, group: Mapping[str, Any], position: int) -> Section:
    return _versioned(
        Section(
            source_id=section_id(board_id, str(group["id"])),
            version="-",
            project_id=board_id,
            name=group["title"],
            position=float(position),
            archived=bool(group.get("archived")),
        )
    )


def tag_to_label(tag: Mapping[str, Any], board_id: str) -> Label:
    return _versioned(
        Label(source_id=str(tag["id"]), version="-", project_id=board_id, name=tag["name"], color=tag.get("color"))
    )


def item_to_task(
    item: Mapping[str, Any],
    board_id: str,
    columns: Columns,
    users: Users,
    tags: Mapping[str, str],
    *,
    description: str,
    position: int,
    parent_id: str | None = None,
) -> Task:
    """An item (or, with ``parent_id``, a subitem) as a task."""
    values = {str(cv["id"]): cv for cv in item.get("column_values") or []}
    role = columns.by_role
    completed = False
    due_on: date | None = None
    due_at: datetime | None = None
    assignees: list[UserRef] = []
    labels: list[LabelRef] = []
    custom: list[CustomFieldValue] = []
    status = values.get(role.get("status", ""))
    if status is not None:
        completed = bool(status.get("is_done"))
    when = values.get(role.get("date", ""))
    if when is not None and when.get("date"):
        due_on = date.fromisoformat(when["date"])
        if when.get("time"):
            due_at = datetime.fromisoformat(f"{when['date']}T{when['time']}").replace(tzinfo=UTC)
    people = values.get(role.get("people", ""))
    for person in (people or {}).get("persons_and_teams") or []:
        pid = str(person["id"])
        if person.get("kind", "person") == "person":
            assignees.append(users.get(pid) or UserRef(source_id=pid))
    tagv = values.get(role.get("tags", ""))
    for tid in (tagv or {}).get("tag_ids") or []:
        labels.append(LabelRef(source_id=str(tid), name=tags.get(str(tid), str(tid))))
    for cid, cv in values.items():
        if cid in (role.get("people"), role.get("date"), role.get("tags"), MARKER_COLUMN, ORDER_COLUMN):
            continue
        ctype = columns.types.get(cid, cv.get("type"))
        if ctype == "status" and cv.get("label"):
            custom.append(
                CustomFieldValue(name=columns.titles.get(cid, cid), type=CustomFieldType.ENUM, value=cv["label"])
            )
        elif ctype in ("text", "long_text") and cv.get("text"):
            custom.append(CustomFieldValue(name=columns.titles.get(cid, cid), value=cv["text"]))
    creator = users.get(str(item.get("creator_id") or ""))
    group = (item.get("group") or {}).get("id")
    task = Task(
        source_id=str(item["id"]),
        version="-",
        project_id=board_id,
        section_id=section_id(board_id, str(group)) if group and parent_id is None else None,
        parent_id=parent_id,
        name=item["name"],
        description=description,
        completed=completed,
        due_on=due_on,
        due_at=due_at,
        assignees=tuple(assignees),
        labels=tuple(labels),
        custom_fields=tuple(custom),
        position=float(position),
        created_at=parse_time(item.get("created_at")),
        created_by=creator,
        archived=item.get("state") == "archived",
    )
    return _versioned(task)


def update_to_comment(update: Mapping[str, Any], board_id: str, item_id: str) -> Comment:
    original = parse_time(update.get("original_creation_date"))
    return _versioned(
        Comment(
            source_id=str(update["id"]),
            version="-",
            project_id=board_id,
            task_id=item_id,
            text=without_footer(html_to_text(update["body"])),
            author=user_ref(update.get("creator")),
            created_at=original or parse_time(update.get("created_at")),
        )
    )


def asset_to_attachment(asset: Mapping[str, Any], board_id: str, item_id: str) -> Attachment:
    name = str(asset["name"])
    return _versioned(
        Attachment(
            source_id=str(asset["id"]),
            version="-",
            project_id=board_id,
            task_id=item_id,
            name=name,
            size=int(asset["file_size"]),
            mime_type=mimetypes.guess_type(name)[0],
            created_at=parse_time(asset.get("created_at")),
            author=user_ref(asset.get("uploaded_by")),
        )
    )


R = TypeVar("R", bound=Record)


def _versioned(record: R) -> R:
    """monday's ``updated_at`` does not move for every change Ferry reads (descriptions,
    column titles): the version is a hash of the record as read."""
    payload = record.model_dump(mode="json", exclude={"version"})
    return record.model_copy(update={"version": content_version(payload)})


# --- writing --------------------------------------------------------------------------------


def date_value(task: Task) -> dict[str, str] | None:
    if task.due_at is not None:
        at = task.due_at.astimezone(UTC)
        return {"date": at.date().isoformat(), "time": at.strftime("%H:%M:%S")}
    if task.due_on is not None:
        return {"date": task.due_on.isoformat()}
    return None


def order_text(position: float) -> str:
    """A source position as the ``ferry_order`` column holds it (``repr``: exact both ways)."""
    return repr(float(position))


def parse_order(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def task_values(
    task: Task,
    columns: Columns,
    *,
    people: list[str],
    tag_ids: list[str],
    marker: str | None,
    clear: bool,
    ordered: bool = False,
) -> dict[str, Any]:
    """``column_values`` for a task; ``clear`` (an update) empties what the task lacks;
    ``ordered`` (a top-level item in a group) writes its source position too."""
    role = columns.by_role
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in role and (value is not None or clear):
            out[role[name]] = value if value is not None else {}

    put("people", {"personsAndTeams": [{"id": int(p), "kind": "person"} for p in people]} if people else None)
    put("status", {"label": DONE_LABEL} if task.completed else None)
    put("date", date_value(task))
    put("tags", {"tag_ids": [int(t) for t in tag_ids]} if tag_ids else None)
    if marker is not None and "marker" in role:
        out[role["marker"]] = marker
    if ordered and "order" in role:
        out[role["order"]] = order_text(task.position)
    return out


def comment_body(text: str, marker: str) -> str:
    """The update's HTML with the marker as a last paragraph."""
    return text_to_html(text) + f"<p>[{marker}]</p>"


def comment_marker(body: str) -> str | None:
    return find_marker(html_to_text(body))


def unknown_people_note(people: Iterable[UserRef]) -> str:
    names = ", ".join(p.label() for p in people)
    return f"\n\nAssignees (not in monday.com): {names}"
