"""Trello wire calls. Every call goes through the credential's :class:`Pacer`; this module
only classifies responses.

Auth: ``Authorization: OAuth oauth_consumer_key="…", oauth_token="…"`` on every call
(https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/), which keeps
the key and token out of URLs and access logs; the ``/download/`` attachment routes accept
nothing else since 2021
(https://community.developer.atlassian.com/t/update-authenticated-access-to-s3/43681).

Error meanings specific to Trello:
* 401 ``invalid token`` / ``invalid key`` / ``expired token`` → credentials refused
  (AuthRequiredError, the run pauses); other 401s (``unauthorized permission requested``)
  mean "no access to this object" → PermissionDeniedError (the item is skipped).
* 429 bodies name the limit (``API_TOKEN_LIMIT_EXCEEDED``…); Trello sends no Retry-After, so
  the pacer backs off on its own (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from shared.contract.clock import Clock
from shared.contract.httperrors import error_for_response
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.errors import (
    AuthRequiredError,
    NotFoundError,
    PermissionDeniedError,
    SkippableItemError,
    ThrottledError,
)
from shared.net.guard import register_vendor_hosts
from shared.net.http import build_client

#: Trello allows 100 requests / 10 s per token in a sliding window. A token bucket lets
#: ``burst + rate × window`` through in any window, so 9 + 9/s × 10 s = 99 stays under it.
#: (The 300 / 10 s per key is shared by every token of the key; it cannot be paced per
#: credential and is left to the 429 handling.)
TRELLO_RATE_LIMIT = RateLimit(requests=90, per_seconds=10, burst=9, concurrency=8)
DOWNLOAD_CHUNK = 1024 * 1024
#: Where ``/download/`` redirects to: Trello keeps files on S3 behind short-lived signed
#: URLs (the exact bucket host is not documented; this is an assumption to confirm).
FILES_KIND = "trello_files"
register_vendor_hosts(FILES_KIND, ("trello-attachments.s3.amazonaws.com",
                                   "*.s3.amazonaws.com"))
_CREDENTIAL_ERRORS = ("invalid token", "invalid key", "expired token", "token revoked",
                      "token not found")
_REDIRECTS = (301, 302, 303, 307, 308)


def _check(resp: httpx.Response) -> httpx.Response:
    """Raise the typed error a Trello response stands for (body must be read)."""
    status = resp.status_code
    if status < 400:
        return resp
    where = f"{resp.request.method} {resp.request.url.path}"
    text = resp.text[:200].strip()
    if status == 401:
        if text.lower() in _CREDENTIAL_ERRORS or resp.request.url.path.endswith("/members/me"):
            raise AuthRequiredError(f"Trello refused the credentials: {text}")
        raise PermissionDeniedError(f"{where} → 401 {text}")
    if status == 404:
        raise NotFoundError(f"{where} → 404 {text}")
    if status == 429:
        raise ThrottledError(f"{where} → 429 {text}", retry_after=None)
    if status == 413:
        raise SkippableItemError(f"{where} → 413 {text}", status=413)
    err = error_for_response(resp)
    if err is not None:
        raise err
    return resp


class TrelloClient:
    """Thin async client of ``/1``; ``http`` comes from ``shared.net.http.build_client``
    with ``base_url`` set to the API root (``…/1``)."""

    def __init__(self, http: httpx.AsyncClient, api_key: str, token: str, *,
                 pacer: Pacer | None = None, clock: Clock | None = None,
                 files_http: httpx.AsyncClient | None = None) -> None:
        self.http = http
        self.pacer = pacer or Pacer(TRELLO_RATE_LIMIT, clock=clock)
        self._headers = {"Authorization":
                         f'OAuth oauth_consumer_key="{api_key}", oauth_token="{token}"',
                         "Accept": "application/json"}
        # No credentials on the file host: ``/download/`` redirects to a signed URL there.
        # Loopback is allowed for it exactly when the API client is on loopback (local mode).
        local = http.base_url.host in ("127.0.0.1", "localhost", "::1")
        self.files = files_http or build_client(FILES_KIND, allow_loopback=local)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.files.aclose()

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, idempotent: bool = True) -> Any:
        """One JSON call (``path`` relative to the API root, e.g. ``/boards/{id}``)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}

        async def send() -> httpx.Response:
            resp = await self.http.request(method, path.lstrip("/"), params=clean, json=json,
                                           headers=self._headers)
            return _check(resp)

        resp = await self.pacer.call(send, idempotent=idempotent)
        return resp.json() if resp.content else None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, *, params: Mapping[str, Any] | None = None,
                   json: Any = None) -> Any:
        return await self.request("POST", path, params=params, json=json, idempotent=False)

    async def put(self, path: str, *, json: Any = None) -> Any:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str) -> None:
        """Idempotent: a missing object is not an error."""
        try:
            await self.request("DELETE", path)
        except NotFoundError:
            return

    async def upload(self, path: str, body: AsyncIterator[bytes], content_type: str,
                     length: int | None) -> Any:
        """POST a streamed (multipart) body once: never retried, the stream is one-shot."""
        headers = {**self._headers, "Content-Type": content_type}
        if length is not None:
            headers["Content-Length"] = str(length)

        async def send() -> httpx.Response:
            resp = await self.http.post(path.lstrip("/"), content=body, headers=headers)
            return _check(resp)

        resp = await self.pacer.call(send, idempotent=False, replayable=False)
        return resp.json()

    async def download(self, url: str) -> AsyncIterator[bytes]:
        """Stream an uploaded attachment: the authorised ``/download/`` route answers 302 to
        the file host, which is fetched without our credentials."""
        resp = await self._open(self.http, url, self._headers)
        if resp.status_code in _REDIRECTS:
            location = resp.headers.get("location", "")
            await resp.aclose()
            target = resp.request.url.join(location)
            resp = await self._open(self.files, str(target), {})
        try:
            async for chunk in resp.aiter_bytes(DOWNLOAD_CHUNK):
                yield chunk
        finally:
            await resp.aclose()

    async def _open(self, http: httpx.AsyncClient, url: str,
                    headers: Mapping[str, str]) -> httpx.Response:
        async def send() -> httpx.Response:
            request = http.build_request("GET", url, headers=dict(headers))
            resp = await http.send(request, stream=True)
            if resp.status_code >= 400:
                await resp.aread()
                await resp.aclose()
                _check(resp)
            return resp

        return await self.pacer.call(send)
