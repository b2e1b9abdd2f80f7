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
from collections.abc import Iterable, Mapping
from typing import TypeVar

from shared.contract.connector import DestRefs
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
    """The tasks of one list (a plan's bucket): task id → (source position, order hint).
    Tasks found there first have no known position (`BEFORE_ALL`) until the engine names one
    as an anchor (`DestRefs.after`/`before`) or this writer places it."""

    def __init__(self, hints: Mapping[str, str]) -> None:
        self.items: dict[str, tuple[float, str]] = {i: (BEFORE_ALL, h) for i, h in hints.items() if h}
        #: anchors the engine gave that a read of the plan made for them did not find in this
        #: list (deleted or moved away at the destination): not read for again
        self.absent: set[str] = set()

    def knows(self, refs: DestRefs) -> bool:
        """Every anchor the engine gives is in this list or known to be absent from it
        (else the list was read before another writer put it there)."""
        return all(
            sib.dest_id in self.items or sib.dest_id in self.absent
            for sib in (refs.after, refs.before)
            if sib is not None
        )

    def missing(self, refs: DestRefs) -> None:
        """After a fresh read: the anchors of ``refs`` it did not find are absent."""
        for sib in (refs.after, refs.before):
            if sib is not None and sib.dest_id not in self.items:
                self.absent.add(sib.dest_id)

    def hint_for(self, position: float, refs: DestRefs, itself: str = "") -> str:
        """The `"<previous> <next>!"` hint that puts a task at source ``position`` right
        after its nearest earlier sibling in the list, else right before its nearest later
        one, among the engine's anchors and the tasks this writer placed
        (https://learn.microsoft.com/graph/api/resources/planner-order-hint-format); with
        none known, after every task of the list."""
        for sib in (refs.after, refs.before):
            if sib is not None and sib.dest_id in self.items:
                self.items[sib.dest_id] = (sib.position, self.items[sib.dest_id][1])
        known = {i: p for i, (p, _) in self.items.items() if p != BEFORE_ALL}
        after, before = DestRefs().anchors(position, known, itself)
        hints = sorted(h for i, (_, h) in self.items.items() if i != itself)
        if after:
            prev = self.items[after][1]
            return f"{prev} {min((h for h in hints if h > prev), default='')}!"
        if before:
            nxt = self.items[before][1]
            return f"{max((h for h in hints if h < nxt), default='')} {nxt}!"
        return f"{max(hints, default='')} !"

    def add(self, task_id: str, position: float, hint: str | None) -> None:
        if hint:
            self.items[task_id] = (position, hint)

    def drop(self, task_id: str) -> None:
        self.items.pop(task_id, None)
