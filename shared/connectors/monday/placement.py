"""Where the monday.com writer puts groups and items so a board keeps the source's order.

monday places a new group or item only relative to another one (``create_group`` /
``create_item`` with ``relative_to`` + ``position_relative_method``; ``update_group`` with
``relative_position_before|after`` and ``change_item_position`` move them), never at a
number (``create_group(position:)`` is deprecated). So the writer needs the source
positions of what a group or board already holds:

* **items** carry theirs in Ferry's ``ferry_order`` text column, written with the item's
  other values. Any writer — a later chunk's, a delta's, one after a lost answer — lists a
  group's items in board order with their positions (``ItemOrder``, one listing per group
  and writer, kept up to date as it writes, listed again when a sibling the engine names is
  not in it: another worker's writer put it there) and puts an item before the nearest one
  with a higher position, else after the nearest with a lower one.
* **groups** have no field to hold it: the writer remembers the source position of every
  group it created, found by name or updated (``GroupOrder``) and puts a new group before
  the nearest known group with a higher position, else after the board's last group. The
  engine writes a scope's sections in source order (pages one after the other), and it
  finds a group whose create answer was lost by name and then updates it, which moves it
  into place; a section a *later* run adds goes after the groups already there.

Creates and moves in one group (one board for groups) are serialised by a lock, so
concurrent writes of one page each see where the others went.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from shared.connectors.monday import operations as ops
from shared.connectors.monday.client import MondayClient
from shared.connectors.monday.mapping import ORDER_COLUMN, parse_order

BEFORE = "before_at"
AFTER = "after_at"
#: (destination id, source position) in board order
Placed = list[tuple[str, float]]


def anchor_for(position: float, placed: Sequence[tuple[str, float]]) -> tuple[str, str] | None:
    """Where an entry at source ``position`` goes among ``placed``: ``(id, before_at)`` of
    the nearest entry above it, else ``(id, after_at)`` of the nearest at or below it
    (the later one in board order on a tie), else None (nothing to place it by)."""
    above = [(pos, n, pid) for n, (pid, pos) in enumerate(placed) if pos > position]
    if above:
        return min(above)[2], BEFORE
    below = [(pos, n, pid) for n, (pid, pos) in enumerate(placed) if pos <= position]
    if below:
        return max(below)[2], AFTER
    return None


def in_place(entry: str, placed: Sequence[tuple[str, float]]) -> bool:
    """Whether ``entry`` sits between neighbours whose positions bracket its own."""
    index = next((n for n, (pid, _) in enumerate(placed) if pid == entry), None)
    if index is None:
        return False
    position = placed[index][1]
    before_ok = index == 0 or placed[index - 1][1] <= position
    after_ok = index == len(placed) - 1 or placed[index + 1][1] >= position
    return before_ok and after_ok


def put(placed: Placed, entry: str, position: float, anchor: tuple[str, str] | None) -> None:
    """Record ``entry`` where ``anchor`` put it (at the end without one)."""
    placed[:] = [p for p in placed if p[0] != entry]
    index = len(placed)
    if anchor is not None:
        found = next((n for n, (pid, _) in enumerate(placed) if pid == anchor[0]), None)
        if found is not None:
            index = found if anchor[1] == BEFORE else found + 1
    placed.insert(index, (entry, position))


class ItemOrder:
    """Ferry's items of each group in board order with their source positions, listed once
    per group (``ferry_order`` values) and kept as this writer places items; listed again
    when the engine names a sibling the listing lacks (the writer lives as long as its
    worker: another worker's writer may have written into the group since)."""

    def __init__(self, client: MondayClient) -> None:
        self.client = client
        self._groups: dict[tuple[str, str], Placed] = {}
        #: siblings the engine named that a listing made for them did not hold (deleted or
        #: moved away at the destination): not listed for again
        self._absent: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, board: str, group: str) -> asyncio.Lock:
        return self._locks[(board, group)]

    def forget(self, board: str, group: str) -> None:
        """After a write whose outcome is unknown: list the group again next time."""
        self._groups.pop((board, group), None)

    async def listing(self, board: str, group: str, *, fresh: bool = False, siblings: Sequence[str] = ()) -> Placed:
        """The group's items; ``siblings``: destination ids the engine says are there."""
        key = (board, group)
        if not fresh and key in self._groups:
            held = {pid for pid, _ in self._groups[key]} | self._absent[key]
            fresh = any(s not in held for s in siblings)
        if fresh or key not in self._groups:
            self._groups[key] = await self._list(board, group)
            held = {pid for pid, _ in self._groups[key]}
            self._absent[key].update(s for s in siblings if s not in held)
        return self._groups[key]

    async def _list(self, board: str, group: str) -> Placed:
        out: Placed = []
        cursor: str | None = None
        base = {"cols": [ORDER_COLUMN], "limit": ops.ORDER_PAGE}
        while True:
            if cursor is None:
                data = await self.client.run("order_first", {**base, "ids": [board], "group": [group]})
                boards = data["boards"] or []
                groups = (boards[0].get("groups") or []) if boards and boards[0] else []
                if not groups or groups[0] is None:
                    return out
                page = groups[0]["items_page"]
            else:
                page = (await self.client.run("order_next", {**base, "cursor": cursor}))["next_items_page"]
            for item in page["items"] or []:
                values = {str(cv["id"]): cv.get("text") for cv in item.get("column_values") or []}
                position = parse_order(values.get(ORDER_COLUMN))
                if position is not None:  # an item Ferry did not write has no place to keep
                    out.append((str(item["id"]), position))
            cursor = page.get("cursor")
            if cursor is None:
                return out


class GroupOrder:
    """Source positions of the groups this writer created, found or updated, per board."""

    def __init__(self) -> None:
        self.known: defaultdict[str, dict[str, float]] = defaultdict(dict)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, board: str) -> asyncio.Lock:
        return self._locks[board]

    def on_board(self, board: str, groups_in_order: Sequence[str]) -> Placed:
        """The known groups among ``groups_in_order`` (the board's, in board order)."""
        known = self.known[board]
        return [(g, known[g]) for g in groups_in_order if g in known]
