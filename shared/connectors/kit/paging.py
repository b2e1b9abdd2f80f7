"""Declarative paginators: how a vendor's listing continues, stated once.

* ``TokenPaging``  — the body names the next page's token (Asana ``next_page.offset``, Jira
  ``nextPageToken``, Monday ``cursor``); the token goes back as a query parameter.
* ``OffsetPaging`` — ``limit`` + ``offset``/``page`` numbers (Trello actions, Azure DevOps
  ``$top``/``$skip``); the listing ends on a short page.
* ``LinkPaging``   — the body or a ``Link`` header holds the next page's URL (Graph
  ``@odata.nextLink``, RFC 8288 ``rel="next"``).

A ``Paginator`` turns a position (``None`` = start) into request parameters or a URL and an
answer into the records and the next position; positions are plain strings so a reader can
keep them in its cursor. ``fetch_all`` walks a whole listing and stops a vendor that hands
back a position it already gave (a paging loop would otherwise never end).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from shared.errors import TransientError

Records = list[dict[str, Any]]


class Paginator(Protocol):
    def request(
        self, path: str, position: str | None, page_size: int, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The path (or absolute URL) and query parameters of the page at ``position``."""
        ...

    def parse(self, resp: httpx.Response, position: str | None, page_size: int) -> tuple[Records, str | None]:
        """The records of an answer and the position of the next page (None at the end)."""
        ...


def _dig(body: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


def _records(body: Any, path: Sequence[str]) -> Records:
    found = _dig(body, path) if path else body
    if found is None:
        return []
    if not isinstance(found, list):
        raise TransientError(f"a listing answered without a list at {'.'.join(path) or 'top'}")
    return [r for r in found if isinstance(r, dict)]


@dataclass(frozen=True)
class TokenPaging:
    records_at: tuple[str, ...]
    next_at: tuple[str, ...]
    token_param: str
    size_param: str | None = "limit"
    max_size: int = 100

    def request(
        self, path: str, position: str | None, page_size: int, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        query = dict(params)
        if self.size_param:
            query[self.size_param] = max(1, min(self.max_size, page_size))
        if position is not None:
            query[self.token_param] = position
        return path, query

    def parse(self, resp: httpx.Response, position: str | None, page_size: int) -> tuple[Records, str | None]:
        body = resp.json()
        nxt = _dig(body, self.next_at)
        return _records(body, self.records_at), (str(nxt) if nxt else None)


@dataclass(frozen=True)
class OffsetPaging:
    records_at: tuple[str, ...] = ()
    offset_param: str = "offset"
    size_param: str = "limit"
    max_size: int = 100
    #: count pages (``page=0,1,…``) instead of records (``offset=0,50,…``)
    by_page: bool = False

    def request(
        self, path: str, position: str | None, page_size: int, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        size = max(1, min(self.max_size, page_size))
        offset = int(position or 0)
        return path, {**params, self.size_param: size, self.offset_param: offset // size if self.by_page else offset}

    def parse(self, resp: httpx.Response, position: str | None, page_size: int) -> tuple[Records, str | None]:
        size = max(1, min(self.max_size, page_size))
        records = _records(resp.json(), self.records_at)
        if len(records) < size:
            return records, None
        return records, str(int(position or 0) + size)


@dataclass(frozen=True)
class LinkPaging:
    records_at: tuple[str, ...] = ("value",)
    #: where the body keeps the next URL; empty: the ``Link: <…>; rel="next"`` header
    next_at: tuple[str, ...] = ("@odata.nextLink",)
    size_param: str | None = None

    def request(
        self, path: str, position: str | None, page_size: int, params: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        if position is not None:
            return position, {}  # the next link carries every parameter
        query = dict(params)
        if self.size_param:
            query[self.size_param] = page_size
        return path, query

    def parse(self, resp: httpx.Response, position: str | None, page_size: int) -> tuple[Records, str | None]:
        body = resp.json()
        if self.next_at:
            nxt = _dig(body, self.next_at)
        else:
            nxt = resp.links.get("next", {}).get("url")
        return _records(body, self.records_at), (str(nxt) if nxt else None)


Fetch = Callable[[str, dict[str, Any]], Awaitable[httpx.Response]]


async def fetch_page(
    fetch: Fetch,
    paginator: Paginator,
    path: str,
    position: str | None,
    *,
    page_size: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[Records, str | None]:
    """One page: ``fetch(path_or_url, query)`` sends the request (through the pacer)."""
    where, query = paginator.request(path, position, page_size, params or {})
    resp = await fetch(where, query)
    records, nxt = paginator.parse(resp, position, page_size)
    if nxt is not None and nxt == position:
        raise TransientError(f"paging loop on {path}: the next page is the same page")
    return records, nxt


async def fetch_all(
    fetch: Fetch,
    paginator: Paginator,
    path: str,
    *,
    page_size: int,
    params: Mapping[str, Any] | None = None,
    max_pages: int = 10_000,
) -> Records:
    """Every record of a listing. A position seen before, or more than ``max_pages`` pages,
    is a vendor paging loop: ``TransientError`` (the chunk is retried later)."""
    out: Records = []
    seen: set[str] = set()
    position: str | None = None
    for _ in range(max_pages):
        records, position = await fetch_page(fetch, paginator, path, position, page_size=page_size, params=params)
        out.extend(records)
        if position is None:
            return out
        if position in seen:
            raise TransientError(f"paging loop on {path}: a page position came back")
        seen.add(position)
    raise TransientError(f"paging on {path} did not end after {max_pages} pages")
