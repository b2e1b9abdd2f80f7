"""Azure DevOps wire calls (REST 7.1) on the kit's ``ApiClient``.

The client's base URL is the organization URL (``https://dev.azure.com/<org>`` or an
Azure DevOps Server collection). Every call carries ``api-version`` (comments need the
preview version). Collections answer ``{"count", "value"}``; projects page with ``$top``
and the ``x-ms-continuationtoken`` header; work items are found with WIQL (ids only,
``$top``) and read 200 ids at a time (``workitemsbatch``).

What Azure DevOps' statuses mean beyond the kit's defaults (``ADO_ERRORS``):
* 429 ``TF400733`` (the TSTU consumption limit) carries ``Retry-After``: the pacer waits.
* 400 ``… is an unknown identity`` → ``UnknownIdentityError`` (the writer drops the assignee
  and reports it); 400 ``TF51535: Cannot find field`` → ``UnknownFieldError`` (the process
  lacks a field, e.g. the dates: the writer drops it and reports it); 400 ``… already
  exists`` on a link → ``RelationExistsError`` (a retried link: it is there).
* 203 with a sign-in page instead of JSON is how the service refuses some credentials:
  ``AuthRequiredError``, like a 401.
"""

from __future__ import annotations

import json as json_module
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from shared.connectors.azure_devops.capabilities import AZURE_DEVOPS_RATE_LIMIT
from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable, body_says, rule
from shared.connectors.kit.http import ApiClient
from shared.contract.clock import Clock
from shared.contract.model import Container, ContainerKind, UserRef
from shared.contract.pacer import Pacer
from shared.errors import (
    AuthRequiredError,
    FerryError,
    NotFoundError,
    SkippableItemError,
    TransientError,
)

API_VERSION = "7.1"
PREVIEW_VERSION = "7.1-preview.4"
#: work items per ``workitemsbatch`` (VS403474 above)
BATCH_MAX = 200
DOWNLOAD_CHUNK = 1024 * 1024
JSON_PATCH = "application/json-patch+json"


class UnknownIdentityError(SkippableItemError):
    """An identity field names someone the organization does not know."""


class UnknownFieldError(SkippableItemError):
    """The work item type (its process) has no such field."""


class RelationExistsError(SkippableItemError):
    """The work item already has that link (a retried link whose first answer was lost)."""


def _as(error: type[SkippableItemError]) -> Any:
    def make(resp: httpx.Response, detail: str) -> FerryError:
        return error(detail, status=resp.status_code)

    return make


ADO_ERRORS = ErrorTable(
    "Azure DevOps",
    [
        rule(400, _as(UnknownIdentityError), when=body_says("unknown identity")),
        rule(400, _as(UnknownFieldError), when=body_says("TF51535")),
        rule(400, _as(RelationExistsError), when=body_says("already exists")),
    ],
)


def organization_name(org_url: str) -> str:
    """``https://dev.azure.com/<org>`` → ``<org>``; ``https://<org>.visualstudio.com`` →
    ``<org>``; a server collection URL → its last segment."""
    url = httpx.URL(org_url)
    segment = url.path.rstrip("/").rsplit("/", 1)[-1]
    if segment:
        return segment
    return url.host.split(".", 1)[0]


