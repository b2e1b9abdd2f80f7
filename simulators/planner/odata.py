"""OData query options the simulator honours: $top, $skiptoken, $count, $select, $filter.

Paging is server-driven: a page carries `@odata.nextLink` (an absolute URL with an opaque
`$skiptoken`) until the last page (https://learn.microsoft.com/graph/paging).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from simulators.planner.errors import bad_request
from simulators.planner.state import SimState
from simulators.planner.store import GRAPH_ROOT

Item = dict[str, Any]


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"ferry-sim:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "ferry-sim":
            raise ValueError(raw)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"Invalid $skiptoken '{token}'.") from exc


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise bad_request(f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


def select(items: Sequence[Item], request: Request) -> list[Item]:
    """Apply `$select` (annotations and `id` are always kept)."""
    raw = request.query_params.get("$select")
    if not raw:
        return list(items)
    wanted = {name.strip() for name in raw.split(",") if name.strip()}
    return [{k: v for k, v in it.items() if k in wanted or k == "id" or k.startswith("@")} for it in items]


def collection(request: Request, state: SimState, items: Sequence[Item], context: str) -> Item:
    """One page of a collection with `@odata.context`, optional count and `@odata.nextLink`."""
    top = _int_param(request, "$top")
    size = state.page_size if top is None else min(max(top, 1), state.max_page_size)
    token = request.query_params.get("$skiptoken")
    offset = _decode_token(token) if token else (_int_param(request, "$skip") or 0)
    page = select(items[offset : offset + size], request)
    body: Item = {"@odata.context": f"{GRAPH_ROOT}/$metadata#{context}"}
    if request.query_params.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    body["value"] = page
    if offset + size < len(items):
        params = {k: v for k, v in request.query_params.items() if k not in ("$skip", "$skiptoken")}
        params["$top"] = str(size)
        params["$skiptoken"] = _encode_token(offset + size)
        body["@odata.nextLink"] = str(request.url.replace_query_params(**params))
    return body


_CLAUSE = re.compile(
    r"""^\s*(?:
        (?P<field>[A-Za-z/]+)\s+eq\s+'(?P<value>(?:[^']|'')*)'
      | startswith\(\s*(?P<sfield>[A-Za-z]+)\s*,\s*'(?P<svalue>(?:[^']|'')*)'\s*\)
      | (?P<afield>[A-Za-z]+)/any\(\s*(?P<var>\w+)\s*:\s*(?P=var)\s+eq\s+'(?P<avalue>(?:[^']|'')*)'\s*\)
    )\s*$""",
    re.VERBOSE,
)


def compile_filter(expr: str | None, fields: dict[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    """A predicate for a small `$filter` subset: `f eq 'v'`, `startswith(f,'v')`,
    `f/any(x:x eq 'v')`, joined by `or` or `and` (not mixed). Comparisons ignore case,
    as directory queries on mail/userPrincipalName do."""
    if not expr:
        return lambda _obj: True
    joiner = " and " if " and " in expr and " or " not in expr else " or "
    preds: list[Callable[[Any], bool]] = []
    for part in expr.split(joiner):
        match = _CLAUSE.match(part)
        if not match:
            raise bad_request(f"Invalid filter clause: {part.strip()}", code="Request_UnsupportedQuery")
        preds.append(_clause_predicate(match, fields))
    if joiner == " and ":
        return lambda obj: all(p(obj) for p in preds)
    return lambda obj: any(p(obj) for p in preds)


def _clause_predicate(match: re.Match[str], fields: dict[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    name = match.group("field") or match.group("sfield") or match.group("afield")
    raw = match.group("value") or match.group("svalue") or match.group("avalue") or ""
    value = raw.replace("''", "'").lower()
    getter = fields.get(name)
    if getter is None:
        raise bad_request(
            f"Unsupported or invalid query filter clause specified for property '{name}'.",
            code="Request_UnsupportedQuery",
        )
    if match.group("field"):
        return lambda obj: str(getter(obj) or "").lower() == value
    if match.group("sfield"):
        return lambda obj: str(getter(obj) or "").lower().startswith(value)
    return lambda obj: any(str(v).lower() == value for v in (getter(obj) or []))
