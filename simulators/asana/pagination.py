"""Asana offset-token pagination (https://developers.asana.com/docs/pagination).

``limit`` (1-100) asks for a page; when more results exist the answer carries
``next_page: {offset, path, uri}``, else ``next_page: null``. Offsets are opaque, may only
be used for the listing that issued them, and expire. Without ``limit`` the "grandfathered"
endpoints answer everything at once, unless the result is too large.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from simulators.asana.models import bad_request
from simulators.common import SimClock

T = TypeVar("T")


@dataclass
class _Issued:
    scope: str
    position: int
    issued_at: float


class OffsetTokens:
    """Issues and resolves offset tokens; a token is bound to one listing and expires."""

    def __init__(self, clock: SimClock, ttl_s: float = 3600.0) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._issued: dict[str, _Issued] = {}
        self._lock = threading.Lock()

    def issue(self, scope: str, position: int) -> str:
        """A new opaque token meaning "continue ``scope`` at ``position``"."""
        # Looks like the JWT-ish tokens Asana hands out; the content is not meaningful.
        head = base64.urlsafe_b64encode(json.dumps({"typ": "JWT"}).encode()).decode().rstrip("=")
        token = f"{head}.{secrets.token_urlsafe(18)}"
        now = self.clock.monotonic()
        with self._lock:
            if len(self._issued) >= 10_000:  # forget expired tokens now and then
                self._issued = {k: v for k, v in self._issued.items() if now - v.issued_at <= self.ttl_s}
            self._issued[token] = _Issued(scope, position, now)
        return token

    def resolve(self, token: str, scope: str) -> int:
        """Position for ``token`` or 400 when unknown, foreign to ``scope`` or expired."""
        with self._lock:
            issued = self._issued.get(token)
        if issued is None or issued.scope != scope:
            raise bad_request("offset: Your pagination token is invalid.")
        if self.clock.monotonic() - issued.issued_at > self.ttl_s:
            raise bad_request("offset: Your pagination token has expired.")
        return issued.position


def parse_limit(raw: str | None) -> int | None:
    """Validate ``limit`` (1-100) or 400."""
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"limit: Not an integer: {raw}") from exc
    if not 1 <= value <= 100:
        raise bad_request("limit: Must be between 1 and 100")
    return value


def paginate(
    items: Sequence[T],
    query: Mapping[str, str],
    *,
    api_path: str,
    base_url: str,
    tokens: OffsetTokens,
    unpaginated_max: int,
) -> tuple[list[T], dict[str, Any] | None]:
    """Cut one page out of ``items`` according to ``limit``/``offset`` in ``query``.

    ``api_path`` is the path below ``/api/1.0`` (e.g. ``/tasks``); ``base_url`` the absolute
    API root used to build ``next_page.uri``. Returns (page, next_page-or-None).
    """
    limit = parse_limit(query.get("limit"))
    params = {k: v for k, v in query.items() if k not in ("offset",)}
    scope = f"{api_path}?{urlencode(sorted((k, v) for k, v in params.items() if k != 'limit'))}"
    offset = query.get("offset")
    start = tokens.resolve(offset, scope) if offset else 0
    if limit is None:
        if offset is None and len(items) > unpaginated_max:
            raise bad_request(
                "The result is too large. You should use pagination (may require specifying a workspace)!"
            )
        return list(items[start:]), None
    page = list(items[start : start + limit])
    if start + limit >= len(items):
        return page, None
    token = tokens.issue(scope, start + limit)
    path = f"{api_path}?{urlencode({**params, 'limit': str(limit), 'offset': token})}"
    return page, {"offset": token, "path": path, "uri": f"{base_url.rstrip('/')}{path}"}
