"""GET /api/health: readiness of each region's Cosmos and Storage."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from shared.store.stores import get_stores

router = APIRouter(tags=["health"])


@router.get("/health", summary="Readiness of Cosmos and Storage per region")
async def health() -> JSONResponse:
    stores = get_stores()
    regions = await stores.health()
    ok = all(part["status"] == "ok" for r in regions.values() for part in r.values())
    body = {
        "status": "ok" if ok else "degraded",
        "environment": stores.settings.environment,
        "stampRegion": stores.settings.stamp_region,
        "regions": regions,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
