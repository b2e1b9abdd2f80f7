"""The request-body limit: a body over MAX_BODY_BYTES is a 413 problem before any handler
parses it (a 10 MB "secret" must not become a 13 MB Cosmos item; Cosmos refuses items
over 2 MB). Checked on the declared `Content-Length` and again on the bytes that arrive,
so a chunked upload cannot slip past it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

MAX_BODY_BYTES = 256 * 1024  # the largest legitimate body (a migration's mappings) is far smaller

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _problem(path: str, limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        {
            "type": "urn:ferry:problem:payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "instance": path,
            "limit": limit,
        }
    ).encode()
    return body, [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]


class BodyLimitMiddleware:
    """ASGI middleware refusing request bodies over `max_bytes` with a 413 problem."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    # Answer now; the app is told the client left, and whatever it does next is dropped.
                    refused = True
                    await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body, headers = _problem(str(scope.get("path", "")), self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
