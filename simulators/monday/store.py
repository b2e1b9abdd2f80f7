"""State of the monday.com simulator: account, users, workspaces, boards, columns, groups,
items (and subitems), updates, assets and tags.

Ids are numeric strings, as monday answers them (``ID`` scalars such as ``"1234567890"``);
group ids are short strings (``topics``, ``group_title``). Every write happens under
``store.lock`` (the GraphQL executor holds it for one whole operation), so one request is
atomic, as monday's mutations are.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.common import Blob, SimClock

ACCOUNT_ID = 9_100_001
#: monday's documented item-name maximum (ItemNameTooLongException beyond it)
MAX_ITEM_NAME = 255


def iso(ts: float) -> str:
    """``2026-01-02T03:04:05Z`` (monday's ``Date``/``ISO8601DateTime`` rendering)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    id: str
    name: str
    email: str
    token: str
    created_at: float
    is_admin: bool = False
    enabled: bool = True


@dataclass
class Workspace:
    id: str
    name: str
    kind: str = "open"
    description: str = ""


@dataclass
class Column:
    id: str
    title: str
    type: str  # ColumnType enum value
    settings: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    archived: bool = False


@dataclass
class Group:
    id: str
    title: str
    color: str
    position: float
    archived: bool = False
    deleted: bool = False


@dataclass
class Board:
    id: str
    name: str
    workspace_id: str | None
    kind: str  # BoardKind: public / private / share
    creator_id: str
    created_at: float
    updated_at: float
    description: str = ""
    state: str = "active"  # State: active / archived / deleted
    columns: list[Column] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    #: "board" or "sub_items_board" (the hidden board monday keeps a board's subitems on)
    type: str = "board"
    subitems_board_id: str | None = None
    parent_board_id: str | None = None

    def column(self, column_id: str) -> Column | None:
        return next((c for c in self.columns if c.id == column_id and not c.archived), None)

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id and not g.deleted), None)

    def live_groups(self) -> list[Group]:
        return sorted((g for g in self.groups if not g.deleted), key=lambda g: g.position)


@dataclass
class Item:
    id: str
    board_id: str
    group_id: str
    name: str
    creator_id: str
    created_at: float
    updated_at: float
    position: float
    #: raw column values by column id, in monday's stored JSON shape (see columns.py)
    values: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    state: str = "active"
    #: the markdown of the item's description document (None: no description yet)
    description_md: str | None = None
    description_doc_id: str | None = None


@dataclass
class Update:
    id: str
    item_id: str
    body: str  # HTML
    creator_id: str
    created_at: float
    updated_at: float
    original_creation_date: str | None = None
    parent_id: str | None = None  # a reply's post
    asset_ids: list[str] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Asset:
    id: str
    name: str
    size: int
    uploaded_by: str
    created_at: float
    content_type: str = "application/octet-stream"
    path: str | None = None  # an uploaded file (on disk)
    blob_seed: str | None = None  # a seeded file (bytes generated on demand)
    item_id: str | None = None
    column_id: str | None = None
    update_id: str | None = None

    @property
    def extension(self) -> str:
        _, dot, ext = self.name.rpartition(".")
        return f".{ext.lower()}" if dot else ""

    def blob(self) -> Blob:
        assert self.blob_seed is not None
        return Blob(self.size, self.blob_seed)


@dataclass
class Tag:
    id: int
    name: str
    color: str


class MondayStore:
    """All simulator state plus the clock and the upload directory."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.upload_dir = tempfile.mkdtemp(prefix="monday-sim-")
        self.reset()

    def reset(self) -> None:
        """Forget everything (the upload directory is emptied)."""
        self.users: dict[str, User] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.boards: dict[str, Board] = {}
        self.items: dict[str, Item] = {}
        self.updates: dict[str, Update] = {}
        self.assets: dict[str, Asset] = {}
        self.tags: dict[int, Tag] = {}
        self._ids = itertools.count(1_800_000_001)
        self._tag_ids = itertools.count(21_000_001)
        self._last_ts = 0.0
        shutil.rmtree(self.upload_dir, ignore_errors=True)
        os.makedirs(self.upload_dir, exist_ok=True)

    def new_id(self) -> str:
        return str(next(self._ids))

    def new_tag_id(self) -> int:
        return next(self._tag_ids)

    def now(self) -> float:
        """The clock's time, strictly increasing across calls (so versions always move)."""
        ts = max(self.clock.time(), self._last_ts + 0.001)
        self._last_ts = ts
        return ts

    # -- lookups ---------------------------------------------------------------------

    def user_by_token(self, token: str) -> User | None:
        return next((u for u in self.users.values() if u.token == token and u.enabled), None)

    def user_by_email(self, email: str) -> User | None:
        low = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == low), None)

    def live_board(self, board_id: str) -> Board | None:
        board = self.boards.get(str(board_id))
        return board if board is not None and board.state != "deleted" else None

    def live_item(self, item_id: str) -> Item | None:
        item = self.items.get(str(item_id))
        return item if item is not None and item.state != "deleted" else None

    def board_items(self, board: Board) -> list[Item]:
        """Active top-level items of ``board`` in display order (group, then position)."""
        order = {g.id: i for i, g in enumerate(board.live_groups())}
        items = [
            i for i in self.items.values() if i.board_id == board.id and i.state == "active" and i.group_id in order
        ]
        return sorted(items, key=lambda i: (order[i.group_id], i.position, int(i.id)))

    def subitems(self, item: Item) -> list[Item]:
        subs = [i for i in self.items.values() if i.parent_id == item.id and i.state == "active"]
        return sorted(subs, key=lambda i: (i.position, int(i.id)))

    def item_updates(self, item: Item) -> list[Update]:
        """Top-level updates of an item, newest first (monday's order)."""
        ups = [u for u in self.updates.values() if u.item_id == item.id and not u.deleted and u.parent_id is None]
        return sorted(ups, key=lambda u: (u.created_at, int(u.id)), reverse=True)

    def dump(self) -> dict[str, Any]:
        """JSON-able state for ``GET /_sim/state`` (tokens included: it is a test tool)."""
        with self.lock:
            return {
                "account_id": ACCOUNT_ID,
                "users": [vars(u) for u in self.users.values()],
                "workspaces": [vars(w) for w in self.workspaces.values()],
                "boards": [
                    {
                        **{k: v for k, v in vars(b).items() if k not in ("columns", "groups")},
                        "columns": [vars(c) for c in b.columns],
                        "groups": [vars(g) for g in b.groups],
                    }
                    for b in self.boards.values()
                ],
                "items": [vars(i) for i in self.items.values()],
                "updates": [vars(u) for u in self.updates.values()],
                "assets": [{k: v for k, v in vars(a).items() if k != "path"} for a in self.assets.values()],
                "tags": [vars(t) for t in self.tags.values()],
            }
