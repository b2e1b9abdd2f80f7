"""ASGI app: Azure DevOps Services REST 7.1 (core + work item tracking) and the Microsoft
Entra ID token endpoint, on one origin.

- ``{origin}/{organization}/_apis/...`` and ``{origin}/{organization}/{project}/_apis/...``
  — the service (connector setting ``organization_url = {origin}/{organization}``)
- ``{origin}/{tenant}/oauth2/v2.0/token`` — Entra ID client-credentials tokens
- ``{origin}/_sim/...`` — simulator controls (``simulators/common.py``), not the service
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.azure_devops import (
    auth,
    routes_attachments,
    routes_comments,
    routes_core,
    routes_teams,
    routes_wit,
)
from simulators.azure_devops.errors import AdoError, ado_error_handler, error_body
from simulators.azure_devops.seed import SeedConfig, seed_store
from simulators.azure_devops.state import SimState
from simulators.azure_devops.tstu import DEFAULT_LIMIT, WINDOW_S, TstuLimiter
from simulators.azure_devops.views import dump_state
from simulators.common import SimClock, SimRuntime, mount_sim_controls


def create_app(
    seed_config: SeedConfig | None = None,
    *,
    clock: SimClock | None = None,
    tstu_limit: float = DEFAULT_LIMIT,
    tstu_window_s: float = WINDOW_S,
    comment_page: int = 200,
    project_page: int = 100,
) -> FastAPI:
    """Build the simulator (``tstu_limit`` TSTUs per ``tstu_window_s`` per identity)."""
    clock = clock or SimClock()
    config = seed_config or SeedConfig()
    runtime = SimRuntime(clock=clock, limiters={"tstu": TstuLimiter(tstu_limit, tstu_window_s, clock)})
    state = SimState(seed_store(config, clock), clock, runtime, comment_page=comment_page, project_page=project_page)

    def reseed(params: dict[str, Any]) -> dict[str, Any]:
        state.store = seed_store(SeedConfig.from_dict(params), clock)
        return {
            "organization": state.store.organization,
            "projects": len(state.store.projects),
            "work_items": len(state.store.work_items),
        }

    runtime.state = lambda: dump_state(state.store)
    runtime.reseed = reseed
    app = FastAPI(title="Azure DevOps simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ado = state
    app.add_exception_handler(AdoError, ado_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)

    app.include_router(auth.router)
    app.include_router(routes_core.router)
    app.include_router(routes_teams.router)
    app.include_router(routes_comments.router)
    app.include_router(routes_attachments.router)
    app.include_router(routes_wit.router)
    mount_sim_controls(app, runtime)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(CaseInsensitiveRoutes)
    return app


class RateLimitHeaders:
    """Adds the X-RateLimit-* headers ``auth.caller`` left in the request state (an
    identity near its TSTU limit) to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})

        async def with_headers(message: Message) -> None:
            extra = scope["state"].get("rate_headers")
            if message["type"] == "http.response.start" and extra:
                message = dict(
                    message,
                    headers=[
                        *message.get("headers", []),
                        *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                    ],
                )
            await send(message)

        await self.app(scope, receive, with_headers)


#: literal route segments after ``_apis`` (the service matches them case-insensitively:
#: its own URLs say ``workItems`` where the spec says ``workitems``)
_LITERALS = frozenset(
    {
        "wit",
        "workitems",
        "comments",
        "attachments",
        "classificationnodes",
        "projects",
        "operations",
        "process",
        "processes",
        "connectiondata",
        "wiql",
        "tags",
        "workitemtypes",
        "states",
        "workitemsbatch",
    }
)


class CaseInsensitiveRoutes:
    """Lower-cases the literal segments of an ``_apis`` path before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "/_apis/" in scope["path"]:
            head, _, tail = scope["path"].partition("/_apis/")
            parts = [p.lower() if p.lower() in _LITERALS else p for p in tail.split("/")]
            scope = dict(scope, path=f"{head}/_apis/" + "/".join(parts))
        await self.app(scope, receive, send)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(error_body(f"VS403420: The request is not valid: {exc}", "ArgumentException"), status_code=400)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return JSONResponse(
            error_body(
                "VS800075: The controller for path '" + request.url.path + "' was not found or "
                "does not implement IController.",
                "HttpException",
            ),
            status_code=404,
        )
    return JSONResponse(error_body(str(exc.detail), "HttpException"), status_code=exc.status_code)
