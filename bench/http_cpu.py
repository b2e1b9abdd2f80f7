"""CPU per vendor request: the connectors' client (``shared.net.http.build_client``) against
httpx over a bare ``httpx_aiohttp.AiohttpTransport`` and raw aiohttp (issue 19 item 4).

Run: ``python -m bench.http_cpu [CASE ...]`` (default ``guarded aiohttp_transport raw_aiohttp
guarded``; ``N`` requests per case, env ``N``, default 1500). A local aiohttp server in another
process answers every POST with a small JSON list; each case sends ``N`` POSTs with a JSON body
one after the other and reads the JSON answer, once to warm up, then once measured. Reports the
CPU time of this (client) process per request (``time.process_time``) and wall time.
Figures only; no assertions.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable

N = int(os.environ.get("N", "1500"))
BODY = json.dumps([{"gid": str(i), "name": f"task {i}", "notes": "x" * 40} for i in range(8)]).encode()
CASES = ("guarded", "aiohttp_transport", "raw_aiohttp")


def serve(port: int) -> None:
    """Child: answer every request with BODY."""
    from aiohttp import web

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def measure(name: str, url: str) -> None:
    import aiohttp
    import httpx

    async def with_httpx(client: httpx.AsyncClient) -> None:
        for i in range(N):
            response = await client.post(url, json={"data": {"name": f"t{i}"}})
            response.json()

    close: Callable[[], Awaitable[None]]
    if name == "raw_aiohttp":
        session = aiohttp.ClientSession(trust_env=False)

        async def run() -> None:
            for i in range(N):
                async with session.post(url, json={"data": {"name": f"t{i}"}}) as response:
                    await response.json()

        close = session.close
    else:
        if name == "guarded":
            import shared.connectors.settings  # noqa: F401  (registers the vendor hosts)
            from shared.net.http import build_client

            client = build_client("monday", allow_loopback=True)
        elif name == "aiohttp_transport":
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(client=aiohttp.ClientSession(trust_env=False))
            client = httpx.AsyncClient(transport=transport, trust_env=False)
        else:
            raise SystemExit(f"unknown case {name!r}; cases: {', '.join(CASES)}")

        async def run() -> None:
            await with_httpx(client)

        close = client.aclose
    await run()  # warm up: connection, imports, caches
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{name:20s} {cpu / N * 1e3:.3f} ms CPU/request  wall {wall / N * 1e3:.3f} ms", flush=True)
    await close()


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    server.start()
    try:
        time.sleep(1.0)
        url = f"http://127.0.0.1:{port}/api/1.0/tasks"
        for name in sys.argv[1:] or [*CASES, "guarded"]:
            asyncio.run(measure(name, url))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
