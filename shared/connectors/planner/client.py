"""Wire calls to Microsoft Graph and the Entra ID token endpoint, all through one Pacer.

Auth (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow,
.../v2-oauth-ropc): client credentials for an app, or username + password (ROPC) for a
delegated Microsoft 365 account. Tokens are cached until a minute before expiry; a Graph 401
refreshes the token once. Paging follows `@odata.nextLink`; downloads follow the 302 to the
pre-authenticated URL without the bearer token.
"""
from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.contract.clock import Clock, SystemClock
from shared.contract.connector import MAX_CHUNK_BYTES
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.errors import (
    AuthRequiredError,
    NotFoundError,
    SkippableItemError,
    TransientError,
)
from shared.net.guard import VENDOR_HOSTS, register_vendor_hosts

GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
LOGIN_BASE_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"

# Downloads redirect to, and upload sessions live on, the tenant's SharePoint host.
if "*.sharepoint.com" not in VENDOR_HOSTS.get("planner", ()):
    register_vendor_hosts("planner", (*VENDOR_HOSTS.get("planner", ()), "*.sharepoint.com"))

#: Graph publishes no Planner-specific quota; its global limit is 130,000 requests / 10 s per
#: app (https://learn.microsoft.com/graph/throttling-limits). Planner throttles far earlier in
#: practice, so the pacer starts at 10 requests/s and adapts to 429 + Retry-After.
GRAPH_RATE_LIMIT = RateLimit(requests=600, per_seconds=60, burst=20, concurrency=8)


@dataclass(frozen=True)
class PlannerCredentials:
    """An Entra app (client_secret) or a delegated account (username + password)."""

    tenant: str
    client_id: str
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def delegated(self) -> bool:
        return self.username is not None


