"""Column values: what ``create_item``/``change_multiple_column_values`` accept and how
``column_values`` renders them (https://developer.monday.com/api-reference/reference/column-types-reference).

Written values come as JSON (a JSON-encoded string or an object): status ``{"label": …}`` or
``{"index": n}`` (or a bare label), people ``{"personsAndTeams": [{"id", "kind"}]}`` (or
``"id, id"``), date ``{"date": "YYYY-MM-DD", "time": "HH:MM:SS"}`` (or ``"YYYY-MM-DD[ HH:MM:SS]"``),
text a string, tags ``{"tag_ids": [..]}``; ``null``, ``""`` or ``{}`` clears a column.
The file column is written only by ``add_file_to_column`` (``{"clear_all": true}`` empties
it). Stored values keep monday's ``value`` shapes (``index``/``changed_at``, ``personsAndTeams``,
``date``/``time``, ``tag_ids``, ``files``); ``text`` is derived on read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simulators.monday.errors import column_value_error
from simulators.monday.store import Board, Column, Item, MondayStore, iso

DEFAULT_STATUS_LABELS = {"0": "Working on it", "1": "Done", "2": "Stuck", "5": ""}
DEFAULT_STATUS_COLORS = {"0": "#fdab3d", "1": "#00c875", "2": "#df2f4a", "5": "#c4c4c4"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")
TYPENAMES = {
    "status": "StatusValue",
    "people": "PeopleValue",
    "date": "DateValue",
    "text": "TextValue",
    "tags": "TagsValue",
    "file": "FileValue",
    "long_text": "LongTextValue",
    "checkbox": "CheckboxValue",
    "subtasks": "SubtasksValue",
}


def default_settings(column_type: str) -> dict[str, Any]:
    if column_type == "status":
        return {"labels": dict(DEFAULT_STATUS_LABELS), "labels_colors": dict(DEFAULT_STATUS_COLORS), "done_colors": [1]}
    return {}


def parse_json_arg(raw: Any, what: str) -> Any:
    """A ``JSON`` argument: monday clients send a JSON-encoded string or an object."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise column_value_error(f"invalid JSON in {what}: {exc.msg}", what) from exc
    return raw


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {}


def _status(store: MondayStore, column: Column, value: Any, create_labels: bool) -> dict[str, Any]:
    labels: dict[str, str] = column.settings.setdefault("labels", {})
    if isinstance(value, str):
        value = {"label": value}
    if not isinstance(value, dict):
        raise column_value_error('status values are {"label": …} or {"index": n}', column.id)
    if "index" in value:
        key = str(value["index"])
        if key not in labels:
            raise column_value_error(f"This status label index doesn't exist: {key}", column.id)
    elif "label" in value:
        label = str(value["label"])
        key = next((k for k, v in labels.items() if v == label and v), "")
        if not key:
            if not create_labels:
                raise column_value_error(
                    f"This status label doesn't exist, possible statuses are: "
                    f"{', '.join(v for v in labels.values() if v)}",
                    column.id,
                )
            key = str(max([int(k) for k in labels] + [0]) + 1)
            if key == "5":  # index 5 is the empty label
                key = "6"
            labels[key] = label
    else:
        raise column_value_error("status values need a label or an index", column.id)
    return {"index": int(key), "post_id": None, "changed_at": iso(store.now())}


def _people(store: MondayStore, column: Column, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"personsAndTeams": [{"id": int(v), "kind": "person"} for v in value.split(",") if v.strip()]}
    people = value.get("personsAndTeams") if isinstance(value, dict) else None
    if not isinstance(people, list):
        raise column_value_error('people values are {"personsAndTeams": [...]}', column.id)
    out = []
    for person in people:
        pid = str(person.get("id")) if isinstance(person, dict) else ""
        if person.get("kind", "person") == "person" and pid not in store.users:
            raise column_value_error(f"User {pid} was not found", column.id)
        out.append({"id": int(pid), "kind": person.get("kind", "person")})
    return {"personsAndTeams": out, "changed_at": iso(store.now())}


