"""The HTTP trigger: one catch-all Functions route that hands each request to the FastAPI
app and streams its answer back as the app writes it.

`func.AsgiFunctionApp` collects a whole response before the host sends a byte, so a live
log stream (SSE) would arrive only when it ended. With the HTTP streaming extension
(`azurefunctions-extensions-http-fastapi`, host >= 4.34, `PYTHON_ENABLE_INIT_INDEXING=1`)
the worker runs its own ASGI server, gives this function the real request and sends the
`StreamingResponse` returned here chunk by chunk. The local runner serves the same
function the same way (`tools/devhost/http.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse
from starlette.convertors import PathConvertor, register_url_convertor

from functions.http_api import LazyApi, create_api

Scope = dict[str, Any]
Message = dict[str, Any]
AsgiApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

# Keys of an ASGI HTTP scope that describe the request; the worker's own router adds
# others (app, router, route, endpoint, path_params) that must not leak into ours.
_SCOPE_KEYS = (
    "type",
    "asgi",
    "http_version",
    "method",
    "scheme",
    "server",
    "client",
    "root_path",
    "path",
    "raw_path",
    "query_string",
    "headers",
    "extensions",
)

bp = func.Blueprint()
api = LazyApi(create_api)


class _AnyPath(PathConvertor):
    """Starlette's `path` convertor, taking a newline too (its own regex is `.*` without DOTALL)."""

    regex = "(?s:.*)"


# The worker routes every request of this function through the streaming extension's own
# catch-all route, `/{path:path}`, compiled when the worker builds its web app after importing
# `function_app`. With the stock convertor a path holding a decoded %0A matched nothing and the
# worker answered its framework's `{"detail": "Not Found"}` without running Ferry; with this one
# it reaches the API, which answers a problem (404, or 422 naming the id). Ferry's own
# `{…:path}` routes take such paths too and answer the same way.
register_url_convertor("path", _AnyPath())


@bp.function_name("api")
@bp.route(route="{*route}", methods=list(func.HttpMethod), auth_level=func.AuthLevel.ANONYMOUS)
async def http_api(req: Request) -> StreamingResponse:
    return await forward(api, req)


async def forward(app: AsgiApp, request: Any) -> Any:
    """Run `request` through the ASGI `app`; answer with its status and headers as soon as it
    starts the response, then its body chunks as they come. Ends the app when the client
    goes away."""
    from starlette.responses import StreamingResponse as Streaming

    scope: Scope = {key: request.scope[key] for key in _SCOPE_KEYS if key in request.scope}
    scope["state"] = {}
    outbox: asyncio.Queue[Message | Exception] = asyncio.Queue()

    async def send(message: Message) -> None:
        await outbox.put(message)

    async def run() -> None:
        # An error is handed to the response side: before the response started it is
        # raised there; after it, the problem handlers have already answered and logged it.
        try:
            await app(scope, _receiver(request), send)
        except Exception as exc:
            await outbox.put(exc)
        finally:
            await outbox.put({"type": "ferry.app.done"})

    task = asyncio.create_task(run())
    start = await outbox.get()
    if isinstance(start, Exception):
        await task
        raise start
    if start.get("type") != "http.response.start":
        await _stop(task)
        raise RuntimeError(f"ASGI app sent {start.get('type')!r} before starting the response")

    async def body() -> AsyncIterator[bytes]:
        complete = False
        try:
            while True:
                message = await outbox.get()
                if isinstance(message, Exception):
                    raise message
                if message.get("type") == "http.response.body":
                    chunk = message.get("body", b"")
                    if chunk:
                        yield chunk
                    if not message.get("more_body", False):
                        complete = True
                        return
                elif message.get("type") == "ferry.app.done":
                    complete = True
                    return
        finally:
            if complete:
                await task  # lets work the app does after its last byte (background tasks) finish
            else:
                await _stop(task)  # the client went away mid-stream

    response = Streaming(body(), status_code=int(start["status"]))
    response.raw_headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
    return response


async def _stop(task: asyncio.Task[None]) -> None:
    """End the app's task early (the client left, or it answered wrongly) and wait for it."""
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _receiver(request: Any) -> Callable[[], Awaitable[Message]]:
    """The request body as ASGI `http.request` messages (read from the worker's request even
    if something read it already), then the client's disconnect when it comes."""
    from starlette.requests import ClientDisconnect

    chunks = request.stream().__aiter__()
    body_done = False

    async def receive() -> Message:
        nonlocal body_done
        if not body_done:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except ClientDisconnect:
                body_done = True
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": True}
        message: dict[str, Any] = await request.receive()
        return message

    return receive
