"""HTTP triggers served as the Python worker serves them with the HTTP streaming extension.

The worker runs the extension's `WebApp` (FastAPI, one catch-all route) on uvicorn, hands
the function the real request with the host's route parameters synced onto it, and sends
whatever response the function returns — a `StreamingResponse` chunk by chunk. The runner
does the same, playing the host's part too: it matches the path against each function's
route template under host.json's `routePrefix` and its methods. What no function takes is
answered by the runner as a problem (404, or 405 with `Allow`), since locally the runner is
all there is in front of the app; in Azure the Functions host answers such requests itself
(a bodyless 404), before any code of the app runs.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request  # at module level: FastAPI resolves the route's annotations here

from tools.devhost.loader import Trigger

# ASP.NET route template parameters as the host accepts them: {name}, {name:int}, {name?}, {*name}.
_PARAM = re.compile(r"\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}")


def template_regex(prefix: str, template: str) -> re.Pattern[str]:
    """The path regex of a function route (`prefix` + `template`), case-insensitive as the host."""
    parts = [p for p in f"{prefix.strip('/')}/{template.strip('/')}".split("/") if p]
    pattern = ""
    for part in parts:
        match = _PARAM.fullmatch(part)
        if match is None:
            pattern += "/" + re.escape(part)
        elif match.group(1):  # catch-all: the rest of the path, possibly empty
            pattern += f"(?:/(?P<{match.group(2)}>.*))?"
        elif match.group(3):
            pattern += f"(?:/(?P<{match.group(2)}>[^/]+))?"
        else:
            pattern += f"/(?P<{match.group(2)}>[^/]+)"
    # DOTALL: the host's catch-all takes every path, a decoded %0A included.
    return re.compile(f"^{pattern or '/'}/?$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class HttpFunction:
    trigger: Trigger
    path: re.Pattern[str]
    methods: frozenset[str]

    @classmethod
    def of(cls, trigger: Trigger, route_prefix: str) -> HttpFunction:
        _require_streaming_request(trigger)
        route = str(trigger.binding.get("route") or trigger.name)
        methods = frozenset(str(m).upper() for m in trigger.binding.get("methods") or ()) or frozenset(
            {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}
        )
        return cls(trigger, template_regex(route_prefix, route), methods)


def _require_streaming_request(trigger: Trigger) -> None:
    from azurefunctions.extensions.base import RequestTrackerMeta

    hints = typing.get_type_hints(trigger.function)
    if not RequestTrackerMeta.check_type(hints.get(trigger.arg_name)):
        raise RuntimeError(
            f"HTTP function {trigger.name} must take the streaming extension's Request "
            "(azurefunctions.extensions.http.fastapi); the runner serves HTTP as the worker does with it"
        )


def build_http_app(http_triggers: list[Trigger], route_prefix: str) -> Any:
    """The ASGI app uvicorn serves: the host's routing (`HostFront`) in front of the
    extension's own `WebApp`."""
    from azurefunctions.extensions.http.fastapi import RequestSynchronizer, WebApp
    from starlette.responses import Response

    functions = [HttpFunction.of(t, route_prefix) for t in http_triggers]
    synchronizer = RequestSynchronizer()
    web = WebApp()

    @web.route
    async def catch_all(request: Request) -> Any:
        for fn in functions:
            match = fn.path.match(request.url.path)
            if match and request.method in fn.methods:
                synchronizer.sync_route_params(request, {k: v or "" for k, v in match.groupdict().items()})
                return await fn.trigger.function(**{fn.trigger.arg_name: request})
        return Response(status_code=404)

    return HostFront(functions, web.get_app())


Scope = dict[str, Any]
Message = dict[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class HostFront:
    """The host's routing decision before the worker's web app: a request whose path and
    method some function takes goes on; any other (an unrouted path, TRACE, QUERY, a made-up
    method) is a problem+json answer here. The worker's app would otherwise answer with its
    framework's defaults (a `{"detail": …}` 405, or 404 for a path holding a newline)."""

    def __init__(self, functions: list[HttpFunction], app: Asgi) -> None:
        self.functions = functions
        self.app = app

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = str(scope["path"]), str(scope["method"]).upper()
        routed = [fn for fn in self.functions if fn.path.match(path)]
        if any(method in fn.methods for fn in routed):
            await self.app(scope, receive, send)
            return
        allow = sorted({m for fn in routed for m in fn.methods})
        if allow:
            await _problem(
                send,
                405,
                "method-not-allowed",
                "Method not allowed",
                f"{method} is not allowed on this path; allowed: {', '.join(allow)}",
                [(b"allow", ", ".join(allow).encode())],
            )
        else:
            await _problem(send, 404, "not-found", "Not found", "no function serves this path", [])


async def _problem(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    body = json.dumps(
        {"type": f"urn:ferry:problem:{slug}", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: Request heads up to this size reach the app, which refuses what is over its own limits
#: (`functions/http_api/request_limits.py`: 414 and 431 problems); h11's default (16 KiB of
#: incomplete head) made uvicorn answer a text/plain 400 and reset the connection first.
MAX_HEAD_BYTES = 1024 * 1024


def problem_h11_protocol() -> type[Any]:
    """uvicorn's h11 protocol, with heads up to MAX_HEAD_BYTES and its own refusals (a head
    over that, a malformed request) answered as problem+json with h11's status (431 or 400)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HintedConnection(h11.Connection):
        """Remembers the status h11 suggests for the request it could not read."""

        refused_status = 400

        def next_event(self) -> Any:
            try:
                return super().next_event()
            except h11.RemoteProtocolError as exc:
                self.refused_status = exc.error_status_hint
                raise

    class ProblemH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.conn = HintedConnection(h11.SERVER, MAX_HEAD_BYTES)

        def send_400_response(self, msg: str) -> None:
            status = getattr(self.conn, "refused_status", 400)
            if status == 431:
                slug, title = "header-fields-too-large", "Request header fields too large"
                detail = f"the request line and headers together are over {MAX_HEAD_BYTES} bytes"
            else:
                status, slug, title, detail = 400, "bad-request", "Bad request", "the request is not valid HTTP/1.1"
            body = json.dumps(
                {"type": f"urn:ferry:problem:{slug}", "title": title, "status": status, "detail": detail}
            ).encode()
            for event in (
                h11.Response(
                    status_code=status,
                    headers=[
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                ),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
            self.transport.close()

    return ProblemH11Protocol
