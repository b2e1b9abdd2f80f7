"""Asana wire calls: every request goes through the credential's ``Pacer``.

Base URL ``https://app.asana.com/api/1.0``; bearer PAT; bodies ``{"data": ...}``; errors
``{"errors": [{"message", "help"}]}``; pagination by ``limit`` (1-100) + ``offset`` token
(https://developers.asana.com/docs/pagination). Rate limits per token: 150/min (free) or
1,500/min (paid), 50 concurrent reads and 15 concurrent writes, 429 + ``Retry-After``
(https://developers.asana.com/docs/rate-limits); the pacer's concurrency is the write cap.

Attachment bytes come from ``download_url``, a presigned link to Asana's file store valid
for about two minutes (AttachmentResponse.download_url). It is fetched just in time,
without the bearer token, through a second guarded client whose allowed hosts are
``DOWNLOAD_HOSTS``.
"""
from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from shared.connectors.asana.auth import StaticToken, TokenSource
from shared.contract.connector import MAX_CHUNK_BYTES
from shared.contract.httperrors import error_for_response
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.errors import NotFoundError, SkippableItemError
from shared.net.guard import register_vendor_hosts
from shared.net.http import build_client

API_BASE = "https://app.asana.com/api/1.0"
FILES_KIND = "asana_files"
#: Where presigned attachment links point. Asana serves them from Amazon S3 buckets; the
#: exact bucket names are not documented, hence the S3 wildcard (public addresses only:
#: the guard still refuses private and loopback addresses outside local mode).
DOWNLOAD_HOSTS = ("*.s3.amazonaws.com", "app.asana.com")
register_vendor_hosts(FILES_KIND, DOWNLOAD_HOSTS)

PLANS = {"free": 150, "paid": 1500}
PAGE_MAX = 100


def asana_rate_limit(plan: str = "paid") -> RateLimit:
    """The documented per-token limit of a plan ("free" or "paid")."""
    return RateLimit(requests=PLANS[plan], per_seconds=60, burst=25 if plan == "paid" else 10,
                     concurrency=15)


class OffsetExpiredError(SkippableItemError):
    """Asana refused an offset token (expired or foreign): restart the listing."""


def _message(resp: httpx.Response) -> str:
    try:
        errors = resp.json().get("errors") or [{}]
        return str(errors[0].get("message", ""))
    except (ValueError, AttributeError):
        return ""


def _check(resp: httpx.Response) -> httpx.Response:
    """Raise the typed error for a failed response (Asana specifics first)."""
    if resp.status_code < 400:
        return resp
    where = f"{resp.request.method} {resp.request.url.path}"
    if resp.status_code == 404:
        raise NotFoundError(f"{where}: {_message(resp)}")
    if resp.status_code == 400 and _message(resp).startswith("offset:"):
        raise OffsetExpiredError(f"{where}: {_message(resp)}", status=400)
    err = error_for_response(resp)
    if err is not None:
        raise err
    return resp


