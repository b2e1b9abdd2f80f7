"""Rendering helpers shared by the store modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso(ts: datetime | None) -> str | None:
    """Graph's DateTimeOffset rendering (UTC, 'Z'), or None."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def identity_set(principal_id: str | None, *, is_app: bool = False) -> dict[str, Any] | None:
    """An identitySet as Planner returns it (displayName is null in Planner payloads)."""
    if principal_id is None:
        return None
    key = "application" if is_app else "user"
    return {key: {"displayName": None, "id": principal_id}}
