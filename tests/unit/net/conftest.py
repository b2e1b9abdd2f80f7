"""Loopback servers that count connections, and a socket factory that records dials."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest

# The guard learns each kind's hosts when its connection model registers
# (shared.connectors.settings); production always imports the models before building a client.
# Imported here so these tests do not depend on another directory's tests having done it
# (tests/unit/net alone failed 47 tests: "no outbound hosts are registered").
import shared.connectors.settings  # noqa: F401


@dataclass
class CountingServer:
    """Minimal HTTP/1.1 server on 127.0.0.1: counts TCP connections and requests.

    `/redirect-other` answers 302 to `http://localhost:<port>/target` (another origin),
    `/redirect-same` 302 to `/target`, `/set-cookie` 200 with a `Set-Cookie`; anything else
    200 with the Host header as body. `cookies` holds each request's `Cookie` header.
    """

    port: int = 0
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    cookies: list[str | None] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                host = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("host:")), "")
                self.requests.append(path)
                self.cookies.append(
                    next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("cookie:")), None)
                )
                if path == "/redirect-other":
                    status, extra, body = "302 Found", (f"Location: http://localhost:{self.port}/target\r\n"), b""
                elif path == "/redirect-same":
                    status, extra, body = "302 Found", "Location: /target\r\n", b""
                elif path == "/set-cookie":
                    status, extra, body = "200 OK", "Set-Cookie: session=abc123; Path=/\r\n", b""
                else:
                    status, extra, body = "200 OK", "", f"host={host}".encode()
                writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


async def start_counting_server(ssl_context: ssl.SSLContext | None = None) -> tuple[CountingServer, asyncio.Server]:
    state = CountingServer()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=ssl_context)
    state.port = server.sockets[0].getsockname()[1]
    return state, server


@pytest.fixture
async def counting_server() -> AsyncIterator[CountingServer]:
    state, server = await start_counting_server()
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


class RecordingSockets:
    """Socket factory for the connector (`build_client(socket_factory=...)`): aiohappyeyeballs
    asks it for one socket per address the connector dials. Records every dial; hands out a
    real socket (which then connects) only when `connect` is True."""

    def __init__(self, connect: bool = False) -> None:
        self.dials: list[tuple[str, int]] = []
        self._connect = connect

    def __call__(self, addr_info: aiohttp.AddrInfoType) -> socket.socket:
        family, type_, proto, _canonname, address = addr_info
        self.dials.append((str(address[0]), int(address[1])))
        if not self._connect:
            raise OSError("recording socket factory does not connect")
        return socket.socket(family=family, type=type_, proto=proto)


@pytest.fixture
def recording_sockets() -> RecordingSockets:
    return RecordingSockets()
