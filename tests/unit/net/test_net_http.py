"""build_client: every refused destination is refused before any connection is made.

Proof of "no request leaves the process": a loopback server counts TCP connections
(it must see 0), and a recording socket factory, which the connector asks for one socket
per address it dials, counts dials (it must see 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.errors import UnsafeDestinationError
from shared.net.http import build_client, outbound_ssl_context, shared_ssl_context
from tests.unit.net.conftest import CountingServer, RecordingSockets, start_counting_server

REFUSED = [
    "http://127.0.0.1:{port}/",
    "https://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "https://localhost:{port}/",
    "https://2130706433:{port}/",
    "https://0177.0.0.1:{port}/",
    "https://0x7f.0.0.1:{port}/",
    "https://0x7f000001:{port}/",
    "https://127.1:{port}/",
    "https://[::1]:{port}/",
    "https://[::ffff:127.0.0.1]:{port}/",
    "https://[::ffff:7f00:1]:{port}/",
    "https://[64:ff9b::7f00:1]:{port}/",
    "https://0.0.0.0:{port}/",
    "https://[::]:{port}/",
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/metadata/instance",
    "https://[fe80::1]/",
    "https://10.0.0.5/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://evil.example.com/",
    "https://api.trello.com.evil.example/",
    "http://api.trello.com/1/boards",
    "https://api.trello.com:{port}/1/boards",
]


async def resolve_to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@pytest.mark.parametrize("template", REFUSED)
async def test_refused_destinations_never_connect(
    template: str, counting_server: CountingServer, recording_sockets: RecordingSockets
) -> None:
    url = template.format(port=counting_server.port)
    # httpx itself rejects a dotted quad with an octal part ("0177.0.0.1") as InvalidURL
    refused = (UnsafeDestinationError, httpx.InvalidURL)
    # every name resolves to the counting server: a guard that forgot to check would hit it
    async with build_client("trello", resolver=resolve_to_loopback, socket_factory=recording_sockets) as client:
        with pytest.raises(refused):
            await client.get(url)
    async with build_client("trello", resolver=resolve_to_loopback) as client:
        with pytest.raises(refused):
            await client.get(url)
    assert recording_sockets.dials == []
    assert counting_server.connections == 0


@pytest.mark.parametrize(
    ("kind", "base_url", "addresses"),
    [
        ("trello", None, ["127.0.0.1"]),  # vendor name, rebound to loopback
        ("jira", "https://jira.example.org", ["169.254.169.254"]),  # self-hosted → metadata
        ("jira", "https://jira.example.org", ["8.8.8.8", "10.0.0.1"]),  # one bad address fails all
        ("azure_devops", "https://tfs.example.org", ["::ffff:192.168.0.1"]),
        ("azure_devops", "https://tfs.example.org", ["fd00::1"]),
    ],
)
async def test_names_resolving_to_private_addresses_are_refused(
    kind: str, base_url: str | None, addresses: list[str], recording_sockets: RecordingSockets
) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return addresses

    async with build_client(kind, base_url=base_url, resolver=resolver, socket_factory=recording_sockets) as client:
        with pytest.raises(UnsafeDestinationError):
            await client.get(base_url or "https://api.trello.com/1/members/me")
    assert recording_sockets.dials == []


async def test_allowed_vendor_call_dials_the_checked_address() -> None:
    calls: list[str] = []

    async def public(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["8.8.8.8", "8.8.4.4"] if len(calls) == 1 else ["127.0.0.1"]

    sockets = RecordingSockets()
    async with build_client("trello", resolver=public, socket_factory=sockets) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.trello.com/1/members/me")
    # IPs in resolver order, never the name and nothing else; aiohttp then tries the addresses
    # after the first once more on its own (8.8.4.4 again): still only checked addresses
    assert sockets.dials[:2] == [("8.8.8.8", 443), ("8.8.4.4", 443)]
    assert set(sockets.dials) == {("8.8.8.8", 443), ("8.8.4.4", 443)}
    assert calls == ["api.trello.com"]  # resolved once per connection attempt


def _cert_for(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_no_dns_rebinding_connects_to_checked_ip_with_original_name(tmp_path: Path) -> None:
    """Resolve once, connect to that IP; TLS SNI, certificate check and Host use the name."""
    name = "jira.example.test"
    cert, key = _cert_for(name, tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    state, server = await start_counting_server(server_ctx)
    server_ctx.sni_callback = lambda sock, sni, ctx: state.sni.append(sni)  # type: ignore[assignment,func-returns-value]
    answers = iter([["127.0.0.1"]])  # a second lookup would raise StopIteration

    async def resolver(host: str, port: int) -> list[str]:
        assert host == name
        return next(answers)

    try:
        async with build_client(
            "jira",
            allow_loopback=True,
            base_url=f"https://{name}:{state.port}",
            resolver=resolver,
            local_ca_file=str(cert),
        ) as client:
            first = await client.get("/rest/api/2/myself")
            second = await client.get("/rest/api/2/serverInfo")  # pooled: no new lookup
        assert first.status_code == second.status_code == 200
        assert first.text == f"host={name}:{state.port}"
        assert state.sni == [name] and state.connections == 1
    finally:
        server.close()
        await server.wait_closed()


async def test_loopback_simulator_allowed_only_with_the_setting(
    counting_server: CountingServer, caplog: pytest.LogCaptureFixture
) -> None:
    base = f"http://127.0.0.1:{counting_server.port}"
    with pytest.raises(UnsafeDestinationError):
        build_client("monday", base_url=base)
    with caplog.at_level(logging.WARNING, logger="shared.net.http"):
        client = build_client("monday", allow_loopback=True, base_url=base)
    assert any("loopback" in r.getMessage() for r in caplog.records)
    async with client:
        response = await client.get("/v2")
    assert response.status_code == 200 and counting_server.connections == 1


async def test_localhost_simulator_through_the_system_resolver(counting_server: CountingServer) -> None:
    # localhost may resolve to ::1 first; the server listens on 127.0.0.1 only, so this
    # also exercises trying the next checked address
    async with build_client(
        "trello", allow_loopback=True, base_url=f"http://localhost:{counting_server.port}/1"
    ) as client:
        response = await client.get("members/me")
    assert response.status_code == 200 and counting_server.connections == 1


async def test_redirect_to_another_host_is_refused(counting_server: CountingServer) -> None:
    base = f"http://127.0.0.1:{counting_server.port}"
    async with build_client("asana", allow_loopback=True, base_url=base) as client:
        followed = await client.get("/redirect-same", follow_redirects=True)
        assert followed.status_code == 200 and counting_server.requests[-1] == "/target"
        with pytest.raises(UnsafeDestinationError):
            await client.get("/redirect-other", follow_redirects=True)
        assert counting_server.requests[-1] == "/redirect-other"  # target never requested
        not_followed = await client.get("/redirect-other")
        assert not_followed.status_code == 302 and not_followed.next_request is not None
        with pytest.raises(UnsafeDestinationError):
            await client.send(not_followed.next_request)
    assert counting_server.requests == ["/redirect-same", "/target", "/redirect-other", "/redirect-other"]


async def test_the_client_keeps_no_cookies(counting_server: CountingServer) -> None:
    # vendor APIs authenticate each request by its token: a cookie one sets is not sent back
    base = f"http://127.0.0.1:{counting_server.port}"
    async with build_client("asana", allow_loopback=True, base_url=base) as client:
        first = await client.get("/set-cookie")
        assert first.headers["set-cookie"].startswith("session=abc123")
        await client.get("/next")
        assert not client.cookies
        with pytest.raises(TypeError):
            client.cookies = {"session": "abc123"}
    assert counting_server.cookies == [None, None]
    with pytest.raises(TypeError):
        build_client("asana", cookies={"session": "abc123"})


def test_tls_is_verified_and_at_least_1_2() -> None:
    context = outbound_ssl_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_guard_cannot_be_replaced_or_weakened() -> None:
    for kwarg in ("transport", "mounts", "proxy", "verify", "trust_env", "follow_redirects"):
        with pytest.raises(TypeError):
            build_client("trello", **{kwarg: None})
    with pytest.raises(UnsafeDestinationError):
        build_client("trello", local_ca_file="/tmp/ca.pem")  # local CA only in local mode
    client = build_client("trello")
    assert client._trust_env is False  # no proxy from the environment dials for us


async def test_slow_resolver_is_bounded_by_the_connect_timeout(recording_sockets: RecordingSockets) -> None:
    import anyio

    async def hanging(host: str, port: int) -> list[str]:
        await anyio.sleep_forever()
        return []

    async with build_client(
        "monday", resolver=hanging, socket_factory=recording_sockets, timeout=httpx.Timeout(5.0, connect=0.05)
    ) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            await client.post("https://api.monday.com/v2", json={"query": "{ me { id } }"})
    # the connect timeout, not the 5 s pool/read timeout, ended the lookup
    assert time.monotonic() - started < 2.0
    assert recording_sockets.dials == []


def test_clients_share_one_tls_context_per_trust_store(tmp_path: Path) -> None:
    # loading the trust store is the costly part of a client (issue 19 item 4): built once
    first, second = build_client("trello"), build_client("asana")
    assert first._transport.ssl_context is second._transport.ssl_context is shared_ssl_context()  # type: ignore[attr-defined]
    assert shared_ssl_context() is shared_ssl_context()
    assert shared_ssl_context().verify_mode == ssl.CERT_REQUIRED
    import certifi

    ca = tmp_path / "simulator-ca.pem"
    ca.write_text(Path(certifi.where()).read_text())
    with_ca = shared_ssl_context(str(ca))
    assert with_ca is not shared_ssl_context() and with_ca is shared_ssl_context(str(ca))
    ca.write_text(ca.read_text() + "\n")  # the CA file changed on disk: a new context trusts it
    assert shared_ssl_context(str(ca)) is not with_ca


async def _serve_once(answer: bytes) -> tuple[asyncio.Server, int]:
    """A loopback server that reads one request head, writes `answer`, and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"", httpx.RemoteProtocolError),  # disconnected without an answer
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", httpx.ReadError),  # body cut short
        (b"NOT HTTP AT ALL\r\n\r\n", httpx.RemoteProtocolError),  # malformed status line
    ],
)
async def test_transport_failures_are_httpx_transport_errors_the_pacer_retries(
    answer: bytes, expected: type[httpx.TransportError]
) -> None:
    from shared.contract.pacer import Action, classify

    server, port = await _serve_once(answer)
    try:
        async with build_client("monday", allow_loopback=True, base_url=f"http://127.0.0.1:{port}") as client:
            with pytest.raises(httpx.TransportError) as caught:
                await client.post("/v2", json={"query": "{ me { id } }"})
        assert isinstance(caught.value, expected) and classify(caught.value) is Action.RETRY
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_failure_is_a_connect_error(tmp_path: Path) -> None:
    cert, key = _cert_for("other.example.test", tmp_path)  # certificate for another name
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    state, server = await start_counting_server(server_ctx)

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    try:
        async with build_client(
            "jira",
            allow_loopback=True,
            base_url=f"https://jira.example.test:{state.port}",
            resolver=resolver,
            local_ca_file=str(cert),
        ) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/rest/api/2/myself")
        assert state.requests == []
    finally:
        server.close()
        await server.wait_closed()


