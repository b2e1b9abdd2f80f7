"""All regions' stores of this process, opened once and reused across invocations."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from shared.config import Settings, get_settings
from shared.shutdown import on_shutdown
from shared.store.cosmos import CosmosRegion, open_region
from shared.store.storage import RegionStorage, open_storage


class Stores:
    """Cosmos and Storage clients per configured region (lazily started, idempotent)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cosmos: dict[str, CosmosRegion] = {}
        self._storage: dict[str, RegionStorage] = {}
        self._started = False
        self._lock = asyncio.Lock()

    async def start(self) -> Stores:
        """Open clients and create containers/queues if missing; safe to call repeatedly."""
        if self._started:
            return self
        async with self._lock:
            if self._started:
                return self
            for name, region in self.settings.regions.items():
                cosmos = open_region(self.settings, region)
                storage = open_storage(self.settings, region)
                await asyncio.gather(cosmos.ensure_containers(), storage.ensure())
                self._cosmos[name] = cosmos
                self._storage[name] = storage
            self._started = True
        return self

    def cosmos(self, region: str) -> CosmosRegion:
        return self._cosmos[self.settings.region(region).name]

    def storage(self, region: str) -> RegionStorage:
        return self._storage[self.settings.region(region).name]

    @property
    def regions(self) -> list[str]:
        return list(self.settings.regions)

    async def health(self) -> dict[str, Any]:
        """Readiness of each region's Cosmos and Storage; names only, never a secret."""

        async def probe(fn: Any) -> dict[str, Any]:
            start = time.perf_counter()
            try:
                await asyncio.wait_for(fn(), timeout=5)
                return {"status": "ok", "latencyMs": round((time.perf_counter() - start) * 1000, 1)}
            except Exception as exc:  # readiness reports the failure, it does not raise
                return {"status": "unavailable", "error": type(exc).__name__}

        report: dict[str, Any] = {}
        for name in self.settings.regions:
            try:
                await self.start()
                cosmos, storage = self._cosmos[name], self._storage[name]
                c, s = await asyncio.gather(probe(cosmos.ping), probe(storage.ping))
            except Exception as exc:
                c = s = {"status": "unavailable", "error": type(exc).__name__}
            report[name] = {"cosmos": c, "storage": s}
        return report

    async def close(self) -> None:
        for c in self._cosmos.values():
            await c.close()
        for s in self._storage.values():
            await s.close()
        self._cosmos.clear()
        self._storage.clear()
        self._started = False


_stores: Stores | None = None


def get_stores() -> Stores:
    """The process-wide Stores (Functions reuse a worker process across invocations)."""
    global _stores
    if _stores is None:
        _stores = Stores(get_settings())
    return _stores


@on_shutdown
async def close_stores() -> None:
    """Close the process-wide Stores' clients (a stopping worker; see ``shared.shutdown``)."""
    global _stores
    if _stores is not None:
        stores, _stores = _stores, None
        await stores.close()


def reset_stores() -> None:
    """Forget the process-wide Stores (tests and the local runner's event-loop changes)."""
    global _stores
    _stores = None
