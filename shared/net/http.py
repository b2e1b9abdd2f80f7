"""The only way connectors get an HTTP client: `build_client`, with the SSRF guard built in.

Connectors see plain httpx (`httpx.AsyncClient`, `httpx.Response`, httpx exceptions,
`client.stream`, async byte-stream uploads, httpx timeouts); the bytes go through aiohttp
(`GuardedTransport`, an httpx transport that sends each request on our own
`aiohttp.ClientSession`; `httpx_aiohttp.AiohttpTransport`, its base, holds and closes the
session), which costs about half the CPU per request of httpcore (issue 19 item 4; README
"Worker CPU"). Small answers of known length are read at once (`GuardedTransport`).

The guard sits below anything a connector can change:

* `GuardedTransport.handle_async_request` checks scheme, host and port of every request
  (`DestinationPolicy.check_url`, which also refuses every non-public IP literal) and
  refuses a redirect to another origin (`GuardedAsyncClient` marks it) and a request that
  asks for another TLS name (`sni_hostname`);
* the session's `aiohttp.TCPConnector` resolves names only through `GuardedResolver`:
  our `Resolver` (default `system_resolver`), bounded by the request's connect timeout,
  then `DestinationPolicy.check_addresses` on every address; the connector connects only
  to the addresses the resolver returned, and its DNS cache is off, so every new
  connection is a fresh, checked lookup. aiohttp still sends SNI and `Host` for the
  original name and verifies the certificate against it, so DNS rebinding between check
  and connect is impossible (IP literals skip the resolver; `check_url` has judged them);
* only TCP: the connector is a `TCPConnector`, never a unix socket;
* no proxies and no .netrc from the environment (`trust_env=False`): a proxy would connect
  for us; no cookie jar at all (`_NoCookies`; aiohttp's is a dummy): vendor APIs authenticate
  every request by its token, so nothing a vendor sets is kept or sent back;
* TLS 1.2 or newer, certificate verification always on, with the process's shared
  `SSLContext` (a local simulator CA can be added in local mode only).

aiohttp's exceptions reach connectors as httpx transport errors (`_AIOHTTP_ERRORS`), so
`shared.contract.pacer` and the connectors' error tables treat them as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from httpx_aiohttp import AiohttpTransport

from shared.contract.budget import SEND_WINDOW
from shared.errors import UnsafeDestinationError
from shared.net.guard import DestinationPolicy, Resolver, policy_for, system_resolver

logger = logging.getLogger(__name__)

_CROSS_ORIGIN = "ferry.cross_origin_redirect"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30.0)
#: Longest response status line / header line accepted (aiohttp's default is 8190 bytes;
#: h11, which httpx used before, accepted a 16 KiB header block).
MAX_HEADER_LINE = 16 * 1024

#: The connect timeout of the request being sent: aiohttp gives a resolver no timeout, and
#: its own `connect` timeout is httpx's pool timeout (httpx_aiohttp), so the transport
#: hands the connect timeout to `GuardedResolver` here (set and read in the same task).
_CONNECT_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("ferry_connect_timeout", default=None)

_RESOLVED_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class GuardedResolver(AbstractResolver):
    """aiohttp resolver: resolve once (bounded by the connect timeout), check every address,
    return only checked addresses; the connector connects to nothing else."""

    def __init__(self, policy: DestinationPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolve = resolver or system_resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolveResult]:
        try:
            # the connect timeout covers the lookup too: a slow resolver must not hang a chunk
            async with asyncio.timeout(_CONNECT_TIMEOUT.get()):
                addresses = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"could not resolve {host}") from exc
        self._policy.check_addresses(host, addresses)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": _RESOLVED_FLAGS,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


#: aiohttp exception → the httpx exception httpcore raised for the same failure; first
#: match wins (subclasses first). Every target is an `httpx.TransportError`, which the pacer
#: retries. Finer than httpx_aiohttp's own table, which calls a server disconnect a
#: `ConnectTimeout` and lets a malformed response through as a bare aiohttp error.
_AIOHTTP_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # pool wait + connect
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # no byte within the read timeout
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unreachable, TLS handshake, certificate
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed without (a full) answer
    (aiohttp.ClientPayloadError, httpx.ReadError),  # body cut short or malformed
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # malformed status line or headers
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.NetworkError),  # e.g. reset while sending the body
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (aiohttp.ClientError, httpx.TransportError),
)


class _RequestBody(httpx.AsyncByteStream):
    """A streamed upload. aiohttp reports an error of the caller's own byte iterator (say,
    an attachment shorter than declared) as a connection error; this remembers it so the
    caller gets its own exception back, as it did from httpcore. It also notes since when
    aiohttp holds a chunk it has not finished writing (``writing_since``): aiohttp has no
    write timeout, and a peer that stops reading would hold the upload until TCP gives up
    (``GuardedTransport`` enforces httpx's ``write`` timeout on it)."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner
        self.error: Exception | None = None
        self.writing_since: float | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        try:
            async for chunk in self._inner:
                self.writing_since = loop.time()
                yield chunk  # aiohttp asks for the next chunk once this one is written
                self.writing_since = None
        except Exception as exc:
            self.error = exc
            raise
        finally:
            self.writing_since = None

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.contextmanager
def _as_httpx_errors(body: _RequestBody | None = None) -> Iterator[None]:
    """Re-raise aiohttp's errors (bare, or as httpx_aiohttp mapped them) per `_AIOHTTP_ERRORS`,
    or the upload iterator's own error that caused one; anything else (UnsafeDestinationError,
    our resolver's httpx errors) passes unchanged."""
    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError) as exc:
        if body is not None and body.error is not None:
            raise body.error from None
        cause = exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__
        if not isinstance(cause, aiohttp.ClientError):
            raise
        target = next(target for source, target in _AIOHTTP_ERRORS if isinstance(cause, source))
        raise target(str(cause) or type(cause).__name__) from cause