#: Per-item 4xx outcomes (raise_for_response: 404/410 → NotFoundError, others Skippable).
ITEM_ERRORS = (SkippableItemError, NotFoundError)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a SkippableItemError was raised for (None for other errors)."""
    extra = getattr(exc, "extra", None) or {}
    status = extra.get("status")
    return status if isinstance(status, int) else None


class TokenSource:
    """Fetches and caches access tokens from `{login_base_url}/{tenant}/oauth2/v2.0/token`."""

    def __init__(self, http: httpx.AsyncClient, pacer: Pacer, credentials: PlannerCredentials,
                 *, login_base_url: str = LOGIN_BASE_URL, clock: Clock | None = None) -> None:
        self.http = http
        self.pacer = pacer
        self.credentials = credentials
        self.url = f"{login_base_url.rstrip('/')}/{credentials.tenant}/oauth2/v2.0/token"
        self.clock = clock or SystemClock()
        self._token: str | None = None
        self._expires = -math.inf

    async def token(self, *, force: bool = False) -> str:
        """A valid access token (a new one when `force`)."""
        if not force and self._token and self.clock.monotonic() < self._expires - 60:
            return self._token
        creds = self.credentials
        form = {"client_id": creds.client_id, "scope": GRAPH_SCOPE}
        if creds.delegated:
            form.update(grant_type="password", username=creds.username or "",
                        password=creds.password or "")
        else:
            form["grant_type"] = "client_credentials"
        if creds.client_secret:
            form["client_secret"] = creds.client_secret
        response = await self.pacer.call(lambda: self._post(form))
        body = response.json()
        self._token = str(body["access_token"])
        self._expires = self.clock.monotonic() + float(body.get("expires_in", 3599))
        return self._token

    async def _post(self, form: dict[str, str]) -> httpx.Response:
        response = await self.http.post(self.url, data=form)
        if response.status_code in (400, 401):
            # AAD: invalid_client / invalid_grant / unauthorized_client / invalid_request...
            # (AADSTS codes in error_codes); every one means the credentials must be fixed.
            try:
                body = response.json()
                detail = f"{body.get('error')}: {str(body.get('error_description', ''))[:160]}"
            except ValueError:
                detail = f"token endpoint answered {response.status_code}"
            raise AuthRequiredError(detail)
        return response


class GraphClient:
    """JSON calls, paging, uploads and downloads against Graph with one credential."""

    def __init__(self, http: httpx.AsyncClient, pacer: Pacer, tokens: TokenSource,
                 *, base_url: str = GRAPH_BASE_URL) -> None:
        self.http = http
        self.pacer = pacer
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    async def _authorized(self, send: Callable[[dict[str, str]], Awaitable[httpx.Response]],
                          *, idempotent: bool = True, replayable: bool = True) -> httpx.Response:
        for attempt in (0, 1):
            token = await self.tokens.token(force=attempt == 1)
            headers = {"Authorization": f"Bearer {token}"}
            try:
                return await self.pacer.call(lambda h=headers: send(h),  # type: ignore[misc]
                                             idempotent=idempotent, replayable=replayable)
            except AuthRequiredError:
                if attempt == 1 or not replayable:
                    raise
        raise AssertionError("unreachable")

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                      idempotent: bool = True) -> httpx.Response:
        """One authorized call; non-2xx/3xx answers raise the shared.errors types."""
        extra = headers or {}

        async def send(auth: dict[str, str]) -> httpx.Response:
            return await self.http.request(method, self.url(path), json=json, params=params,
                                           headers={**auth, **extra})

        return await self._authorized(send, idempotent=idempotent)

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.request("GET", path, params=params)
        data: dict[str, Any] = response.json()
        return data

    async def get_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink`."""
        items: list[dict[str, Any]] = []
        page = await self.get_json(path, params)
        seen: set[str] = set()
        while True:
            items.extend(page.get("value", []))
            link = page.get("@odata.nextLink")
            if not link or link in seen:
                return items
            seen.add(link)
            page = await self.get_json(link)

    async def patch_etag(self, path: str, body: dict[str, Any], *, etag_path: str | None = None,
                         attempts: int = 3) -> dict[str, Any]:
        """PATCH with `If-Match` (Planner versions everything): read the etag, write, and on
        412 (someone else changed it; 409 is treated alike) read again and retry.
        Returns the new representation."""
        for attempt in range(attempts):
            current = await self.get_json(etag_path or path)
            try:
                response = await self.request(
                    "PATCH", path, json=body,
                    headers={"If-Match": current["@odata.etag"], "Prefer": "return=representation"})
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
        """DELETE with `If-Match`; a missing item counts as deleted."""
        for attempt in range(3):
            try:
                current = await self.get_json(path)
                await self.request("DELETE", path, headers={"If-Match": current["@odata.etag"]})
                return
            except ITEM_ERRORS as exc:
                if status_of(exc) == 404:
                    return
                if status_of(exc) in (409, 412) and attempt < 2:
                    continue
                raise

    async def put_stream(self, path: str, chunks: AsyncIterator[bytes], content_type: str,
                         size: int) -> dict[str, Any]:
        """Simple upload of a one-shot stream (not retried: the engine reconciles). The
        declared Content-Length makes a stream of another size fail instead of storing it."""

        async def send(auth: dict[str, str]) -> httpx.Response:
            return await self.http.put(self.url(path), content=chunks, headers={
                **auth, "Content-Type": content_type, "Content-Length": str(size)})

        response = await self._authorized(send, idempotent=False, replayable=False)
        data: dict[str, Any] = response.json()
        return data

    async def put_fragment(self, upload_url: str, data: bytes, start: int,
                           total: int) -> httpx.Response:
        """One upload-session fragment. The upload URL is pre-authenticated: no bearer."""
        headers = {"Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"}
        return await self.pacer.call(
            lambda: self.http.put(upload_url, content=data, headers=headers))

    async def stream_download(self, path: str) -> AsyncIterator[bytes]:
        """Follow Graph's 302 to the download URL and stream the bytes in bounded chunks."""
        redirect = await self.request("GET", path)
        location = redirect.headers.get("location")
        if redirect.status_code not in (301, 302, 303, 307) or not location:
            raise TransientError(f"expected a redirect to the file, got {redirect.status_code}")

        async def open_body() -> httpx.Response:
            response = await self.http.send(self.http.build_request("GET", location), stream=True)
            if response.status_code >= 400:
                await response.aread()
                await response.aclose()
            return response

        response = await self.pacer.call(open_body)
        try:
            async for chunk in response.aiter_bytes(chunk_size=min(MAX_CHUNK_BYTES, 1 << 20)):
                yield chunk
        finally:
            await response.aclose()

