"""Workspace custom fields (``text``, ``number``, ``enum``, ``date``): definitions and value checks.

Values are written as ``custom_fields: {field gid: value}`` on task create/update
(TaskBase.custom_fields); enum values are option gids. The rule that a field must be
enabled on one of the task's projects is not simulated.
"""

from __future__ import annotations

import re
from typing import Any

from simulators.asana.models import CustomField, bad_request
from simulators.asana.store import AsanaStore

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_custom_field(
    store: AsanaStore,
    workspace_gid: str,
    name: str,
    subtype: str,
    *,
    options: list[tuple[str, str]] | None = None,
    precision: int = 0,
) -> CustomField:
    """Define a workspace custom field (``options``: (name, color) for enums)."""
    cf = CustomField(
        store.new_gid(), workspace_gid, name, subtype, precision, [(store.new_gid(), n, c) for n, c in options or []]
    )
    store.custom_fields[cf.gid] = cf
    return cf


def custom_value(store: AsanaStore, workspace_gid: str, field_gid: str, value: Any) -> Any:
    """Validate a value written to a custom field, or 400."""
    cf = store.custom_fields.get(str(field_gid))
    if cf is None or cf.workspace != workspace_gid:
        raise bad_request(f"custom_fields: Not a recognized ID: {field_gid}")
    if value is None:
        return None
    if cf.resource_subtype == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad_request(f"custom_fields: {cf.name} expects a number")
        return float(value)
    if cf.resource_subtype == "enum":
        if value not in {gid for gid, _, _ in cf.enum_options}:
            raise bad_request(f"custom_fields: {value} is not an option of {cf.name}")
        return value
    if cf.resource_subtype == "date":
        # CustomFieldRequest.date_value: {"date": "YYYY-MM-DD"} or {"date_time": …}
        day = value.get("date") if isinstance(value, dict) else None
        if not isinstance(day, str) or not _DAY.fullmatch(day):
            raise bad_request(f'custom_fields: {cf.name} expects {{"date": "YYYY-MM-DD"}}')
        return {"date": day}
    return str(value)
