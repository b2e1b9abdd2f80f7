"""Jira wire calls on the kit's ``ApiClient``: every call through the credential's pacer,
checked by ``JIRA_ERRORS``.

REST v3 under ``<site>/rest/api/3``. Statuses mean what the kit's defaults say (429 and
503 with ``Retry-After`` pace; 401 credentials refused; 403 no permission; 404 gone), so
Jira's table adds nothing. Listings page three ways: ``/search/jql`` by ``nextPageToken``
(``ISSUES``), ``/project/search`` and ``/priority/search`` as PageBeans (``startAt`` +
``maxResults`` + ``values``), and comments by ``startAt`` (``COMMENTS``).

Attachments are uploaded as ``multipart/form-data`` (one part named ``file``) with
``X-Atlassian-Token: no-check``, streamed once with a Content-Length; they are downloaded
from ``/attachment/content/{id}?redirect=false``, which answers the bytes itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from shared.connectors.jira.mapping import start_date_field
from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.loaded_once import LoadedOnce
from shared.connectors.kit.multipart import FilePart, multipart
from shared.connectors.kit.paging import OffsetPaging, Paginator, TokenPaging, fetch_all, fetch_page
from shared.contract.pacer import Pacer

API = "/rest/api/3"
JIRA_ERRORS = ErrorTable("Jira")
ISSUES = TokenPaging(
    records_at=("issues",),
    next_at=("nextPageToken",),
    token_param="nextPageToken",
    size_param="maxResults",
    max_size=100,
)
PAGE_BEANS = OffsetPaging(records_at=("values",), offset_param="startAt", size_param="maxResults", max_size=50)
COMMENTS = OffsetPaging(records_at=("comments",), offset_param="startAt", size_param="maxResults", max_size=100)


class JiraClient:
    """Thin async client of a Jira Cloud site; ``http`` has ``base_url`` set to the site."""

    def __init__(
        self, http: httpx.AsyncClient, credential: Credential, *, pacer: Pacer, site: str | None = None
    ) -> None:
        self.api = ApiClient(http, pacer=pacer, errors=JIRA_ERRORS, credential=credential)
        self.pacer = pacer
        #: the site URL (the workspace); through the OAuth gateway it is not the API root
        self.site = (site or str(http.base_url)).rstrip("/")
        #: the site's start date field id ("" when it has none), read once
        self._start_field: LoadedOnce[str, str] = LoadedOnce(self._read_start_field)

    async def start_date_field(self) -> str | None:
        """The id of the site's "Start date" field (``GET /field``, read once per client:
        the reader and the writer of a runtime share it), or None when the site has none."""
        return await self._start_field.get("") or None

    async def _read_start_field(self, _: str) -> str:
        return start_date_field(list(await self.get("/field") or [])) or ""

    async def aclose(self) -> None:
        await self.api.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.api.get(API + path, params=params)

    async def post(self, path: str, body: Any, *, idempotent: bool = False) -> Any:
        return await self.api.json("POST", API + path, json=body, idempotent=idempotent)

    async def put(self, path: str, body: Any) -> Any:
        return await self.api.json("PUT", API + path, json=body)

    async def delete(self, path: str, **params: Any) -> None:
        """Idempotent: an object already gone is deleted."""
        if params:
            path = path + "?" + "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
        await self.api.delete(API + path)

    async def _fetch(self, where: str, query: dict[str, Any]) -> httpx.Response:
        return await self.api.request("GET", API + where, params=query)

    async def page(
        self, paginator: Paginator, path: str, position: str | None, *, size: int, **params: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a listing and the position of the next one (None at the end)."""
        return await fetch_page(self._fetch, paginator, path, position, page_size=size, params=params)

    async def all(self, paginator: Paginator, path: str, *, size: int = 100, **params: Any) -> list[dict[str, Any]]:
        """Every record of a listing (loops refused by the kit)."""
        return await fetch_all(self._fetch, paginator, path, page_size=size, params=params)

    async def search(self, jql: str, fields: str, size: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``size`` issues of ``jql`` and whether they are the last (one request: the
        caller keeps its own position). The server may answer fewer than asked (it caps
        ``maxResults``), so the end is ``isLast``, never a short page."""
        body = await self.get("/search/jql", jql=jql, fields=fields, maxResults=max(1, min(100, size)))
        return list(body.get("issues") or []), bool(body.get("isLast", True))

    async def search_all(self, jql: str, fields: str) -> list[dict[str, Any]]:
        """Every issue of ``jql``, page by page through ``nextPageToken``."""
        return await self.all(ISSUES, "/search/jql", jql=jql, fields=fields)

    # --- files -------------------------------------------------------------------------------

    async def upload(
        self, issue_id: str, name: str, mime: str, chunks: AsyncIterator[bytes], size: int | None
    ) -> list[dict[str, Any]]:
        """POST one file as multipart/form-data, streamed once (never retried: the engine
        finds it again by name and size and re-opens the source)."""
        # the file name as browsers send it; Jira keeps the name it receives
        form = multipart({}, FilePart(name, mime, chunks, size), name_style="html")
        resp = await self.api.upload(
            "POST",
            f"{API}/issue/{issue_id}/attachments",
            form.body,
            content_type=form.content_type,
            length=form.length,
            headers={"X-Atlassian-Token": "no-check"},
        )
        return list(resp.json())

    def download(self, attachment_id: str) -> AsyncIterator[bytes]:
        """Stream an attachment's bytes (the API answers them itself with redirect=false)."""
        return self.api.download(f"{API}/attachment/content/{attachment_id}?redirect=false")
