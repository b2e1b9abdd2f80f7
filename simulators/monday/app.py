"""monday.com simulator app: ``create_app()`` assembles store, seed, gateway and controls."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp

from simulators.common import (
    ConcurrencyLimiter,
    SimClock,
    SimRuntime,
    WindowLimiter,
    blob_response,
    mount_sim_controls,
)
from simulators.monday.complexity import (
    FREE_ACCOUNT_BUDGET,
    PERSONAL_TOKEN_BUDGET,
    ComplexityBudget,
)
from simulators.monday.files import UrlSigner
from simulators.monday.gateway import MondayGate, OperationTagger
from simulators.monday.paging import CURSOR_TTL_S, CursorBook
from simulators.monday.seed import SeedConfig, seed_store
from simulators.monday.store import Asset, MondayStore

#: monday's IP limit: 5,000 requests per 10 seconds (IP_RATE_LIMIT_EXCEEDED)
IP_LIMIT = (5_000, 10.0)
#: requests in flight per account before ``maxConcurrencyExceeded`` (a simulator setting:
#: monday's limit depends on the plan; change it through ``POST /_sim/limits``)
CONCURRENCY = 40


def _asset_response(store: MondayStore, asset: Asset, request: Request) -> Response:
    if asset.path is not None:
        return FileResponse(asset.path, media_type=asset.content_type, filename=asset.name)
    # RFC 6266: a non-Latin-1 name only travels as filename* (a header is Latin-1)
    disposition = f"attachment; filename*=UTF-8''{quote(asset.name)}"
    return blob_response(
        asset.blob(),
        media_type=asset.content_type,
        range_header=request.headers.get("range"),
        headers={"content-disposition": disposition},
    )


def create_app(
    seed_config: SeedConfig | dict[str, Any] | None = None,
    *,
    clock: SimClock | None = None,
    plan: str = "paid",
    cursor_ttl_s: float = CURSOR_TTL_S,
) -> ASGIApp:
    """Build a seeded monday.com simulator (GraphQL at ``/v2``, uploads at ``/v2/file``).

    ``plan`` picks the documented per-minute complexity budget of a personal token ("paid"
    10M points, "free" 1M). The store is ``app.state.monday_store`` and the ``/_sim``
    runtime ``app.state.sim`` of the returned app's ``.inner`` FastAPI app, also reachable
    as ``app.state`` through the wrapper.
    """
    clock = clock or SimClock()
    config = seed_config if isinstance(seed_config, SeedConfig) else SeedConfig.from_dict(seed_config)
    store = MondayStore(clock)
    seed_store(store, config)

    def reseed(params: dict[str, Any]) -> dict[str, Any]:
        with store.lock:
            return seed_store(store, SeedConfig.from_dict(params))

    budget = PERSONAL_TOKEN_BUDGET if plan == "paid" else FREE_ACCOUNT_BUDGET
    runtime = SimRuntime(
        clock=clock,
        state=store.dump,
        reseed=reseed,
        limiters={
            "complexity": ComplexityBudget(budget, clock),
            "ip": WindowLimiter(IP_LIMIT[0], IP_LIMIT[1], clock),
            "concurrency": ConcurrencyLimiter(CONCURRENCY),
        },
    )
    cursors = CursorBook(clock, cursor_ttl_s)
    signer = UrlSigner(clock)
    app = FastAPI(title="monday.com simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.monday_store = store
    app.state.cursors = cursors

    @app.get("/_files/{asset_id}/{name}")
    async def public_file(asset_id: str, name: str, request: Request) -> Response:
        asset = store.assets.get(asset_id)
        q = request.query_params
        if asset is None or not signer.valid(asset_id, q.get("expires", ""), q.get("sig", "")):
            return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403, media_type="application/xml")
        return _asset_response(store, asset, request)

    @app.get("/protected_static/{asset_id}/{name}")
    async def private_file(asset_id: str, name: str, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if store.user_by_token(token) is None:
            return JSONResponse({"error_message": "Not Authenticated"}, status_code=401)
        asset = store.assets.get(asset_id)
        if asset is None:
            return JSONResponse({"error_message": "Not Found"}, status_code=404)
        return _asset_response(store, asset, request)

    app.add_middleware(MondayGate, store=store, runtime=runtime, cursors=cursors, signer=signer)
    mount_sim_controls(app, runtime)
    return MondaySimulator(app, store)


class MondaySimulator:
    """The FastAPI app behind :class:`OperationTagger`; ``.state`` is the app's state."""

    def __init__(self, app: FastAPI, store: MondayStore) -> None:
        self.inner = app
        self.state = app.state
        self._asgi = OperationTagger(app, store.upload_dir)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)
