"""Where the Planner writer puts things: order hints from source positions, and the locks
that keep read-modify-write sequences of one plan or task from interleaving.

The engine writes the records of a page at once, so two buckets (or tasks, labels, comments
of one task) can read the same state and write over each other. Planner has no server-side
"append" for a list and no atomic "first free category", so the writer serialises these
sequences itself (one writer instance per runtime; other runtimes writing the same plan are
covered by the etag checks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar

from shared.errors import SkippableItemError

#: position of items the writer did not place (already there): before anything it places
BEFORE_ALL = float("-inf")
#: entries the writer keeps per cache (a runtime lives as long as its worker process)
CACHE_LIMIT = 10_000
K = TypeVar("K")
V = TypeVar("V")


def remember(cache: dict[K, V], key: K, value: V) -> None:
    """Put ``key`` in ``cache``, dropping the oldest entry beyond ``CACHE_LIMIT``."""
    cache.pop(key, None)
    if len(cache) >= CACHE_LIMIT:
        del cache[next(iter(cache))]
    cache[key] = value


def need(value: str | None, what: str) -> str:
    """The destination parent an item goes into (``DestRefs``); without it the item fails
    alone (its parent failed or is not written yet)."""
    if not value:
        raise SkippableItemError(f"the destination {what} is not known yet")
    return value


class KeyedLocks:
    """One `asyncio.Lock` per key (a plan id, a task id)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


def order_hint_for(position: float, placed: Iterable[tuple[float, str]]) -> str:
    """Planner's `"<previous> <next>!"` hint that puts an item with source ``position``
    among ``placed`` items ((source position, order hint) pairs): after every item at or
    before its position, before the first one after it
    (https://learn.microsoft.com/graph/api/resources/planner-order-hint-format).
    If the hints do not follow the positions (someone reordered the list), it appends."""
    items = [(p, h) for p, h in placed if h]
    prev = max((h for p, h in items if p <= position), default="")
    nxt = min((h for p, h in items if p > position), default="")
    if nxt and prev >= nxt:
        prev, nxt = max((h for _, h in items), default=""), ""
    return f"{prev} {nxt}!"


class PlacedItems:
    """(source position, order hint) of the items of one list: those found there first (at
    `BEFORE_ALL`) and those this writer placed since."""

    def __init__(self, hints: Iterable[str]) -> None:
        self.items: list[tuple[float, str]] = [(BEFORE_ALL, h) for h in hints if h]

    def hint_for(self, position: float) -> str:
        return order_hint_for(position, self.items)

    def add(self, position: float, hint: str | None) -> None:
        if hint:
            self.items.append((position, hint))
