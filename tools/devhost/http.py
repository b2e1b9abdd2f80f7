"""HTTP triggers served as the Python worker serves them with the HTTP streaming extension.

The worker runs the extension's `WebApp` (FastAPI, one catch-all route) on uvicorn, hands
the function the real request with the host's route parameters synced onto it, and sends
whatever response the function returns — a `StreamingResponse` chunk by chunk. The runner
does the same, playing the host's part too: it matches the path against each function's
route template under host.json's `routePrefix` and its methods, and answers 404 otherwise.
"""
from __future__ import annotations

import re
import typing
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
    return re.compile(f"^{pattern or '/'}/?$", re.IGNORECASE)


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
            {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"})
        return cls(trigger, template_regex(route_prefix, route), methods)


def _require_streaming_request(trigger: Trigger) -> None:
    from azurefunctions.extensions.base import RequestTrackerMeta

    hints = typing.get_type_hints(trigger.function)
    if not RequestTrackerMeta.check_type(hints.get(trigger.arg_name)):
        raise RuntimeError(
            f"HTTP function {trigger.name} must take the streaming extension's Request "
            "(azurefunctions.extensions.http.fastapi); the runner serves HTTP as the worker does with it")


def build_http_app(http_triggers: list[Trigger], route_prefix: str) -> Any:
    """The ASGI app uvicorn serves: the extension's own `WebApp` with the host's routing."""
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

    return web.get_app()