class AdoClient:
    """Thin async client of one organization; ``http`` has ``base_url`` = organization URL."""

    def __init__(
        self, http: httpx.AsyncClient, credential: Credential, *, pacer: Pacer | None = None, clock: Clock | None = None
    ) -> None:
        self.api = ApiClient(
            http, pacer=pacer or Pacer(AZURE_DEVOPS_RATE_LIMIT, clock=clock), errors=ADO_ERRORS, credential=credential
        )
        self.pacer = self.api.pacer
        self.org_url = str(http.base_url).rstrip("/")
        self.organization = organization_name(self.org_url)
        self._me: UserRef | None = None
        #: more to close with the client (an Entra credential's token endpoint client)
        self.closers: list[Callable[[], Awaitable[None]]] = []

    async def aclose(self) -> None:
        await self.api.aclose()
        for close in self.closers:
            await close()

    # --- JSON calls ----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content_type: str | None = None,
        idempotent: bool = True,
        preview: bool = False,
    ) -> httpx.Response:
        """One checked, paced call; ``path`` is relative to the organization URL."""
        query = {**(params or {}), "api-version": PREVIEW_VERSION if preview else API_VERSION}
        headers = {"Content-Type": content_type} if content_type else None

        async def attempt() -> httpx.Response:
            kwargs: dict[str, Any] = {"params": {k: v for k, v in query.items() if v is not None}}
            if json is not None:
                kwargs["content"] = _dumps(json)
                kwargs["headers"] = {"Content-Type": content_type or "application/json"}
            elif headers:
                kwargs["headers"] = headers
            resp = await self.api.send_checked(method, path, **kwargs)
            if resp.status_code == 203:
                raise AuthRequiredError(
                    "Azure DevOps answered with a sign-in page: the credentials were refused (reconnect the connector)"
                )
            return resp

        return await self.api.call(attempt, idempotent=idempotent)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = await self.call(method, path, **kwargs)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as exc:
            raise TransientError(f"Azure DevOps: {method} {path} answered a body that is not JSON") from exc

    async def get(self, path: str, **params: Any) -> Any:
        return await self.json("GET", path, params=params)

    async def patch_work_item(
        self, project: str, wid: str | int, ops: list[dict[str, Any]], **params: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = await self.json(
            "PATCH", f"{segment(project)}/_apis/wit/workitems/{wid}", params=params, json=ops, content_type=JSON_PATCH
        )
        return body

    async def create_work_item(
        self, project: str, type_name: str, ops: list[dict[str, Any]], **params: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = await self.json(
            "POST",
            f"{segment(project)}/_apis/wit/workitems/${quote(type_name)}",
            params=params,
            json=ops,
            content_type=JSON_PATCH,
            idempotent=False,
        )
        return body

    async def delete(self, path: str, **params: Any) -> None:
        """Idempotent: an object already gone is deleted."""
        try:
            await self.call("DELETE", path, params=params)
        except NotFoundError:
            return

    # --- work item queries -----------------------------------------------------------------

    async def wiql(self, project: str, where: str, *, top: int | None = None, order: str = "[System.Id]") -> list[int]:
        """Ids of the project's work items matching ``where`` (WIQL), in ``order``."""
        query = (
            f"SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"
            f"{' AND ' + where if where else ''} ORDER BY {order}"
        )
        body = await self.json(
            "POST", f"{segment(project)}/_apis/wit/wiql", params={"$top": top}, json={"query": query}
        )
        return [int(w["id"]) for w in body.get("workItems") or []]

    async def work_items(
        self, project: str, ids: list[int], *, fields: list[str] | None = None, expand: str | None = None
    ) -> list[dict[str, Any]]:
        """Work items by id, in the order asked, ≤ 200 per call; deleted ones are left out."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH_MAX):
            body: dict[str, Any] = {"ids": ids[start : start + BATCH_MAX], "errorPolicy": "omit"}
            if fields:
                body["fields"] = fields
            if expand:
                body["$expand"] = expand
            answer = await self.json("POST", f"{segment(project)}/_apis/wit/workitemsbatch", json=body)
            out.extend(v for v in answer.get("value") or [] if v)
        return out

    # --- files -------------------------------------------------------------------------------

    async def upload(self, project: str, name: str, body: AsyncIterator[bytes], size: int | None) -> dict[str, Any]:
        """One simple upload, streamed, sent once (the stream is one-shot)."""
        path = (
            f"{segment(project)}/_apis/wit/attachments?fileName={quote(name)}"
            f"&uploadType=Simple&api-version={API_VERSION}"
        )
        resp = await self.api.upload("POST", path, body, content_type="application/octet-stream", length=size)
        answer: dict[str, Any] = resp.json()
        return answer

    def download(self, url: str) -> AsyncIterator[bytes]:
        """Stream an attachment from its URL on the organization's host (with credentials)."""
        sep = "&" if "?" in url else "?"
        return self.api.download(f"{url}{sep}api-version={API_VERSION}&download=true", chunk_size=DOWNLOAD_CHUNK)

    # --- the account ---------------------------------------------------------------------------

    async def whoami(self) -> UserRef:
        """The authenticated identity (``_apis/connectionData``); cached."""
        if self._me is None:
            body = await self.get("_apis/connectionData")
            user = body.get("authenticatedUser") or {}
            account = ((user.get("properties") or {}).get("Account") or {}).get("$value")
            self._me = UserRef(
                email=account if account and "@" in str(account) else None,
                display_name=user.get("providerDisplayName"),
                source_id=user.get("id"),
            )
        return self._me

    async def projects(self) -> list[dict[str, Any]]:
        """Every project of the organization (paged by continuation token)."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            resp = await self.call("GET", "_apis/projects", params={"$top": 100, "continuationToken": token})
            out.extend(resp.json().get("value") or [])
            token = resp.headers.get("x-ms-continuationtoken")
            if not token:
                return out
            if token in seen:
                raise TransientError("Azure DevOps: project paging loop")
            seen.add(token)

    async def list_containers(self) -> list[Container]:
        """The organization (a workspace) and its projects."""
        out = [Container(id=self.organization, name=self.organization, kind=ContainerKind.WORKSPACE)]
        out += [
            Container(id=p["id"], name=p.get("name") or "", kind=ContainerKind.PROJECT, parent_id=self.organization)
            for p in await self.projects()
        ]
        return out


def segment(project: str) -> str:
    """A project id or name as one path segment."""
    return quote(project, safe="")


def _dumps(value: Any) -> bytes:
    return json_module.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
