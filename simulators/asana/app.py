"""Asana simulator app: ``create_app()`` assembles store, seed, routers, gate and controls."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulators.asana.api import API_PREFIX
from simulators.asana.gate import AsanaGate, make_limiters
from simulators.asana.models import AsanaApiError
from simulators.asana.oauth import router as oauth_router
from simulators.asana.routes_batch import router as batch_router
from simulators.asana.routes_core import router as core_router
from simulators.asana.routes_custom_fields import router as custom_fields_router
from simulators.asana.routes_tasks import downloads
from simulators.asana.routes_tasks import router as tasks_router
from simulators.asana.seed import SeedConfig, seed_store
from simulators.asana.store import AsanaStore
from simulators.common import SimClock, SimRuntime, mount_sim_controls


def create_app(
    seed_config: SeedConfig | dict[str, Any] | None = None,
    *,
    clock: SimClock | None = None,
    plan: str = "paid",
    offset_ttl_s: float = 3600.0,
) -> FastAPI:
    """Build a seeded Asana simulator.

    ``plan`` picks the documented per-token rate limit ("free" 150/min, "paid" 1,500/min).
    The store is ``app.state.asana_store``, the ``/_sim`` runtime ``app.state.sim``.
    """
    clock = clock or SimClock()
    config = seed_config if isinstance(seed_config, SeedConfig) else SeedConfig.from_dict(seed_config)
    store = AsanaStore(clock, offset_ttl_s=offset_ttl_s)
    seed_store(store, config)

    def reseed(params: dict[str, Any]) -> dict[str, Any]:
        with store.lock:
            return seed_store(store, SeedConfig.from_dict(params))

    runtime = SimRuntime(clock=clock, state=store.dump, reseed=reseed, limiters=dict(make_limiters(plan, clock)))
    app = FastAPI(title="Asana simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.asana_store = store
    # the routers of /api/1.0 (the batch API looks an action's route template up in them)
    app.state.asana_api_routers = (core_router, tasks_router, custom_fields_router, batch_router)
    for api_router in app.state.asana_api_routers:
        app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(downloads)
    app.include_router(oauth_router)

    @app.exception_handler(AsanaApiError)
    async def asana_error(_: Request, exc: AsanaApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes and methods answer in Asana's error envelope too.
        err = AsanaApiError(exc.status_code, str(exc.detail))
        return JSONResponse(err.body(), status_code=exc.status_code)

    app.add_middleware(AsanaGate, store=store, runtime=runtime)
    mount_sim_controls(app, runtime)
    return app
