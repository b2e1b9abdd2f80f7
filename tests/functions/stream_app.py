"""A function app for the front-door tests: its HTTP function forwards to a small ASGI app
whose pace the test controls, so "streamed" can be told from "buffered" without timing."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse

from functions.http_api.front_door import forward

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
release = asyncio.Event()
cancelled = asyncio.Event()


async def paced(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope["path"]
    if path.endswith("/fail"):
        raise RuntimeError("failed before answering")
    if path.endswith("/echo"):
        digest, size, more = hashlib.sha256(), 0, True
        while more:
            message = await receive()
            digest.update(message.get("body", b""))
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = f"{size} {digest.hexdigest()}".encode()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-size", str(size).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"x-route", path.encode())],
        }
    )
    await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
    try:
        await release.wait()
    except asyncio.CancelledError:
        cancelled.set()
        raise
    await send({"type": "http.response.body", "body": b"second\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@app.route(route="{*route}", methods=["GET", "POST"])
async def front(req: Request) -> StreamingResponse:
    return await forward(paced, req)


@app.route(route="classic/{name}")
def classic(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("classic")
