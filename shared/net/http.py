"""The only way connectors get an HTTP client: `build_client`, with the SSRF guard built in.

The guard sits below anything a connector can change:

* `GuardedTransport.handle_async_request` checks scheme, host and port of every request
  (`DestinationPolicy.check_url`) and refuses a redirect to another origin;
* `GuardedNetworkBackend.connect_tcp` resolves the host once, checks every address, then
  connects to the checked IP itself; httpcore still sends SNI and `Host` for the original
  name and verifies the certificate against it, so DNS rebinding between check and
  connect is impossible;
* no proxies from the environment (`trust_env=False`): a proxy would connect for us;
* TLS 1.2 or newer, certificate verification always on (a local simulator CA can be
  added in local mode only).
"""

from __future__ import annotations

import logging
import os
import ssl
import typing
from typing import Any

import anyio
import httpcore
import httpx

from shared.errors import UnsafeDestinationError
from shared.net.guard import DestinationPolicy, Resolver, policy_for, system_resolver

logger = logging.getLogger(__name__)

_CROSS_ORIGIN = "ferry.cross_origin_redirect"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30.0)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every address, connect to a checked address."""

    def __init__(
        self,
        policy: DestinationPolicy,
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolver or system_resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            # the connect timeout covers the lookup too: a slow resolver must not hang a chunk
            with anyio.fail_after(timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}") from exc
        self._policy.check_addresses(host, addresses)
        last: Exception | None = None
        for address in addresses:  # try each checked address, never a fresh lookup
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeDestinationError("unix sockets are not an allowed destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx transport whose connection pool dials only through `GuardedNetworkBackend`."""

    def __init__(
        self,
        policy: DestinationPolicy,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits = DEFAULT_LIMITS,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self.policy = policy
        # replace the pool httpx built with one that uses the guarded backend
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedNetworkBackend(policy, resolver=resolver, inner=network_backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(_CROSS_ORIGIN):
            raise UnsafeDestinationError(f"redirect to another host refused: {request.url.scheme}://{request.url.host}")
        self.policy.check_url(request.url)
        return await super().handle_async_request(request)


class GuardedAsyncClient(httpx.AsyncClient):
    """AsyncClient that marks redirects to another origin so the transport refuses them.

    Marking (instead of raising here) keeps `follow_redirects=False` callers able to read
    a 3xx response; only sending the marked request is refused.
    """

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
    network_backend: httpcore.AsyncNetworkBackend | None = None,
    **client_kwargs: Any,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for connector `kind` that can only reach allowed hosts.

    `allow_loopback` (local mode only, off by default) permits loopback simulators and
    logs a warning. `base_url` is the API root the connector uses (vendor default,
    self-hosted site, or simulator). `local_ca_file` trusts a simulator's CA and is
    refused unless `allow_loopback`. `resolver` / `network_backend` are test seams: the
    guard still checks what the resolver returns, and the backend is only ever asked to
    connect to checked addresses. Raises UnsafeDestinationError for a refused base URL.
    """
    if allow_loopback:
        logger.warning("SSRF guard: loopback destinations allowed for %s (local mode only)", kind)
    if local_ca_file and not allow_loopback:
        raise UnsafeDestinationError("extra CA certificates are only allowed in local mode")
    for reserved in ("transport", "mounts", "proxy", "verify", "trust_env", "follow_redirects"):
        if reserved in client_kwargs:
            raise TypeError(f"build_client does not accept {reserved!r}: the guard owns it")
    policy = policy_for(kind, allow_loopback=allow_loopback, base_url=base_url)
    transport = GuardedTransport(
        policy,
        ssl_context=shared_ssl_context(local_ca_file),
        limits=limits,
        resolver=resolver,
        network_backend=network_backend,
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