class _ResponseBody(httpx.AsyncByteStream):
    """A streamed response body (large, or of unknown length), read from aiohttp in chunks,
    with aiohttp errors while reading mapped like the request's."""

    CHUNK = 64 * 1024

    def __init__(self, response: aiohttp.ClientResponse, body: _RequestBody | None) -> None:
        self._response = response
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._body):
            async for chunk in self._response.content.iter_chunked(self.CHUNK):
                yield chunk

    async def aclose(self) -> None:
        with _as_httpx_errors(self._body):
            await self._response.__aexit__(None, None, None)  # back to the pool, or closed


class GuardedTransport(AiohttpTransport):
    """httpx transport over an aiohttp session whose connector resolves only through
    `GuardedResolver`; checks every request's URL first.

    A response body of known length up to `EAGER_BODY_MAX` (every JSON answer of a vendor
    API, a small attachment) is read in one go and handed to httpx as content: the layers of
    async iterators a streamed body goes through (aiohttp's reader, the stream, httpx's
    decoders and byte chunker) cost more CPU than the request itself (issue 19 item 4). A
    caller that streams still gets the bytes through ``aiter_bytes``, in memory already.
    Larger bodies, and bodies without a length, stream as they arrive.
    """

    EAGER_BODY_MAX = 1024 * 1024

    def __init__(
        self,
        policy: DestinationPolicy,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolver: Resolver | None = None,
        socket_factory: aiohttp.SocketFactoryType | None = None,
    ) -> None:
        # the session is made on first use, inside the event loop (aiohttp needs a running loop)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits, client=self._new_session)
        self.policy = policy
        self.resolver = GuardedResolver(policy, resolver)
        self._socket_factory = socket_factory

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            use_dns_cache=False,  # every new connection resolves (and is checked) again
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,  # 0: no limit, like httpx's None
            keepalive_timeout=self.limits.keepalive_expiry,
            socket_factory=self._socket_factory,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # httpx decodes (the transport also asks per request)
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
        )
        # aiohttp silently re-sends an idempotent request once when a kept-alive connection
        # drops; httpcore did not, and the pacer must see (count, back off from) every drop.
        # (The switch aiohttp's own test client uses; tests/connectors/test_planner.py checks.)
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(_CROSS_ORIGIN):
            raise UnsafeDestinationError(f"redirect to another host refused: {request.url.scheme}://{request.url.host}")
        if request.extensions.get("sni_hostname"):
            raise UnsafeDestinationError("a TLS name other than the URL's host is not allowed")
        self.policy.check_url(request.url)
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        body = None
        data: bytes | _RequestBody | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            if isinstance(request.stream, httpx.ByteStream):
                # bytes already in memory, e.g. the copy of the body a redirect carries (b""
                # for a GET): read, so aiohttp sends them as they are, not as a chunked upload
                data = await request.aread() or None
            elif isinstance(request.stream, httpx.AsyncByteStream):  # a streamed upload
                data = body = _RequestBody(request.stream)
                request.headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
            else:
                raise TypeError("an async client cannot send a synchronous body") from None
        window = SEND_WINDOW.get()
        if window is not None:  # the last moment before the write: is the pacer's slot still fresh?
            window.claim()
        timeouts = request.extensions.get("timeout", {})
        token = _CONNECT_TIMEOUT.set(timeouts.get("connect"))
        try:
            with _as_httpx_errors(body):
                sending = self.client.request(
                    request.method,
                    str(request.url),
                    headers=request.headers.multi_items(),  # repeated headers stay apart
                    data=data,
                    allow_redirects=False,  # httpx follows, and the guard sees each hop
                    auto_decompress=False,
                    compress=False,
                    # aiohttp's `connect` is the wait for a pooled connection plus the connect
                    timeout=aiohttp.ClientTimeout(
                        sock_connect=timeouts.get("connect"),
                        sock_read=timeouts.get("read"),
                        connect=timeouts.get("pool"),
                    ),
                ).__aenter__()
                write_timeout = timeouts.get("write")
                if body is None or write_timeout is None:
                    response = await sending
                else:
                    response = await _within_write_timeout(sending, body, write_timeout)
                extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
                if response.reason:
                    extensions["reason_phrase"] = response.reason.encode()
                length = response.content_length
                if request.method != "HEAD" and length is not None and length <= self.EAGER_BODY_MAX:
                    try:
                        content = await response.read()
                    finally:
                        response.release()
                    return httpx.Response(
                        response.status,
                        headers=response.raw_headers,
                        content=content,  # httpx decodes it (Content-Encoding) as it would a stream
                        request=request,
                        extensions=extensions,
                    )
        finally:
            _CONNECT_TIMEOUT.reset(token)
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_ResponseBody(response, body),
            request=request,
            extensions=extensions,
        )


