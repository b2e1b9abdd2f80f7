"""``ApiClient``: how a connector talks to its vendor.

Every request goes through the credential's ``Pacer`` (retries, ``Retry-After``, the rate
budget), is checked by the vendor's ``ErrorTable`` and carries the ``Credential``'s headers;
after a 401 a refreshable credential is refreshed once and the request sent again. Creates
pass ``idempotent=False``: a 5xx or a dropped answer is then ambiguous and goes back to the
engine, which reconciles by marker. A one-shot body (a streamed upload) is never re-sent:
its credential is made fresh before sending instead.

Downloads open a stream and follow redirects by hand, without credentials on the other host
(pre-signed file URLs on S3 or SharePoint must not receive the vendor token), through a
second client guarded for the vendor's file hosts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from shared.connectors.kit.auth import Credential
from shared.connectors.kit.errors import ErrorTable
from shared.contract.connector import MAX_CHUNK_BYTES
from shared.contract.pacer import Pacer
from shared.errors import NotFoundError, TransientError

T = TypeVar("T")

_REDIRECTS = (301, 302, 303, 307, 308)
#: redirects followed by hand for one download (Graph: content → SharePoint; Trello: S3)
MAX_REDIRECTS = 3


class ApiClient:
    """A vendor's HTTP API with one credential. ``http`` has ``base_url`` set to the API root;
    ``files`` (optional) reaches the hosts downloads redirect to."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        pacer: Pacer,
        errors: ErrorTable,
        credential: Credential,
        files: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.pacer = pacer
        self.errors = errors
        self.credential = credential
        self.files = files
        self.headers = dict(headers or {"Accept": "application/json"})

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.files is not None:
            await self.files.aclose()

    # --- one request -------------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, *, replayable: bool, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send once with the credential's headers; after a 401, refresh once and resend
        (a one-shot body is not resent: the 401 stands and the engine retries the item)."""
        extra: dict[str, str] = kwargs.pop("headers", None) or {}
        auth = await self.credential.headers()
        resp = await self._raw(method, url, {**self.headers, **extra, **auth}, stream, kwargs)
        if resp.status_code == 401 and self.credential.refreshable and replayable:
            await resp.aclose()
            auth = await self.credential.refresh(auth)
            resp = await self._raw(method, url, {**self.headers, **extra, **auth}, stream, kwargs)
        return resp

    async def _raw(
        self, method: str, url: str, headers: dict[str, str], stream: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        request = self.http.build_request(method, url, headers=headers, **kwargs)
        resp = await self.http.send(request, stream=stream)
        if stream and resp.status_code >= 400:
            await resp.aread()  # the error table reads the body
            await resp.aclose()
        return resp

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        replayable: bool = True,
    ) -> httpx.Response:
        """One checked call (``path`` relative to the API root, or an absolute URL the guard
        allows). Raises the vendor table's typed errors."""
        kwargs = _kwargs(params, json, content, data, files, headers)

        async def attempt() -> httpx.Response:
            resp = await self._send(method, _relative(path), replayable=replayable, **kwargs)
            return self.errors.check(resp)

        return await self.pacer.call(attempt, idempotent=idempotent, replayable=replayable)

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = True,
        replayable: bool = True,
        cost: int = 1,
    ) -> T:
        """Run a connector-built attempt under the pacer (for calls ``request`` cannot
        express, such as a GraphQL body whose errors come back with status 200, or a batch
        the vendor counts as ``cost`` requests)."""
        return await self.pacer.call(attempt, idempotent=idempotent, replayable=replayable, cost=cost)

    async def send_checked(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``_send`` + the error table, without the pacer: for use inside ``call``."""
        replayable = kwargs.pop("replayable", True)
        return self.errors.check(await self._send(method, _relative(path), replayable=replayable, **kwargs))

    # --- JSON ---------------------------------------------------------------------------------

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        """The decoded JSON body of a call (None when the answer is empty). A 2xx that is not
        JSON is a proxy or an outage page: treated like a 5xx (retried, or ambiguous for a
        create)."""
        kwargs = _kwargs(params, json, None, None, None, headers)

        async def attempt() -> Any:
            resp = self.errors.check(await self._send(method, _relative(path), replayable=True, **kwargs))
            if not resp.content:
                return None
            try:
                return resp.json()
            except ValueError as exc:
                raise TransientError(
                    f"{self.errors.vendor}: {method} {_path_of(path)} answered "
                    f"{resp.status_code} with a body that is not JSON"
                ) from exc

        return await self.pacer.call(attempt, idempotent=idempotent)

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.json("GET", path, params=params)

    async def delete(self, path: str, *, headers: Mapping[str, str] | None = None) -> None:
        """Idempotent: an object already gone is deleted."""
        try:
            await self.request("DELETE", path, headers=headers)
        except NotFoundError:
            return

    # --- files --------------------------------------------------------------------------------

    async def upload(
        self,
        method: str,
        path: str,
        body: AsyncIterator[bytes],
        *,
        content_type: str,
        length: int | None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a streamed body once: never retried (the stream is one-shot); the engine
        reconciles by marker and re-opens the source stream. The credential is refreshed
        before sending if it is about to expire (``headers()`` does that)."""
        extra = {**(headers or {}), "Content-Type": content_type}
        if length is not None:
            extra["Content-Length"] = str(length)
        return await self.request(method, path, content=body, headers=extra, idempotent=False, replayable=False)

    async def download(
        self, url: str, *, authorised: bool = True, chunk_size: int = 1024 * 1024
    ) -> AsyncIterator[bytes]:
        """Stream a file in chunks of at most ``MAX_CHUNK_BYTES``. ``url`` on the API host is
        fetched with credentials (``authorised``); a redirect is followed on ``files``
        without them. A pre-signed URL is fetched with ``authorised=False``."""
        resp = await self.pacer.call(lambda: self._open(url, authorised))
        try:
            async for chunk in resp.aiter_bytes(min(chunk_size, MAX_CHUNK_BYTES)):
                yield chunk
        finally:
            await resp.aclose()

    async def _open(self, url: str, authorised: bool) -> httpx.Response:
        if authorised:
            resp = self.errors.check(await self._send("GET", _relative(url), replayable=True, stream=True))
        else:
            resp = await self._open_plain(url)
        hops = 0
        while resp.status_code in _REDIRECTS:
            location = resp.headers.get("location", "")
            await resp.aclose()
            hops += 1
            if not location or hops > MAX_REDIRECTS:
                raise TransientError(f"{self.errors.vendor}: download redirected without end")
            resp = await self._open_plain(str(resp.request.url.join(location)))
        return resp

    async def _open_plain(self, url: str) -> httpx.Response:
        client = self.files or self.http
        resp = await client.send(client.build_request("GET", url), stream=True)
        if resp.status_code >= 400:
            await resp.aread()
            await resp.aclose()
            self.errors.check(resp)
        return resp


def _kwargs(
    params: Mapping[str, Any] | None, json: Any, content: Any, data: Any, files: Any, headers: Mapping[str, str] | None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": dict(headers or {})}
    if params is not None:
        kwargs["params"] = {k: v for k, v in params.items() if v is not None}
    for key, value in (("json", json), ("content", content), ("data", data), ("files", files)):
        if value is not None:
            kwargs[key] = value
    return kwargs


def _relative(path: str) -> str:
    """Paths are joined to the client's ``base_url`` (httpx drops a leading '/' otherwise)."""
    if path.startswith(("http://", "https://")):
        return path
    return path.lstrip("/")


def _path_of(path: str) -> str:
    return httpx.URL(path).path if path.startswith(("http://", "https://")) else path
