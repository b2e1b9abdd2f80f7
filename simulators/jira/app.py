"""Jira simulator app: ``create_app()`` assembles store, seed, routers, gate and controls."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulators.common import SimClock, SimRuntime, mount_sim_controls
from simulators.jira.gate import JiraGate, make_limiters
from simulators.jira.oauth import router as oauth_router
from simulators.jira.routes_files import media
from simulators.jira.routes_files import router as files_router
from simulators.jira.routes_issues import router as issues_router
from simulators.jira.routes_projects import router as projects_router
from simulators.jira.seed import SeedConfig, seed_store
from simulators.jira.store import JiraError, JiraStore


def create_app(seed_config: SeedConfig | dict[str, Any] | None = None, *, clock: SimClock | None = None) -> FastAPI:
    """A seeded Jira Cloud simulator. The store is ``app.state.jira_store``, the ``/_sim``
    runtime ``app.state.sim`` (limiters: ``burst_read``, ``burst_write``,
    ``issue_write_short``, ``issue_write_long``)."""
    clock = clock or SimClock()
    config = seed_config if isinstance(seed_config, SeedConfig) else SeedConfig.from_dict(seed_config)
    store = JiraStore(clock)
    seed_store(store, config)

    def reseed(params: dict[str, Any]) -> dict[str, Any]:
        with store.lock:
            return seed_store(store, SeedConfig.from_dict(params))

    runtime = SimRuntime(clock=clock, state=store.dump, reseed=reseed, limiters=make_limiters(clock))
    app = FastAPI(title="Jira Cloud simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.jira_store = store
    for router in (projects_router, issues_router, files_router, media, oauth_router):
        app.include_router(router)

    @app.exception_handler(JiraError)
    async def jira_error(_: Request, exc: JiraError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # unknown routes and methods answer in Jira's ErrorCollection too
        return JSONResponse(JiraError(exc.status_code, str(exc.detail)).body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(JiraError(400, "The request is not valid.").body(), status_code=400)

    app.add_middleware(JiraGate, store=store, runtime=runtime)
    mount_sim_controls(app, runtime)
    return app
