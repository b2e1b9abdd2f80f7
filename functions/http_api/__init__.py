"""Ferry's HTTP API: a FastAPI app behind one streaming HTTP trigger (`front_door`).

Routers are assembled here only; each resource lives in its own module. The app is built on
its first request (`LazyApi`): the Functions host imports `function_app` on every cold start,
and most cold starts serve a queue message or a timer, which need no routes of ours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def create_api() -> FastAPI:
    from fastapi import FastAPI

    from functions.http_api import (
        audit,
        connectors,
        console,
        deletion,
        export,
        health,
        keys,
        logs,
        members,
        migrations,
        orgs,
    )
    from functions.http_api.openapi_doc import install_openapi
    from functions.http_api.problems import install_problem_handlers

    api = FastAPI(
        title="Ferry API",
        version="0.1.0",
        description="Move a team's work between cloud tools: nothing lost, nothing duplicated.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # /api/docs is served by `console` from local Swagger UI files (no CDN, strict CSP)
        redoc_url=None,
    )
    install_problem_handlers(api)
    for module in (health, orgs, members, keys, audit, connectors, migrations, logs, deletion, export):
        api.include_router(module.router, prefix="/api")
    from functions.assistant import api as assistant_api

    api.include_router(assistant_api.router, prefix="/api")
    api.include_router(console.router)
    install_openapi(api)
    return api


class LazyApi:
    """An ASGI app that builds the real one (`factory()`) on first use, lifespan included."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            self._app = self._factory()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
