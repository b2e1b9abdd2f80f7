"""Limits on the request head: a query string over MAX_QUERY_BYTES is a 414 problem, request
headers over MAX_HEADER_BYTES together a 431 problem, before any route or dependency runs.

The numbers are those of Kestrel, the web server of the Functions host (8 KiB request line,
32 KiB of headers): in Azure the host refuses larger heads itself before Ferry runs, so the
app holds the same line locally and answers it as a problem, never as a server's text page.
The path is not limited here: every id in it is checked against the id grammar (`ids.py`),
which names the parameter that is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

MAX_QUERY_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def problem_message(
    status: int, slug: str, title: str, detail: str, instance: str, **extra: Any
) -> tuple[Message, Message]:
    """The two ASGI messages of a problem+json answer (for code that runs outside FastAPI)."""
    body = json.dumps(
        {
            "type": f"urn:ferry:problem:{slug}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            **extra,
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    """Bytes of the header block as sent: `name: value\\r\\n` per header."""
    return sum(len(name) + len(value) + 4 for name, value in headers)


class RequestLimitsMiddleware:
    """ASGI middleware answering an oversized query string (414) or header block (431)."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        *,
        max_query_bytes: int = MAX_QUERY_BYTES,
        max_header_bytes: int = MAX_HEADER_BYTES,
    ) -> None:
        self.app = app
        self.max_query_bytes = max_query_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # The instance names the path only: a path of any length is the id grammar's to refuse.
            path = str(scope.get("path", ""))[:200]
            query = len(scope.get("query_string") or b"")
            headers = header_bytes(list(scope.get("headers") or []))
            refusal = None
            if query > self.max_query_bytes:
                refusal = problem_message(
                    414,
                    "uri-too-long",
                    "URI too long",
                    f"the query string is {query} bytes; at most {self.max_query_bytes}",
                    path,
                    limit=self.max_query_bytes,
                )
            elif headers > self.max_header_bytes:
                refusal = problem_message(
                    431,
                    "header-fields-too-large",
                    "Request header fields too large",
                    f"the request headers are {headers} bytes; at most {self.max_header_bytes}",
                    path,
                    limit=self.max_header_bytes,
                )
            if refusal is not None:
                for message in refusal:
                    await send(message)
                return
        await self.app(scope, receive, send)
