"""Turn vendor HTTP responses into the typed errors of ``shared.errors``.

Connectors call ``raise_for_response`` (or return the ``httpx.Response`` from the function
they give ``Pacer.call``, which checks it). A connector whose vendor gives a status another
meaning (e.g. a 403 that means "token revoked") maps that case itself before calling this.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from shared.errors import (
    AuthRequiredError,
    FerryError,
    NotFoundError,
    SkippableItemError,
    ThrottledError,
    TransientError,
)

#: Longest Retry-After we accept from a vendor; longer values are clamped to it (seconds).
MAX_RETRY_AFTER_S = 3600.0


def parse_retry_after(
    value: str | None, now: datetime | None = None, *, max_s: float = MAX_RETRY_AFTER_S
) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: delta-seconds or HTTP-date), clamped to [0, max_s].

    Returns None when absent or unparseable (the caller then backs off on its own).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), max_s)


def describe(resp: httpx.Response) -> str:
    """``METHOD /path → status body`` (first 200 characters), for error details."""
    # Only method + path: query strings can hold credentials (Trello key/token).
    try:
        req = resp.request
        where = f"{req.method} {req.url.path}"
    except RuntimeError:
        where = "request"
    body = ""
    try:
        body = resp.text[:200].replace("\n", " ")
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        pass
    return f"{where} → {resp.status_code} {body}".strip()


def error_for_response(resp: httpx.Response, now: datetime | None = None) -> FerryError | None:
    """The typed error a response stands for, or None when it is a success."""
    status = resp.status_code
    if status < 400:
        return None
    detail = describe(resp)
    retry_after = parse_retry_after(resp.headers.get("Retry-After"), now)
    if status == 429:
        return ThrottledError(detail, retry_after=retry_after)
    if status == 401:
        return AuthRequiredError(detail)
    if status in (408, 425) or status >= 500:
        if status == 503 and retry_after is not None:
            return ThrottledError(detail, retry_after=retry_after)
        return TransientError(detail)
    if status in (404, 410):
        return NotFoundError(detail, status=status)
    return SkippableItemError(detail, status=status)


def raise_for_response(resp: httpx.Response, now: datetime | None = None) -> httpx.Response:
    """Return ``resp`` when it is a success, else raise its typed error."""
    err = error_for_response(resp, now)
    if err is not None:
        raise err
    return resp