async def _within_write_timeout(
    sending: Coroutine[Any, Any, aiohttp.ClientResponse], body: _RequestBody, timeout: float
) -> aiohttp.ClientResponse:
    """``sending``, failed with ``httpx.WriteTimeout`` when one chunk of ``body`` takes longer
    than ``timeout`` to write (httpcore's write timeout, per write, as before). Reading the
    next chunk from its source does not count: that is the source's read timeout."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(sending)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=min(1.0, timeout))
            if done:
                return task.result()
            since = body.writing_since
            if since is not None and loop.time() - since > timeout:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise httpx.WriteTimeout(f"no upload progress for {timeout:g} s: the server stopped reading")
    except asyncio.CancelledError:
        task.cancel()
        raise


class _NoCookies(httpx.Cookies):
    """The client's cookie jar, which keeps nothing.

    Every vendor API authenticates each request by its token or OAuth header; a cookie a
    vendor sets (load-balancer affinity, an XSRF or session cookie of its web app) is neither
    needed nor wanted in later requests of the connector. httpx parses every response's
    ``Set-Cookie`` through ``http.cookiejar`` whether or not one is there: ~6 % of a queue
    worker's CPU (py-spy, issue 19 item 4).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class GuardedAsyncClient(httpx.AsyncClient):
    """AsyncClient that marks redirects to another origin so the transport refuses them,
    and keeps no cookies (`_NoCookies`).

    Marking (instead of raising here) keeps `follow_redirects=False` callers able to read
    a 3xx response; only sending the marked request is refused.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("a connector's client keeps no cookies")

    def _build_redirect_request(self, request: httpx.Request, response: httpx.Response) -> httpx.Request:
        new = super()._build_redirect_request(request, response)
        if _origin(new.url) != _origin(request.url):
            new.extensions = {**new.extensions, _CROSS_ORIGIN: True}
        return new


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower().rstrip("."), url.port


def outbound_ssl_context(*, extra_ca_file: str | None = None) -> ssl.SSLContext:
    """Verifying client TLS context, TLS 1.2 minimum, system/certifi trust store."""
    context = httpx.create_ssl_context(verify=True, trust_env=False)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


#: Verifying contexts by CA file (None: the default trust store) and that file's version.
_CONTEXTS: dict[tuple[str | None, int, int], ssl.SSLContext] = {}


def shared_ssl_context(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """``outbound_ssl_context``, built once per process and CA file: loading the trust store
    costs ~15 ms of CPU, and the worker opens two clients per connector of every migration
    it serves (issue 19 item 4). An SSLContext is made to be shared by connections; nothing
    changes it after it is built. A CA file that changes on disk gets a new context."""
    version = (0, 0)
    if extra_ca_file:
        stat = os.stat(extra_ca_file)
        version = (stat.st_mtime_ns, stat.st_size)
    key = (extra_ca_file, *version)
    context = _CONTEXTS.get(key)
    if context is None:
        context = _CONTEXTS[key] = outbound_ssl_context(extra_ca_file=extra_ca_file)
    return context


def build_client(
    kind: str,
    *,
    allow_loopback: bool = False,
    base_url: str | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    headers: dict[str, str] | None = None,
    local_ca_file: str | None = None,
    resolver: Resolver | None = None,
    socket_factory: aiohttp.SocketFactoryType | None = None,
    **client_kwargs: Any,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for connector `kind` that can only reach allowed hosts.

    `allow_loopback` (local mode only, off by default) permits loopback simulators and
    logs a warning. `base_url` is the API root the connector uses (vendor default,
    self-hosted site, or simulator). `local_ca_file` trusts a simulator's CA and is
    refused unless `allow_loopback`. `resolver` / `socket_factory` are test seams: the
    guard still checks what the resolver returns, and the connector asks the socket factory
    (aiohappyeyeballs: one socket per address it dials) only for checked addresses.
    Raises UnsafeDestinationError for a refused base URL.
    """
    if allow_loopback:
        logger.warning("SSRF guard: loopback destinations allowed for %s (local mode only)", kind)
    if local_ca_file and not allow_loopback:
        raise UnsafeDestinationError("extra CA certificates are only allowed in local mode")
    for reserved in ("transport", "mounts", "proxy", "verify", "trust_env", "follow_redirects"):
        if reserved in client_kwargs:
            raise TypeError(f"build_client does not accept {reserved!r}: the guard owns it")
    if "cookies" in client_kwargs:
        raise TypeError("build_client does not accept 'cookies': a connector's client keeps none")
    policy = policy_for(kind, allow_loopback=allow_loopback, base_url=base_url)
    transport = GuardedTransport(
        policy,
        ssl_context=shared_ssl_context(local_ca_file),
        limits=limits,
        resolver=resolver,
        socket_factory=socket_factory,
    )
    return GuardedAsyncClient(
        transport=transport,
        base_url=base_url or "",
        timeout=timeout,
        headers=headers,
        trust_env=False,
        follow_redirects=False,
        **client_kwargs,
    )
