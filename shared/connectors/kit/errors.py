"""One table per vendor from HTTP status to typed error, merged over a default.

A vendor names only what its API means differently (Trello's 401 "unauthorized permission
requested" is a per-object refusal, not a revoked token; Asana's 400 "offset: …" is an
expired page token). Everything else falls through to ``DEFAULT_RULES``. The table decides
*what* a response is; the pacer's ``ERROR_MAPPING`` decides *what to do* (retry, slow down,
pause the run, skip the item).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import httpx

from shared.contract.httperrors import describe, parse_retry_after
from shared.errors import (
    AuthRequiredError,
    FerryError,
    NotFoundError,
    SkippableItemError,
    ThrottledError,
    TransientError,
)

#: builds the error for a response: (response, "METHOD /path → status body") → error,
#: or None to let the next rule (or the default) decide
ErrorFactory = Callable[[httpx.Response, str], FerryError | None]


@dataclass(frozen=True)
class Rule:
    """``statuses`` answered by ``factory`` when ``when`` (if given) holds."""

    statuses: frozenset[int]
    factory: ErrorFactory
    when: Callable[[httpx.Response], bool] | None = None


def rule(
    statuses: int | Iterable[int], factory: ErrorFactory, when: Callable[[httpx.Response], bool] | None = None
) -> Rule:
    codes = frozenset({statuses} if isinstance(statuses, int) else statuses)
    return Rule(codes, factory, when)


def becomes(error: type[FerryError], prefix: str = "") -> ErrorFactory:
    """A factory raising ``error`` with the response described (and the status kept)."""

    def make(resp: httpx.Response, detail: str) -> FerryError:
        text = f"{prefix}{detail}" if prefix else detail
        if issubclass(error, ThrottledError):
            return error(text, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if issubclass(error, (SkippableItemError, NotFoundError)):
            return error(text, status=resp.status_code)
        return error(text)

    return make


def _throttled(resp: httpx.Response, detail: str) -> FerryError:
    return ThrottledError(detail, retry_after=parse_retry_after(resp.headers.get("Retry-After")))


def _unavailable(resp: httpx.Response, detail: str) -> FerryError:
    # A 503 with Retry-After is the vendor asking to come back later (Graph, Jira): pace, not
    # back off blindly.
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    if resp.status_code == 503 and retry_after is not None:
        return ThrottledError(detail, retry_after=retry_after)
    return TransientError(detail)


_SERVER = frozenset(range(500, 600)) | {408, 425}

#: What a status means when a vendor says nothing else. 409/412 stay item errors carrying
#: their status, so a writer that does compare-and-set (Planner's If-Match) can retry them.
DEFAULT_RULES: tuple[Rule, ...] = (
    rule(429, _throttled),
    rule(401, becomes(AuthRequiredError)),
    # 403: this object is not the caller's to read or write; the item (or scope) fails alone,
    # as the engine expects of an item error (PermissionDeniedError is the API's own 403)
    rule(403, becomes(SkippableItemError)),
    rule((404, 410), becomes(NotFoundError)),
    rule(_SERVER, _unavailable),
)


class ErrorTable:
    """A vendor's rules, then the defaults; any other 4xx fails the item alone."""

    def __init__(self, vendor: str, rules: Iterable[Rule] = (), *, defaults: Iterable[Rule] = DEFAULT_RULES) -> None:
        self.vendor = vendor
        self.rules: tuple[Rule, ...] = (*rules, *defaults)

    def error_for(self, resp: httpx.Response, now: datetime | None = None) -> FerryError | None:
        """The typed error ``resp`` stands for, or None for a success (body must be read)."""
        if resp.status_code < 400:
            return None
        detail = f"{self.vendor}: {describe(resp)}"
        for r in self.rules:
            if resp.status_code in r.statuses and (r.when is None or r.when(resp)):
                err = r.factory(resp, detail)
                if err is not None:
                    return err
        return SkippableItemError(detail, status=resp.status_code)

    def check(self, resp: httpx.Response) -> httpx.Response:
        """``resp`` when it is a success, else raise its error."""
        err = self.error_for(resp)
        if err is not None:
            raise err
        return resp


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an item error was raised for (None when it carries none)."""
    extra = getattr(exc, "extra", None) or {}
    status = extra.get("status")
    return status if isinstance(status, int) else None


def body_says(*needles: str) -> Callable[[httpx.Response], bool]:
    """A ``when`` predicate: the (lower-cased) body contains one of ``needles``."""
    lowered = tuple(n.lower() for n in needles)

    def check(resp: httpx.Response) -> bool:
        try:
            text = resp.text.lower()
        except (UnicodeDecodeError, httpx.ResponseNotRead):
            return False
        return any(n in text for n in lowered)

    return check
