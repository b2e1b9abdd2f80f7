"""Planner's validation rules and server-side computations (order hints, counts, completion).

Sources: plannerTask / plannerTaskDetails / plannerPlanDetails resource pages and
"Using order hints in Planner" (https://learn.microsoft.com/graph/api/resources/planner-order-hint-format).
Limits that are not in the v1.0 reference are configurable (`PlannerLimits`) and documented in
simulators/planner/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from simulators.planner.errors import GraphError, bad_request, limit_exceeded

HINT_LOW, HINT_HIGH = 32, 127  # exclusive bounds: hints use printable ASCII '!'..'~'
CATEGORY_NAMES = frozenset(f"category{i}" for i in range(1, 26))


@dataclass
class PlannerLimits:
    """Service limits (403 with the limit name as error code when exceeded)."""

    checklist_items_per_task: int = 20
    references_per_task: int = 10
    assignees_per_task: int = 20
    buckets_per_plan: int = 200
    tasks_per_plan: int = 9000
    title_max_length: int = 255
    max_categories: int = 25  # v1.0 exposes category1..category25


def strip_annotations(body: dict[str, Any]) -> dict[str, Any]:
    """Drop OData instance annotations (`@odata.type`, `@odata.etag`...) from a payload."""
    return {k: v for k, v in body.items() if not k.startswith("@")}


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: a JSON object is expected.")
    return body


def check_known(body: dict[str, Any], allowed: set[str], read_only: set[str], kind: str) -> None:
    """Graph rejects unknown properties; read-only properties are ignored on write."""
    for key in strip_annotations(body):
        if key not in allowed and key not in read_only:
            raise bad_request(
                f"Invalid JSON. A property with the name '{key}' was not found on type 'microsoft.graph.{kind}'."
            )


def parse_datetime(value: Any, name: str) -> datetime | None:
    """DateTimeOffset in ISO 8601; null clears the value."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.") from exc
    if parsed.tzinfo is None:
        raise bad_request(f"The value of '{name}' must carry a time zone offset.")
    return parsed.astimezone(UTC)


def check_title(value: Any, limits: PlannerLimits, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise bad_request("The 'title' property is required.")
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad_request("The 'title' property must be a non-empty string.")
    if len(value) > limits.title_max_length:
        raise bad_request(f"The title exceeds the maximum length of {limits.title_max_length}.")
    return value


def check_int_range(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(f"The value of '{name}' must be an integer between {low} and {high}.")
    return value


def _check_hint_chars(hint: str) -> None:
    if any(not HINT_LOW < ord(ch) < HINT_HIGH for ch in hint):
        raise bad_request(f"The order hint '{hint}' is not valid.")


def hint_between(low: str, high: str | None) -> str:
    """A string that sorts strictly between `low` and `high` (None = unbounded).

    Hints grow in length when there is no room left at a position, as the service's do
    ("Using order hints in Planner": values are compared ordinally and a shorter string
    sorts first). A computed hint never ends on the lowest character '!': nothing printable
    sorts between `x` and `x!`, so such a hint could never get a predecessor and inserting
    at the front would run out after a few items.
    """
    out: list[str] = []
    i = 0
    while True:
        if high is not None and i >= len(high):  # `high` == out: nothing sorts below it
            raise bad_request("The order hint cannot be placed between the given values.")
        da = ord(low[i]) if i < len(low) else HINT_LOW
        db = ord(high[i]) if high is not None else HINT_HIGH
        if da == db:
            out.append(chr(da))
            i += 1
            continue
        if high is None and i < len(low):
            mid = da + 1  # appending after `low`: step, so a long tail of appends stays short
        elif high is not None and i >= len(low):
            mid = db - 1  # inserting at the front: step down for the same reason
        else:
            mid = (da + db) // 2
        if da < mid < db and mid > HINT_LOW + 1:
            out.append(chr(mid))
            return "".join(out)
        if da == HINT_LOW:  # `low` is exhausted and only '!' is left below high[i]
            out.append(chr(HINT_LOW + 1))
            if db > HINT_LOW + 1:
                high = None  # already below `high`: extend freely from here
            i += 1
            continue
        out.append(chr(da))
        high = None  # already below `high` from here on
        i += 1


def resolve_order_hint(value: Any, *, default_after: str | None = None) -> str:
    """Compute the stored hint from a client hint.

    Clients send `"<previous> <next>!"` (either side may be empty, `" !"` = anywhere) and the
    service computes a value between them; other strings are stored as given.
    """
    if value is None:
        return hint_between(default_after or "", None)
    if not isinstance(value, str) or not value:
        raise bad_request("The order hint is not valid.")
    if value.endswith("!") and " " in value:
        prev, _, nxt = value[:-1].partition(" ")
        _check_hint_chars(prev + nxt)
        if prev and nxt and prev >= nxt:
            raise bad_request(f"The order hint '{value}' is not valid.")
        return hint_between(prev, nxt or None)
    _check_hint_chars(value)
    return value


def check_categories(value: Any, limits: PlannerLimits) -> dict[str, bool]:
    """appliedCategories: {"categoryN": true|false} with N in 1..25 (false removes)."""
    if not isinstance(value, dict):
        raise bad_request("appliedCategories must be an object.")
    allowed = {f"category{i}" for i in range(1, limits.max_categories + 1)}
    result: dict[str, bool] = {}
    for key, flag in strip_annotations(value).items():
        if key not in allowed:
            raise bad_request(f"The category '{key}' is not valid.")
        if not isinstance(flag, bool):
            raise bad_request(f"The value of category '{key}' must be a boolean.")
        result[key] = flag
    return result


def decode_reference_key(key: str) -> str:
    """Reference keys are URLs with `%`, `.`, `:`, `@`, `#` percent-encoded (Planner docs)."""
    if any(ch in key for ch in ".:@#"):
        raise bad_request(f"The reference key '{key}' is not valid: '.', ':', '@' and '#' must be encoded.")
    url = unquote(key)
    if not url.startswith(("https://", "http://")):
        raise bad_request(f"The reference key '{key}' is not a valid URL.")
    return url


def check_typed_value(value: Any, odata_type: str, where: str) -> dict[str, Any]:
    """Open-type dictionary values must be objects; new entries need their @odata.type."""
    if not isinstance(value, dict):
        raise bad_request(f"The value of '{where}' must be an object or null.")
    declared = value.get("@odata.type")
    if declared is not None and declared.lstrip("#") != odata_type:
        raise bad_request(f"The @odata.type of '{where}' must be '#{odata_type}'.")
    return value


def too_many(limit_code: str, what: str, limit: int) -> GraphError:
    return limit_exceeded(limit_code, f"The {what} limit of {limit} has been reached.")