class AsanaClient:
    """Thin async client of the Asana REST API. ``base_url`` is the ``…/api/1.0`` root.

    ``token`` is a personal access token or a :class:`TokenSource` (OAuth refresher).
    """

    def __init__(self, base_url: str, token: str | TokenSource, *, pacer: Pacer | None = None,
                 plan: str = "paid", allow_loopback: bool = False,
                 http: httpx.AsyncClient | None = None,
                 files_http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer = pacer or Pacer(asana_rate_limit(plan))
        self.tokens: TokenSource = StaticToken(token) if isinstance(token, str) else token
        self.http = http or build_client("asana", allow_loopback=allow_loopback,
                                         base_url=self.base_url)
        self.http.headers["Accept"] = "application/json"
        # No bearer token here: download links are presigned and may point elsewhere.
        self.files = files_http or build_client(FILES_KIND, allow_loopback=allow_loopback)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.files.aclose()

    async def _request(self, method: str, path: str, *, retry_auth: bool = True,
                       **kwargs: Any) -> httpx.Response:
        """Send with the current bearer token; on 401 refresh an OAuth token once."""
        token = await self.tokens.token()
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
        resp = await self.http.request(method, path, headers=headers, **kwargs)
        if resp.status_code == 401 and retry_auth and self.tokens.refreshable:
            await resp.aclose()
            fresh = await self.tokens.refresh(token)
            headers["Authorization"] = f"Bearer {fresh}"
            resp = await self.http.request(method, path, headers=headers, **kwargs)
        return resp

    async def _call(self, send: Callable[[], Awaitable[httpx.Response]], *,
                    idempotent: bool = True, replayable: bool = True) -> Any:
        async def attempt() -> Any:
            resp = _check(await send())
            return resp.json().get("data") if resp.content else None

        return await self.pacer.call(attempt, idempotent=idempotent, replayable=replayable)

    # --- JSON calls --------------------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        """``data`` of a GET."""
        return await self._call(lambda: self._request("GET", path, params=_clean(params)))

    async def page(self, path: str, params: dict[str, Any], offset: str | None,
                   limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a listing: (items, next offset or None)."""
        query = _clean({**params, "limit": max(1, min(PAGE_MAX, limit)), "offset": offset})

        async def attempt() -> tuple[list[dict[str, Any]], str | None]:
            body = _check(await self._request("GET", path, params=query)).json()
            nxt = body.get("next_page")
            return list(body.get("data") or []), (nxt or {}).get("offset")

        return await self.pacer.call(attempt)

    async def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a listing, page by page (for small listings such as sections)."""
        out: list[dict[str, Any]] = []
        offset: str | None = None
        while True:
            items, offset = await self.page(path, params, offset, PAGE_MAX)
            out.extend(items)
            if offset is None:
                return out

    async def post(self, path: str, data: dict[str, Any], *, idempotent: bool = False) -> Any:
        return await self._call(lambda: self._request("POST", path, json={"data": data}),
                                idempotent=idempotent)

    async def put(self, path: str, data: dict[str, Any]) -> Any:
        return await self._call(lambda: self._request("PUT", path, json={"data": data}))

    async def delete(self, path: str) -> None:
        """Idempotent: a missing object is already deleted."""
        try:
            await self._call(lambda: self._request("DELETE", path))
        except NotFoundError:
            return

    # --- files -------------------------------------------------------------------------------

    async def upload(self, fields: dict[str, str], file: tuple[str, str, AsyncIterator[bytes],
                                                               int | None] | None = None) -> Any:
        """POST /attachments as multipart/form-data, streaming the file part.

        ``file`` = (name, content type, chunks, size or None). With a known size the body
        has a Content-Length; a stream that yields a different size fails the upload.
        Non-ASCII file names are URL-encoded, as the createAttachmentForObject docs ask.
        """
        boundary = "ferry-" + secrets.token_hex(12)
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
            + v.encode() + b"\r\n" for k, v in fields.items())
        file_head = b""
        if file is not None:
            name = quote(file[0], safe=" ._-()")
            file_head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                         f'filename="{name}"; filename*=UTF-8\'\'{quote(file[0])}\r\n'
                         f"Content-Type: {file[1]}\r\n\r\n").encode()
        tail = (b"\r\n" if file is not None else b"") + f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        size = file[3] if file is not None else 0
        if size is not None:
            headers["Content-Length"] = str(len(head) + len(file_head) + size + len(tail))

        async def body() -> AsyncIterator[bytes]:
            yield head + file_head
            sent = 0
            if file is not None:
                async for chunk in file[2]:
                    sent += len(chunk)
                    if size is not None and sent > size:
                        raise SkippableItemError("attachment is larger than declared",
                                                 status=400)
                    yield chunk
                if size is not None and sent != size:
                    raise SkippableItemError("attachment is smaller than declared", status=400)
            yield tail

        # A one-shot body cannot be re-sent after a 401: _request gets a fresh token first.
        return await self._call(lambda: self._request("POST", "/attachments", content=body(),
                                                      headers=headers, retry_auth=False),
                                idempotent=False, replayable=file is None)

    async def download(self, url: str, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """Stream a presigned download link in chunks of at most ``MAX_CHUNK_BYTES``."""
        async def open_stream() -> httpx.Response:
            resp = await self.files.send(self.files.build_request("GET", url), stream=True)
            if resp.status_code >= 400:
                await resp.aread()
                await resp.aclose()
                _check(resp)
            return resp

        resp = await self.pacer.call(open_stream)
        try:
            async for chunk in resp.aiter_bytes(min(chunk_size, MAX_CHUNK_BYTES)):
                yield chunk
        finally:
            await resp.aclose()


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
