"""Asana custom fields written natively: one workspace definition per source field name,
enabled on the destination project, values set on the task.

Asana keeps definitions per workspace ("A custom field's name must be unique within a
workspace", ``POST /custom_fields``) and shows a field on a project through a *custom field
setting* (``POST /projects/{gid}/addCustomFieldSetting``). A task's values are written with
``PUT /tasks/{gid}`` ``{"custom_fields": {field gid: value}}``: text and numbers as such, a
date as ``{"date": "YYYY-MM-DD"}``, an enum value as its option gid (https://developers.asana.com/docs/custom-fields-guide).

Race-safety: names are unique in a workspace, so when two workers define the same field at
once the second create is refused (400) and that worker reads the workspace's fields again
and uses the one that won. A project setting refused because the field is already there is
the same outcome. Enum options cannot be deleted through the API: two workers adding the same
option at once both use the one with the smaller gid (the other stays unused).

Types Asana cannot hold as such are written as text (``task.custom_field_as_text``): yes/no
values, multi-select and people values (people are matched by e-mail nowhere else either).
A name already used in the workspace by a field of another type gets ``name (type)``
(``task.custom_field_renamed``). Subtasks have no project, and Asana accepts values only for
fields of one of the task's projects: their custom fields go to the notes (the writer's
``adapt``, ``task.custom_fields_in_description``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from shared.connectors.asana.client import AsanaClient
from shared.connectors.kit.definitions import define_once
from shared.contract.connector import Adaptation
from shared.contract.model import CustomFieldType, CustomFieldValue, Kind, Task
from shared.errors import SkippableItemError

#: canonical type → the Asana field type that holds it natively
ASANA_TYPES: dict[CustomFieldType, str] = {
    CustomFieldType.TEXT: "text",
    CustomFieldType.NUMBER: "number",
    CustomFieldType.DATE: "date",
    CustomFieldType.ENUM: "enum",
    CustomFieldType.BOOL: "text",
    CustomFieldType.MULTI_ENUM: "text",
    CustomFieldType.PEOPLE: "text",
}
FIELD_OPTS = "name,resource_subtype,enum_options.name"


def subtask_fields_to_notes(task: Task) -> tuple[Task, list[Adaptation]]:
    """A subtask's custom fields as lines of its notes (pure; see the module docstring)."""
    if not task.parent_id or not task.custom_fields:
        return task, []
    lines = "\n".join(cf.as_text() for cf in task.custom_fields)
    text = f"{task.description.rstrip()}\n\n{lines}" if task.description.strip() else lines
    note = Adaptation(
        kind=Kind.TASK,
        code="task.custom_fields_in_description",
        message="a subtask has no project to hold custom fields: they go to the notes",
    )
    return task.model_copy(update={"custom_fields": (), "description": text}), [note]


