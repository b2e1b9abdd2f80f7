"""The HTTP front door streams: headers and each chunk reach the client as the ASGI app
writes them, the body of a request reaches the app whole, and a client that leaves ends the
app. Served the way the worker serves the streaming extension (`tools/devhost/http.py`)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from tools.devhost.http import build_http_app, template_regex
from tools.devhost.loader import triggers
from tools.stack import free_port


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, Any]]:
    module = importlib.import_module("tests.functions.stream_app")
    module.release.clear()
    module.cancelled.clear()
    http = [t for t in triggers(module.app) if t.kind == "httpTrigger" and t.name == "front"]
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_http_app(http, "api"), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", module
    finally:
        module.release.set()
        server.should_exit = True
        await task


async def test_chunks_arrive_while_the_app_is_still_writing(served: tuple[str, Any]) -> None:
    base, module = served
    async with (
        httpx.AsyncClient(base_url=base, timeout=20) as client,
        client.stream("GET", "/api/runs/r1/logs?x=1") as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["x-route"] == "/api/runs/r1/logs"
        lines = r.aiter_lines()
        assert await anext(lines) == "first"  # the app is still waiting: nothing was buffered
        assert not module.release.is_set()
        module.release.set()
        assert await anext(lines) == "second"


async def test_a_client_that_leaves_ends_the_app(served: tuple[str, Any]) -> None:
    base, module = served
    async with httpx.AsyncClient(base_url=base, timeout=20) as client, client.stream("GET", "/api/stream") as r:
        assert await anext(r.aiter_lines()) == "first"
    await asyncio.wait_for(module.cancelled.wait(), timeout=15)


async def test_request_body_reaches_the_app_whole(served: tuple[str, Any]) -> None:
    base, _ = served
    payload = os.urandom(3 * 1024 * 1024 + 7)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        r = await client.post("/api/echo", content=chunks())
    assert r.status_code == 201 and r.headers["x-size"] == str(len(payload))
    assert r.text == f"{len(payload)} {hashlib.sha256(payload).hexdigest()}"


async def test_errors_and_unknown_paths(served: tuple[str, Any]) -> None:
    base, _ = served
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        failed = await client.get("/api/fail")
        outside = await client.get("/elsewhere/stream")
        wrong_method = await client.delete("/api/stream")
    assert failed.status_code == 500
    # What no function takes is the runner's to answer (in Azure the host's, before the app):
    # a problem, never the worker framework's default page.
    assert outside.status_code == 404 and outside.headers["content-type"] == "application/problem+json"
    assert outside.json()["type"] == "urn:ferry:problem:not-found"
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"
    assert wrong_method.json()["type"] == "urn:ferry:problem:method-not-allowed"


def test_route_templates_match_as_the_host_does() -> None:
    catch_all = template_regex("api", "{*route}")
    assert catch_all.match("/api/orgs/o1").group("route") == "orgs/o1"
    assert catch_all.match("/API/health") and catch_all.match("/api")
    assert not catch_all.match("/apix/health") and not catch_all.match("/other")
    assert catch_all.match("/api/orgs/a\nb").group("route") == "orgs/a\nb"  # the host's catch-all takes any path
    items = template_regex("", "things/{id:int}/{name?}")
    assert items.match("/things/7").group("id") == "7" and items.match("/things/7/a").group("name") == "a"
    assert not items.match("/things") and not items.match("/things/7/a/b")


def test_only_streaming_functions_are_served() -> None:
    module = importlib.import_module("tests.functions.stream_app")
    classic = [t for t in triggers(module.app) if t.name == "classic"]
    with pytest.raises(RuntimeError, match="streaming extension's Request"):
        build_http_app(classic, "api")
