"""Microsoft Graph for the Planner connector: its error table and ``PlannerClient``.

Every call goes through the kit's ``ApiClient`` (the credential's pacer, the error table,
one token refresh after a 401, downloads following Graph's 302 to the pre-authenticated URL
without the bearer token). Collections follow ``@odata.nextLink`` with the kit's
``LinkPaging``. Planner versions every object: writes carry ``If-Match`` with its etag
(https://learn.microsoft.com/graph/api/resources/planner-overview#planner-resource-versioning).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.connectors.kit.errors import ErrorTable, becomes, rule, status_of
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.paging import LinkPaging, Records, fetch_all, fetch_page
from shared.connectors.planner.auth import (
    LOGIN_BASE_URL,
    PlannerCredentials,
    login_base_url_for,
    token_source,
)
from shared.connectors.settings import PlannerConnection
from shared.contract.clock import Clock
from shared.contract.pacer import Pacer
from shared.errors import NotFoundError, SkippableItemError, TransientError
from shared.net.http import build_client

GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"


#: What Graph means differently from the kit's defaults.
PLANNER_ERRORS = ErrorTable(
    "Planner",
    [
        # Graph's 403 refuses one object (a plan of a group the account is not a member of, a
        # user or a shared file the app may not read), not the credential: that item fails
        # alone and keeps its status, so look-ups can treat it as "not visible".
        rule(403, becomes(SkippableItemError)),
    ],
)

#: Per-item 4xx outcomes of the table (404/410 → NotFoundError, other 4xx → Skippable); both
#: carry their status (``status_of``).
ITEM_ERRORS = (SkippableItemError, NotFoundError)

#: Graph collections: ``value`` + ``@odata.nextLink`` (which carries every parameter); a
#: reader's pages ask for their size with ``$top``, whole listings take Graph's default
GRAPH_PAGES = LinkPaging(size_param="$top")
GRAPH_LISTING = LinkPaging()


#: Graph runs at most 20 requests in one ``$batch``
MAX_BATCH = 20


@dataclass(frozen=True)
class Sub:
    """One request of a ``$batch`` (``path`` relative to the version root)."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannerSettings:
    """Where to reach Graph and Entra ID. Production uses the defaults; local runs point both
    at the simulator's origin (``base_url = {origin}/v1.0``, ``login_base_url = {origin}``)."""

    base_url: str = GRAPH_BASE_URL
    login_base_url: str = LOGIN_BASE_URL
    allow_loopback: bool = False


def settings_from(connection: PlannerConnection, *, allow_loopback: bool) -> PlannerSettings:
    """Settings for a connection document (see ``auth.login_base_url_for``)."""
    return PlannerSettings(
        base_url=connection.base_url or GRAPH_BASE_URL,
        login_base_url=login_base_url_for(connection),
        allow_loopback=allow_loopback,
    )