async def test_a_request_cannot_ask_for_another_tls_name() -> None:
    async with build_client("trello", resolver=resolve_to_loopback) as client:
        with pytest.raises(UnsafeDestinationError):
            await client.get("https://api.trello.com/1/members/me", extensions={"sni_hostname": "evil.example"})


@contextlib.asynccontextmanager
async def _serving(app: Any) -> AsyncIterator[int]:
    """Serve an aiohttp ``web.Application`` on a free loopback port for the block."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_streams_both_ways_in_chunks(counting_server: CountingServer) -> None:
    """Uploads from an async iterable of bytes and `client.stream` downloads still work."""
    from aiohttp import web

    received: list[int] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        async for chunk in request.content.iter_chunked(64 * 1024):
            received.append(len(chunk))
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"x" * 100_000)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/upload", echo)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"y" * 65536

    async with _serving(app) as port:
        async with build_client("monday", allow_loopback=True, base_url=f"http://127.0.0.1:{port}") as client:
            async with client.stream("POST", "/upload", content=body()) as response:
                chunks = [len(chunk) async for chunk in response.aiter_bytes()]
        assert sum(received) == 16 * 65536
        assert sum(chunks) == 800_000 and max(chunks) < 800_000  # read in pieces, not at once

        class ShortAttachment(Exception):
            pass

        async def failing() -> AsyncIterator[bytes]:
            yield b"y" * 65536
            raise ShortAttachment("the upload iterator's own error reaches the caller unchanged")

        async with build_client("monday", allow_loopback=True, base_url=f"http://127.0.0.1:{port}") as client:
            with pytest.raises(ShortAttachment):
                await client.post("/upload", content=failing())


async def test_bodies_of_known_length_read_at_once_or_streamed_by_size(counting_server: CountingServer) -> None:
    """A small answer of known length is read in one go (GuardedTransport.EAGER_BODY_MAX),
    decoded as httpx would a stream, and its connection goes back to the pool; a large one
    of known length (an attachment) still streams in pieces. Repeated request headers stay
    apart on the way to aiohttp."""
    import gzip

    from aiohttp import web

    from shared.net.http import GuardedTransport

    payload = b'{"data": [' + b", ".join([b'{"gid": "1"}'] * 200) + b"]}"
    big = GuardedTransport.EAGER_BODY_MAX * 3

    async def small_gzip(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})

    async def large(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(big)})
        await response.prepare(request)
        for _ in range(big // 65536):
            await response.write(b"a" * 65536)
        await response.write_eof()
        return response

    async def echo_repeated(request: web.Request) -> web.Response:
        return web.json_response(request.headers.getall("X-Repeated"))

    app = web.Application()
    app.router.add_get("/small", small_gzip)
    app.router.add_get("/large", large)
    app.router.add_get("/repeated", echo_repeated)
    async with _serving(app) as port:
        async with build_client("asana", allow_loopback=True, base_url=f"http://127.0.0.1:{port}") as client:
            small = await client.get("/small")
            assert small.content == payload and small.json()["data"][0]["gid"] == "1"
            async with client.stream("GET", "/small") as streamed_small:
                assert b"".join([c async for c in streamed_small.aiter_bytes()]) == payload
            async with client.stream("GET", "/large") as response:
                assert response.headers["content-length"] == str(big)
                chunks = [len(chunk) async for chunk in response.aiter_bytes()]
            assert sum(chunks) == big and max(chunks) < big  # in pieces, not held whole
            repeated = await client.get("/repeated", headers=[("X-Repeated", "1"), ("X-Repeated", "2")])
            assert repeated.json() == ["1", "2"]  # a repeated header is sent as two lines
    base = f"http://127.0.0.1:{counting_server.port}"
    async with build_client("asana", allow_loopback=True, base_url=base) as client:
        for path in ("/a", "/b", "/c"):
            assert (await client.get(path)).content == f"host=127.0.0.1:{counting_server.port}".encode()
    assert counting_server.connections == 1  # each read-at-once answer let its connection go


async def test_an_upload_to_a_server_that_stops_reading_ends_with_a_write_timeout() -> None:
    """aiohttp has no write timeout: the transport enforces httpx's on streamed uploads, per
    chunk written, so a peer that never reads cannot hold a chunk for ever. A slow source
    (the next chunk read from the other vendor) is not counted against it."""
    accepted: list[asyncio.StreamWriter] = []

    async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # holds the connection open and reads nothing

    server = await asyncio.start_server(never_reads, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def big() -> AsyncIterator[bytes]:
        for _ in range(1024):  # 64 MiB: far more than the loopback socket buffers hold
            yield b"z" * 65536

    async def slow_source() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(0.6)  # longer than the write timeout between chunks
            yield b"s" * 1024

    timeout = httpx.Timeout(30.0, write=0.5)
    try:
        async with build_client("monday", allow_loopback=True, base_url=f"http://127.0.0.1:{port}") as client:
            started = time.monotonic()
            with pytest.raises(httpx.WriteTimeout):
                await client.post("/upload", content=big(), timeout=timeout)
            assert time.monotonic() - started < 10
            # the same timeout does not fire while the source is slow: the read times out instead
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/upload", content=slow_source(), timeout=httpx.Timeout(1.0, write=0.5))
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_request_past_its_send_window_is_not_written(counting_server: CountingServer) -> None:
    """The pacer's window is checked right before the write: past it, ``SlotMissed`` and the
    server sees nothing; in time, the first request claims the window and later requests of
    the same paced call (a redirect hop, a resend after a refresh) go unchecked."""
    from datetime import UTC, datetime

    from shared.contract.budget import SEND_WINDOW, SendWindow, SlotMissed
    from shared.contract.clock import SystemClock

    base = f"http://127.0.0.1:{counting_server.port}"
    now = datetime.now(UTC).timestamp()
    async with build_client("asana", allow_loopback=True, base_url=base) as client:
        bound = SEND_WINDOW.set(SendWindow(now - 1.0, SystemClock()))
        try:
            with pytest.raises(SlotMissed):
                await client.get("/late")
        finally:
            SEND_WINDOW.reset(bound)
        assert counting_server.requests == []
        bound = SEND_WINDOW.set(SendWindow(now + 60.0, SystemClock()))
        try:
            assert (await client.get("/in-time")).status_code == 200
            window = SEND_WINDOW.get()
            assert window is not None
            window.send_by = now - 1.0  # the same call's next request is not checked again
            assert (await client.get("/same-call")).status_code == 200
        finally:
            SEND_WINDOW.reset(bound)
    assert counting_server.requests == ["/in-time", "/same-call"]
