"""``LoadedOnce``: a vendor look-up made once per key, however many writes ask at once.

The engine writes a page's items concurrently, so a writer's first look-up (a Jira site's
start date field, an Azure DevOps project's tags) is asked for by every item of the page's
first wave. A plain ``if key not in cache: cache[key] = await load(key)`` sends one request
per waiting item; this sends one and lets the others wait for its answer. A failed load
stores nothing: the next caller loads again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LoadedOnce(Generic[K, V]):
    """Values of ``load(key)``, loaded at most once per key while the loads succeed."""

    def __init__(self, load: Callable[[K], Awaitable[V]]) -> None:
        self._load = load
        self._values: dict[K, V] = {}
        self._locks: defaultdict[K, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def get(self, key: K) -> V:
        if key in self._values:
            return self._values[key]
        async with self._locks[key]:
            if key not in self._values:  # the caller before us loaded it while we waited
                self._values[key] = await self._load(key)
            return self._values[key]
