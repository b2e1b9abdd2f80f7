"""ASGI app: Microsoft Graph v1.0 (Planner + the directory, conversation and drive routes the
Planner connector needs) and the Entra ID token endpoint, in one app.

Layout of the served URLs (one origin):
- `{origin}/v1.0/...`                    Graph (connector setting `base_url`)
- `{origin}/{tenant}/oauth2/v2.0/token`  token endpoint (connector setting `login_base_url` = origin)
- `{origin}/_layouts/15/download.aspx`, `{origin}/_api/v2.0/.../uploadSession`
                                         pre-authenticated download / upload URLs
- `{origin}/_sim/...`                    simulator controls (not Graph)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from simulators.common import SimClock, SimRuntime, WindowLimiter, mount_sim_controls
from simulators.planner import (
    auth,
    routes_batch,
    routes_directory,
    routes_drive,
    routes_planner,
    routes_threads,
)
from simulators.planner.errors import (
    AadError,
    GraphError,
    aad_error_handler,
    graph_error_body,
    graph_error_handler,
)
from simulators.planner.inspect_state import dump_state
from simulators.planner.rules import PlannerLimits
from simulators.planner.seed import SeedConfig, seed_store
from simulators.planner.state import SimState

#: Graph's global limit: 130,000 requests per 10 s per app across all tenants
#: (https://learn.microsoft.com/graph/throttling-limits). Tests lower it via /_sim/limits.
DEFAULT_APP_LIMIT = (130_000, 10.0)


def create_app(
    seed_config: SeedConfig | None = None,
    *,
    clock: SimClock | None = None,
    limits: PlannerLimits | None = None,
    app_limit: tuple[int, float] = DEFAULT_APP_LIMIT,
    page_size: int = 100,
) -> FastAPI:
    """Build the simulator. `app_limit` = (requests, window seconds) per app (client id)."""
    clock = clock or SimClock()
    config = seed_config or SeedConfig()
    runtime = SimRuntime(clock=clock, limiters={"app": WindowLimiter(app_limit[0], app_limit[1], clock)})
    state = SimState(seed_store(config), clock, runtime, limits or PlannerLimits(), page_size=page_size)

    def reseed(params: dict[str, Any]) -> dict[str, Any]:
        state.store = seed_store(SeedConfig.from_dict(params))
        return {"tenant": state.store.tenant_id, "tasks": len(state.store.tasks), "plans": len(state.store.plans)}

    runtime.state = lambda: dump_state(state.store)
    runtime.reseed = reseed

    app = FastAPI(title="Microsoft Graph Planner simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.planner = state
    app.add_exception_handler(GraphError, graph_error_handler)
    app.add_exception_handler(AadError, aad_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.include_router(auth.router)
    app.include_router(routes_planner.router)
    app.include_router(routes_directory.router)
    app.include_router(routes_threads.router)
    app.include_router(routes_drive.router)
    app.include_router(routes_batch.router)
    mount_sim_controls(app, runtime)
    return app


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(graph_error_body(request, "BadRequest", f"Invalid request: {exc}"), status_code=400)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        segment = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        return JSONResponse(
            graph_error_body(request, "BadRequest", f"Resource not found for the segment '{segment}'."),
            status_code=400,
        )
    if exc.status_code == 405:
        return JSONResponse(
            graph_error_body(
                request, "BadRequest", f"The HTTP method '{request.method}' is not supported for this resource."
            ),
            status_code=405,
        )
    return JSONResponse(graph_error_body(request, "UnknownError", str(exc.detail)), status_code=exc.status_code)
