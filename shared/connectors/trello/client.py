"""Trello wire calls on the kit's ``ApiClient``: every call through the credential's pacer,
checked by ``TRELLO_ERRORS``.

What Trello's statuses mean beyond the kit's defaults:
* 401 ``invalid token`` / ``invalid key`` / ``expired token`` … (or any 401 on
  ``/members/me``) → credentials refused (``AuthRequiredError``, the run pauses); other 401s
  (``unauthorized permission requested``) mean "no access to this object" →
  ``PermissionDeniedError`` (the item is skipped).
* 429 bodies name the limit (``API_TOKEN_LIMIT_EXCEEDED``…) and Trello sends no
  Retry-After, so the pacer backs off on its own
  (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable, becomes, rule
from shared.connectors.kit.http import ApiClient
from shared.connectors.trello.api_types import TBoard, TMember, TOrganization
from shared.connectors.trello.capabilities import TRELLO_RATE_LIMIT
from shared.connectors.trello.mapping import user
from shared.contract.clock import Clock
from shared.contract.model import Container, ContainerKind, UserRef
from shared.contract.pacer import Pacer
from shared.errors import AuthRequiredError, PermissionDeniedError
from shared.net.guard import register_vendor_hosts
from shared.net.http import build_client

DOWNLOAD_CHUNK = 1024 * 1024
#: Where ``/download/`` redirects to: Trello keeps files on S3 behind short-lived signed
#: URLs (the exact bucket host is not documented; this is an assumption to confirm).
FILES_KIND = "trello_files"
register_vendor_hosts(FILES_KIND, ("trello-attachments.s3.amazonaws.com", "*.s3.amazonaws.com"))
_CREDENTIAL_ERRORS = ("invalid token", "invalid key", "expired token", "token revoked", "token not found")


def _credentials_refused(resp: httpx.Response) -> bool:
    return resp.text[:200].strip().lower() in _CREDENTIAL_ERRORS or resp.request.url.path.endswith("/members/me")


TRELLO_ERRORS = ErrorTable(
    "Trello",
    [
        rule(401, becomes(AuthRequiredError, "Trello refused the credentials: "), when=_credentials_refused),
        rule(401, becomes(PermissionDeniedError)),
    ],
)


class TrelloClient:
    """Thin async client of ``/1``; ``http`` comes from ``shared.net.http.build_client``
    with ``base_url`` set to the API root (``…/1``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credential: Credential,
        *,
        pacer: Pacer | None = None,
        clock: Clock | None = None,
        files_http: httpx.AsyncClient | None = None,
    ) -> None:
        # No credentials on the file host: ``/download/`` redirects to a signed URL there.
        # Loopback is allowed for it exactly when the API client is on loopback (local mode).
        local = http.base_url.host in ("127.0.0.1", "localhost", "::1")
        self.api = ApiClient(
            http,
            pacer=pacer or Pacer(TRELLO_RATE_LIMIT, clock=clock),
            errors=TRELLO_ERRORS,
            credential=credential,
            files=files_http or build_client(FILES_KIND, allow_loopback=local),
        )
        self.pacer = self.api.pacer
        self._me: UserRef | None = None

    async def aclose(self) -> None:
        await self.api.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.api.json("GET", path, params=params)

    async def post(self, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        return await self.api.json("POST", path, params=params, json=json, idempotent=False)

    async def put(self, path: str, *, json: Any = None) -> Any:
        return await self.api.json("PUT", path, json=json)

    async def delete(self, path: str) -> None:
        """Idempotent: a missing object is not an error."""
        await self.api.delete(path)

    async def upload(self, path: str, body: AsyncIterator[bytes], content_type: str, length: int | None) -> Any:
        """POST a streamed (multipart) body once: never retried, the stream is one-shot."""
        resp = await self.api.upload("POST", path, body, content_type=content_type, length=length)
        return resp.json()

    def download(self, url: str) -> AsyncIterator[bytes]:
        """Stream an uploaded attachment: the authorised ``/download/`` route answers 302 to
        the file host, which is fetched without our credentials."""
        return self.api.download(url, chunk_size=DOWNLOAD_CHUNK)

    # --- the account, shared by reader and writer ----------------------------------------

    async def whoami(self) -> UserRef:
        """The token's member; Trello shows the e-mail to its owner only. Cached: the
        ``/1/members/`` routes have their own, small limit (100 / 900 s)."""
        if self._me is None:
            me = TMember.model_validate(await self.get("/members/me", fields="username,fullName,email"))
            self._me = user(me)
        return self._me

    async def list_containers(self) -> list[Container]:
        """Workspaces the member belongs to and every board the member can open."""
        me = (await self.whoami()).source_id
        orgs = [
            TOrganization.model_validate(o)
            for o in await self.get(f"/members/{me}/organizations", fields="name,displayName")
        ]
        boards = [
            TBoard.model_validate(b)
            for b in await self.get(f"/members/{me}/boards", filter="all", fields="name,closed,idOrganization")
        ]
        out = [Container(id=o.id, name=o.displayName or o.name, kind=ContainerKind.WORKSPACE) for o in orgs]
        out += [Container(id=b.id, name=b.name, kind=ContainerKind.BOARD, parent_id=b.idOrganization) for b in boards]
        return out