class PlannerClient:
    """Graph calls with one credential: JSON, collections, etag-guarded writes, files."""

    def __init__(self, api: ApiClient, *, client_id: str, delegated: bool) -> None:
        self.api = api
        #: the Entra app; ``createdBy.application.id`` of an app-only credential's writes
        self.client_id = client_id
        #: a signed-in account (ROPC) rather than an app: it has ``/me`` and group posts
        self.delegated = delegated

    @property
    def http(self) -> httpx.AsyncClient:
        return self.api.http

    @property
    def pacer(self) -> Pacer:
        return self.api.pacer

    async def aclose(self) -> None:
        await self.api.aclose()

    async def authorize(self) -> None:
        """Get a token now (proves an app's secret, which has no ``/me`` to ask)."""
        await self.api.call(self.api.credential.headers)

    # -- JSON -----------------------------------------------------------------------------

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        data = await self.api.get(path, params)
        return data if isinstance(data, dict) else {}

    async def _fetch(self, where: str, query: dict[str, Any]) -> httpx.Response:
        return await self.api.request("GET", where, params=query or None)

    async def get_all(self, path: str, params: Mapping[str, Any] | None = None) -> Records:
        """Every item of a collection."""
        return await fetch_all(self._fetch, GRAPH_LISTING, path, page_size=0, params=dict(params or {}))

    async def page(self, path: str, position: str | None, page_size: int) -> tuple[Records, str | None]:
        """One page of a collection: its items and the next page's link (None at the end)."""
        return await fetch_page(self._fetch, GRAPH_PAGES, path, position, page_size=page_size)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A create: not retried after an ambiguous failure (the engine reconciles)."""
        data = await self.api.json("POST", path, json=body, idempotent=False)
        return data if isinstance(data, dict) else {}

    async def patch_if_match(self, path: str, body: dict[str, Any], etag: str) -> dict[str, Any] | None:
        """One PATCH guarded by ``etag`` (a 412 means someone changed the object); the new
        representation, or None when the service ignored ``Prefer``."""
        response = await self.api.request(
            "PATCH", path, json=body, headers={"If-Match": etag, "Prefer": "return=representation"}
        )
        if response.status_code == 204 or not response.content:
            return None
        data: dict[str, Any] = response.json()
        return data

    async def patch_known(
        self, path: str, body: dict[str, Any], etag: str, *, etag_path: str | None = None
    ) -> dict[str, Any]:
        """PATCH with an etag taken from an earlier answer (no read first); when it is stale
        (412, or 409) the object is read again and the write retried (``patch_etag``), so
        a PATCH whose answer was lost and that the pacer sent again ends the same way.
        Returns the new representation."""
        try:
            response = await self.api.request(
                "PATCH", path, json=body, headers={"If-Match": etag, "Prefer": "return=representation"}
            )
        except ITEM_ERRORS as exc:
            if status_of(exc) not in (409, 412):
                raise
            return await self.patch_etag(path, body, etag_path=etag_path, attempts=2)
        if response.status_code == 204:  # the service ignored Prefer
            return await self.get_json(etag_path or path)
        data: dict[str, Any] = response.json()
        return data

    async def chain(self, calls: Sequence[Sub], *, idempotent: bool) -> list[httpx.Response]:
        """``calls`` in one Graph ``$batch`` (https://learn.microsoft.com/graph/json-batching),
        each run after the one before (``dependsOn``). The first call's error is raised (then
        nothing of the batch was applied, so the pacer may send a throttled batch again);
        the others' answers come back as they are, to be checked by the caller (after a
        failed one the rest answer 424). Graph counts each request against its limits, and so
        does the pacer (``cost``)."""
        most = min(MAX_BATCH, self.pacer.max_cost)  # Graph takes 20; the pacer, what was declared
        if not 0 < len(calls) <= most:
            raise ValueError(f"a $batch here holds 1 to {most} requests, not {len(calls)}")
        requests: list[dict[str, Any]] = []
        for n, call in enumerate(calls, 1):
            item: dict[str, Any] = {"id": str(n), "method": call.method, "url": call.path}
            headers = dict(call.headers)
            if call.body is not None:
                item["body"] = call.body
                headers["Content-Type"] = "application/json"
            if headers:
                item["headers"] = headers
            if n > 1:
                item["dependsOn"] = [str(n - 1)]
            requests.append(item)

        async def attempt() -> list[httpx.Response]:
            resp = await self.api.send_checked("POST", "/$batch", json={"requests": requests})
            answers = self._answers(resp, calls)
            self.api.errors.check(answers[0])
            return answers

        return await self.api.call(attempt, idempotent=idempotent, cost=len(calls))

    def _answers(self, resp: httpx.Response, calls: Sequence[Sub]) -> list[httpx.Response]:
        """The batch answer as one ``httpx.Response`` per call, in the order of ``calls``."""
        try:
            found = {str(r["id"]): r for r in resp.json()["responses"]}
            picked = [found[str(n)] for n in range(1, len(calls) + 1)]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError("Planner: a $batch answer without every response") from exc
        out: list[httpx.Response] = []
        for call, answer in zip(calls, picked, strict=True):
            request = self.api.http.build_request(call.method, call.path.lstrip("/"))
            body = answer.get("body")
            headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
            out.append(
                httpx.Response(int(answer.get("status", 500)), headers=headers, json=body, request=request)
                if body is not None
                else httpx.Response(int(answer.get("status", 500)), headers=headers, request=request)
            )
        return out

    async def patch_etag(
        self, path: str, body: dict[str, Any], *, etag_path: str | None = None, attempts: int = 3
    ) -> dict[str, Any]:
        """PATCH with ``If-Match``: read the etag, write, and on 412 (someone else changed
        it; 409 is treated alike) read again and retry. Returns the new representation."""
        for attempt in range(attempts):
            current = await self.get_json(etag_path or path)
            try:
                response = await self.api.request(
                    "PATCH",
                    path,
                    json=body,
                    headers={"If-Match": current["@odata.etag"], "Prefer": "return=representation"},
                )
            except ITEM_ERRORS as exc:
                if status_of(exc) in (409, 412) and attempt + 1 < attempts:
                    continue
                raise
            if response.status_code == 204:  # the service ignored Prefer
                return await self.get_json(etag_path or path)
            data: dict[str, Any] = response.json()
            return data
        raise AssertionError("unreachable")

    async def delete_etag(self, path: str) -> None:
        """DELETE with ``If-Match``; a missing item counts as deleted."""
        for attempt in range(3):
            try:
                current = await self.get_json(path)
                await self.api.delete(path, headers={"If-Match": current["@odata.etag"]})
                return
            except ITEM_ERRORS as exc:
                if status_of(exc) == 404:
                    return
                if status_of(exc) in (409, 412) and attempt < 2:
                    continue
                raise

    # -- files ----------------------------------------------------------------------------

    async def put_stream(self, path: str, chunks: AsyncIterator[bytes], content_type: str, size: int) -> dict[str, Any]:
        """Simple upload of a one-shot stream (not retried: the engine reconciles). The
        declared Content-Length makes a stream of another size fail instead of storing it."""
        response = await self.api.upload("PUT", path, chunks, content_type=content_type, length=size)
        data: dict[str, Any] = response.json()
        return data

    async def plain(
        self, method: str, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A call to a pre-authenticated URL (an upload session): no bearer token, under the
        pacer, checked by the error table."""
        client = self.api.files or self.api.http

        async def attempt() -> httpx.Response:
            request = client.build_request(method, url, content=content, headers=dict(headers or {}))
            return self.api.errors.check(await client.send(request))

        return await self.api.call(attempt)

    def download(self, path: str) -> AsyncIterator[bytes]:
        """The bytes behind ``path`` (Graph answers 302 to a pre-authenticated URL)."""
        return self.api.download(path)


def connect(
    credentials: PlannerCredentials,
    settings: PlannerSettings | None = None,
    *,
    pacer: Pacer,
    http: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
) -> PlannerClient:
    """A ``PlannerClient`` for ``credentials`` (``http`` defaults to the guarded client of
    the ``planner`` kind with ``base_url`` set to Graph)."""
    settings = settings or PlannerSettings()
    http = http or build_client("planner", allow_loopback=settings.allow_loopback, base_url=settings.base_url)
    credential = token_source(http, credentials, login_base_url=settings.login_base_url, clock=clock)
    api = ApiClient(http, pacer=pacer, errors=PLANNER_ERRORS, credential=credential)
    return PlannerClient(api, client_id=credentials.client_id, delegated=credentials.delegated)