def value_of(cf: CustomFieldValue, asana_type: str, option: str | None = None) -> Any:
    """The ``custom_fields`` value for ``cf`` in a field of ``asana_type`` (None clears)."""
    v = cf.value
    if v is None or v == "" or v == []:
        return None
    if asana_type == "enum":
        return option
    if asana_type == "number":
        return float(v)  # type: ignore[arg-type]  # checked numeric by the caller
    if asana_type == "date":
        return {"date": str(v)[:10]}
    if isinstance(v, list):
        return ", ".join(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _gid_order(item: dict[str, Any]) -> tuple[int, str]:
    """Asana gids are decimal strings: the smaller number is the older definition."""
    gid = str(item["gid"])
    return len(gid), gid


def _note(code: str, message: str) -> Adaptation:
    return Adaptation(kind=Kind.TASK, code=code, message=message)


class AsanaCustomFields:
    """Definitions per workspace and settings per project (cached), values per task."""

    def __init__(self, client: AsanaClient) -> None:
        self.client = client
        self._fields: dict[str, list[dict[str, Any]]] = {}
        self._enabled: dict[str, set[str]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _workspace_fields(self, ws: str, *, fresh: bool = False) -> list[dict[str, Any]]:
        if fresh or ws not in self._fields:
            self._fields[ws] = await self.client.all(f"/workspaces/{ws}/custom_fields", opt_fields=FIELD_OPTS)
        return self._fields[ws]

    async def _field(self, ws: str, name: str, asana_type: str) -> dict[str, Any]:
        """The workspace's field for ``name`` of ``asana_type``, defined when missing."""
        async with self._locks[ws]:
            for candidate in (name, f"{name} ({asana_type})"):

                def named(f: dict[str, Any], candidate: str = candidate) -> bool:
                    return str(f.get("name", "")).casefold() == candidate.casefold()

                async def create(candidate: str = candidate) -> dict[str, Any]:
                    made = dict(
                        await self.client.post(
                            "/custom_fields", {"workspace": ws, "name": candidate, "resource_subtype": asana_type}
                        )
                    )
                    made.setdefault("enum_options", [])
                    self._fields[ws].append(made)
                    return made

                # Asana refuses a second field of one name: no duplicate to delete
                field = await define_once(
                    listing=lambda fresh: self._workspace_fields(ws, fresh=fresh),
                    matches=named,
                    create=create,
                    order=_gid_order,
                    identity=lambda f: f["gid"],
                )
                if field.get("resource_subtype") == asana_type:
                    return field
                # the name is taken by a field of another type: try the next candidate
            raise SkippableItemError(
                f"custom field {name!r}: its name is taken in the Asana workspace by fields of other types", status=400
            )

    async def _enable(self, project: str, field_gid: str) -> None:
        """Show the field on the project (once; a concurrent add is the same outcome)."""
        async with self._locks[f"project:{project}"]:
            if project not in self._enabled:
                settings = await self.client.all(
                    f"/projects/{project}/custom_field_settings", opt_fields="custom_field"
                )
                self._enabled[project] = {s["custom_field"]["gid"] for s in settings if s.get("custom_field")}
            if field_gid in self._enabled[project]:
                return
            try:
                await self.client.post(f"/projects/{project}/addCustomFieldSetting", {"custom_field": field_gid})
            except SkippableItemError:
                settings = await self.client.all(
                    f"/projects/{project}/custom_field_settings", opt_fields="custom_field"
                )
                self._enabled[project] = {s["custom_field"]["gid"] for s in settings if s.get("custom_field")}
                if field_gid not in self._enabled[project]:
                    raise
            self._enabled[project].add(field_gid)

    async def _option(self, ws: str, field: dict[str, Any], name: str) -> str:
        """The gid of the enum option ``name`` of ``field``, added when missing."""

        async def listing(fresh: bool) -> list[dict[str, Any]]:
            if fresh:
                again = await self.client.get(f"/custom_fields/{field['gid']}", opt_fields=FIELD_OPTS)
                field["enum_options"] = again.get("enum_options") or []
            return list(field.get("enum_options") or [])

        async def create() -> dict[str, Any]:
            return dict(await self.client.post(f"/custom_fields/{field['gid']}/enum_options", {"name": name}))

        async def leave_unused(option: dict[str, Any]) -> None:
            """Asana accepts two options of one name and cannot delete one: the option that
            lost the race stays unused (every worker uses the winner)."""

        async with self._locks[f"field:{field['gid']}"]:
            option = await define_once(
                listing=listing,
                matches=lambda o: o.get("name") == name,
                create=create,
                order=_gid_order,
                identity=lambda o: o["gid"],
                delete=leave_unused,
            )
            return str(option["gid"])

    async def write(
        self, task_gid: str, ws: str, project: str | None, task: Task, *, update: bool = False
    ) -> tuple[Adaptation, ...]:
        """Set the task's values of ``task.custom_fields``; an ``update`` also clears the
        values of the task the source no longer has (its custom fields are the source's)."""
        if project is None or (not task.custom_fields and not update):
            return ()
        notes: list[Adaptation] = []
        values: dict[str, Any] = {}
        for cf in task.custom_fields:
            asana_type = ASANA_TYPES[cf.type]
            if asana_type == "number" and not cf.holds_number():
                asana_type = "text"
            if asana_type == "text" and cf.type is not CustomFieldType.TEXT:
                notes.append(
                    _note("task.custom_field_as_text", f"{cf.name}: Asana holds no {cf.type} values; written as text")
                )
            field = await self._field(ws, cf.name, asana_type)
            if str(field.get("name", "")).casefold() != cf.name.casefold():
                notes.append(
                    _note(
                        "task.custom_field_renamed",
                        f"{cf.name} is {field.get('name')}: a field of that name and another type is in the workspace",
                    )
                )
            await self._enable(project, field["gid"])
            option = None
            if asana_type == "enum" and cf.value not in (None, ""):
                option = await self._option(ws, field, str(cf.value))
            values[field["gid"]] = value_of(cf, asana_type, option)
        if update:
            current = await self.client.get(f"/tasks/{task_gid}", opt_fields="custom_fields.display_value")
            for cf in current.get("custom_fields") or []:
                if cf.get("gid") not in values and cf.get("display_value") not in (None, ""):
                    values[cf["gid"]] = None
        if values:
            await self.client.put(f"/tasks/{task_gid}", {"custom_fields": values})
        return tuple(notes)
