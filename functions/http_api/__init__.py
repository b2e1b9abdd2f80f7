"""Ferry's HTTP API: a FastAPI app served inside `func.AsgiFunctionApp`.

Routers are assembled here only; each resource lives in its own module.
"""
from __future__ import annotations

from fastapi import FastAPI

from functions.http_api.problems import install_problem_handlers


def create_api() -> FastAPI:
    from functions.http_api import audit, connectors, deletion, export, health, keys, logs, members, migrations, orgs

    api = FastAPI(
        title="Ferry API",
        version="0.1.0",
        description="Move a team's work between cloud tools: nothing lost, nothing duplicated.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_problem_handlers(api)
    for module in (health, orgs, members, keys, audit, connectors, migrations, logs, deletion, export):
        api.include_router(module.router, prefix="/api")
    return api