def _date(store: MondayStore, column: Column, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        day, _, time = value.partition(" ")
        value = {"date": day, "time": time or None}
    if not isinstance(value, dict) or not _DATE.fullmatch(str(value.get("date", ""))):
        raise column_value_error('date values are {"date": "YYYY-MM-DD"}', column.id)
    time = value.get("time")
    if time and not _TIME.fullmatch(str(time)):
        raise column_value_error(f"invalid time {time!r}", column.id)
    if time and len(time) == 5:
        time += ":00"
    return {"date": value["date"], "time": time or None, "changed_at": iso(store.now())}


def _tags(store: MondayStore, column: Column, value: Any) -> dict[str, Any]:
    ids = value.get("tag_ids") if isinstance(value, dict) else None
    if not isinstance(ids, list):
        raise column_value_error('tags values are {"tag_ids": [...]}', column.id)
    for tid in ids:
        if int(tid) not in store.tags:
            raise column_value_error(f"Tag {tid} does not exist", column.id)
    return {"tag_ids": [int(t) for t in ids]}


def write_value(
    store: MondayStore, board: Board, item: Item, column_id: str, value: Any, *, create_labels: bool = False
) -> None:
    """Apply one written column value to ``item`` (``name`` renames it)."""
    if column_id == "name":
        if not isinstance(value, str) or not value.strip():
            raise column_value_error("item name can't be empty", column_id)
        item.name = value
        return
    column = board.column(column_id)
    if column is None:
        from simulators.monday.errors import invalid_column

        raise invalid_column(column_id)
    if column.type == "file":
        if isinstance(value, dict) and value.get("clear_all"):
            item.values.pop(column_id, None)
            return
        raise column_value_error("files are added with add_file_to_column", column_id)
    if _empty(value):
        item.values.pop(column_id, None)
        return
    if column.type == "status":
        item.values[column_id] = _status(store, column, value, create_labels)
    elif column.type == "people":
        item.values[column_id] = _people(store, column, value)
    elif column.type == "date":
        item.values[column_id] = _date(store, column, value)
    elif column.type == "tags":
        item.values[column_id] = _tags(store, column, value)
    elif column.type in ("text", "long_text"):
        text = value.get("text") if isinstance(value, dict) else value
        if not isinstance(text, str):
            raise column_value_error("text values are strings", column_id)
        item.values[column_id] = text
    else:
        item.values[column_id] = value


def write_values(store: MondayStore, board: Board, item: Item, values: Any, *, create_labels: bool = False) -> None:
    """Apply a ``column_values`` JSON object (all columns checked before any is written)."""
    parsed = parse_json_arg(values, "column_values")
    if parsed is None:
        return
    if not isinstance(parsed, dict):
        raise column_value_error("column_values must be a JSON object", "column_values")
    for column_id in parsed:
        if column_id != "name" and board.column(column_id) is None:
            from simulators.monday.errors import invalid_column

            raise invalid_column(column_id)
    for column_id, value in parsed.items():
        write_value(store, board, item, column_id, value, create_labels=create_labels)


# -- rendering -----------------------------------------------------------------------------


def column_view(column: Column) -> dict[str, Any]:
    settings = column.settings or {}
    return {
        "id": column.id,
        "title": column.title,
        "type": column.type,
        "description": column.description,
        "archived": column.archived,
        "width": None,
        "settings": settings,
        "settings_str": json.dumps(settings),
        "revision": "1",
    }


def _text(store: MondayStore, column: Column, raw: Any) -> str | None:
    if raw is None:
        return ""
    if column.type == "status":
        return str(column.settings.get("labels", {}).get(str(raw["index"]), ""))
    if column.type == "people":
        names = [store.users[str(p["id"])].name for p in raw["personsAndTeams"] if str(p["id"]) in store.users]
        return ", ".join(names)
    if column.type == "date":
        return f"{raw['date']} {raw['time'][:5]}" if raw.get("time") else raw["date"]
    if column.type == "tags":
        return ", ".join(store.tags[t].name for t in raw["tag_ids"] if t in store.tags)
    if column.type == "file":
        return ", ".join(f"https://files.monday.example/{f['assetId']}/{f['name']}" for f in raw.get("files", []))
    return str(raw)


def value_view(store: MondayStore, column: Column, item: Item) -> dict[str, Any]:
    """One ``ColumnValue`` (with ``__typename`` for the interface's concrete type)."""
    raw = item.values.get(column.id)
    out: dict[str, Any] = {
        "__typename": TYPENAMES.get(column.type, "TextValue"),
        "id": column.id,
        "type": column.type,
        "is_leaf": True,
        "text": _text(store, column, raw),
        "value": None if raw is None else json.dumps(raw),
        "column": column_view(column),
        "updated_at": iso(item.updated_at),
    }
    if column.type == "status":
        done = column.settings.get("done_colors", [1])
        out.update(
            index=None if raw is None else raw["index"],
            label=out["text"] if raw is not None else None,
            is_done=raw is not None and raw["index"] in done,
            update_id=None,
            label_style=None,
        )
    elif column.type == "people":
        out["persons_and_teams"] = (
            [] if raw is None else [{"id": str(p["id"]), "kind": p["kind"]} for p in raw["personsAndTeams"]]
        )
    elif column.type == "date":
        out.update(date=None if raw is None else raw["date"], time=None if raw is None else raw.get("time"), icon=None)
    elif column.type == "tags":
        ids = [] if raw is None else raw["tag_ids"]
        out.update(tag_ids=ids, tags=[vars(store.tags[t]) for t in ids if t in store.tags])
    elif column.type == "file":
        out["files"] = [] if raw is None else [_file_item(store, f) for f in raw["files"]]
    elif column.type == "subtasks":
        subs = store.subitems(item)
        out.update(
            text=", ".join(s.name for s in subs),
            display_value=out["text"],
            subitems_ids=[s.id for s in subs],
            value=json.dumps({"linkedPulseIds": [{"linkedPulseId": int(s.id)} for s in subs]}) if subs else None,
        )
        from simulators.monday.views import item_view

        out["subitems"] = lambda _i: [item_view(store, s) for s in subs]
    return out


def _file_item(store: MondayStore, entry: dict[str, Any]) -> dict[str, Any]:
    from simulators.monday.views import asset_view

    asset = store.assets[str(entry["assetId"])]
    return {
        "__typename": "FileAssetValue",
        "asset_id": asset.id,
        "name": asset.name,
        "is_image": entry.get("isImage") == "true",
        "created_at": entry["createdAt"],
        "creator_id": entry.get("createdBy"),
        "asset": asset_view(store, asset),
        "creator": None,
    }


def add_file_entry(store: MondayStore, item: Item, column_id: str, asset_id: str, name: str, user_id: str) -> None:
    """Append an uploaded asset to a file column (``add_file_to_column``)."""
    raw = item.values.setdefault(column_id, {"files": []})
    is_image = name.lower().rsplit(".", 1)[-1] in ("png", "jpg", "jpeg", "gif", "webp")
    raw["files"].append(
        {
            "name": name,
            "assetId": int(asset_id),
            "isImage": str(is_image).lower(),
            "fileType": "ASSET",
            "createdAt": iso(store.now()),
            "createdBy": user_id,
        }
    )
