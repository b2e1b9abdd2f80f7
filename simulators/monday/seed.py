"""Deterministic monday.com seed data: the same ``SeedConfig`` gives the same ids, texts,
values and file bytes (timestamps are seeded too, older than 2025-01-01).

Users ``user{i}@monday.example.com`` (i from 1) with API tokens ``token_for(i)``;
``DEFAULT_TOKEN`` is user 1's. Each board has the columns Owner (people), Status (status:
Working on it / Done / Stuck), Due date (date), Notes (text), Tags (tags) and Files (file),
groups, items with values, subitems, updates (HTML, some with files), item descriptions
(markdown with headings, lists, links and code) and seeded files whose bytes are generated
on demand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from simulators.common import seeded_rng, unicode_text, words
from simulators.monday.columns import add_file_entry, default_settings
from simulators.monday.mutations import GROUP_COLORS, TAG_COLORS, _subitems_board
from simulators.monday.store import (
    Asset,
    Board,
    Column,
    Group,
    Item,
    MondayStore,
    Tag,
    Update,
    User,
    Workspace,
    iso,
)

DEFAULT_TOKEN = "monday-sim-token-1"
DAY = 86_400.0
SEED_EPOCH = 1_735_689_600.0  # 2025-01-01T00:00:00Z
BOARD_COLUMNS = (
    ("person", "Owner", "people"),
    ("status", "Status", "status"),
    ("date4", "Due date", "date"),
    ("text", "Notes", "text"),
    ("tags", "Tags", "tags"),
    ("files", "Files", "file"),
)
GROUP_TITLES = ("To do", "In progress", "Done", "Backlog", "Ideas")
FILES = (
    ("report.pdf", "application/pdf"),
    ("photo.png", "image/png"),
    ("data.csv", "text/csv"),
    ("Überblick – 日本.txt", "text/plain"),
)
RICH_UPDATE = (
    '<h2>Status update</h2><p>See <a href="https://example.com/spec">the spec</a>'
    " and <code>ferry run</code>.</p><ul><li>first point</li><li>second point</li>"
    '</ul><p>Thanks <a class="user_mention_editor router" '
    'href="https://ferry-sim.monday.com/users/1800000002" data-mention-type="User"'
    ' data-mention-id="1800000002">@User Two</a></p>'
)
RICH_DESCRIPTION = (
    "# Goal\n\nShip the **migration** by Friday.\n\n## Steps\n\n- read the "
    "[runbook](https://example.com/runbook)\n- run `ferry plan`\n\n1. first\n"
    "2. second\n\n```\nferry run --full\n```"
)


def token_for(i: int) -> str:
    """API token of the i-th seeded user (1-based)."""
    return f"monday-sim-token-{i}"


@dataclass
class SeedConfig:
    seed: int = 42
    users: int = 5
    workspaces: int = 1
    boards: int = 2  # per workspace
    groups_per_board: int = 3
    items_per_board: int = 20
    subitems_every: int = 4  # every n-th item gets two subitems (0: none)
    updates_per_item: int = 2
    many_updates: int = 30  # updates on the first item of each board (paging)
    file_sizes: tuple[int, ...] = (1_024, 150_000)
    done_every: int = 3
    description_every: int = 2
    tags: int = 4

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SeedConfig:
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown seed parameters: {sorted(unknown)}")
        if "file_sizes" in data:
            data["file_sizes"] = tuple(int(s) for s in data["file_sizes"])
        return cls(**data)


def _board(store: MondayStore, ws: Workspace, name: str, creator: str, ts: float) -> Board:
    board = Board(store.new_id(), name, ws.id, "public", creator, ts, ts, description=f"Seeded board {name}")
    board.columns = [Column(cid, title, ctype, default_settings(ctype)) for cid, title, ctype in BOARD_COLUMNS]
    store.boards[board.id] = board
    return board


def seed_store(store: MondayStore, config: SeedConfig) -> dict[str, Any]:
    """Replace the store's content with ``config``'s data; a summary for ``/_sim/seed``."""
    store.reset()
    rng = seeded_rng(config.seed)
    ts = SEED_EPOCH - 400 * DAY
    users = []
    for i in range(1, config.users + 1):
        user = User(
            store.new_id(),
            f"User {['One', 'Two', 'Three', 'Four', 'Five'][i - 1]}" if i <= 5 else f"User {i}",
            f"user{i}@monday.example.com",
            token_for(i),
            ts + i,
            is_admin=i == 1,
        )
        store.users[user.id] = user
        users.append(user)
    for t in range(config.tags):
        tag = Tag(store.new_tag_id(), f"tag-{words(rng, 1)}-{t}", TAG_COLORS[t % len(TAG_COLORS)])
        store.tags[tag.id] = tag
    tag_ids = list(store.tags)
    n_items = 0
    for w in range(config.workspaces):
        ws = Workspace(store.new_id(), f"Workspace {w + 1}")
        store.workspaces[ws.id] = ws
        for b in range(config.boards):
            ts += DAY
            board = _board(store, ws, f"Board {w + 1}.{b + 1} {unicode_text(rng, 1)}", users[0].id, ts)
            board.groups = [
                Group(
                    f"group_{g}", GROUP_TITLES[g % len(GROUP_TITLES)], GROUP_COLORS[g % len(GROUP_COLORS)], float(g + 1)
                )
                for g in range(config.groups_per_board)
            ]
            for k in range(config.items_per_board):
                ts += 3600
                n_items += 1
                group = board.groups[k % len(board.groups)]
                item = Item(
                    store.new_id(),
                    board.id,
                    group.id,
                    f"Item {k + 1}: {words(rng, 3)}" if k % 5 else f"Item {k + 1} {unicode_text(rng, 2)}",
                    users[k % len(users)].id,
                    ts,
                    ts + 60,
                    float(k + 1),
                )
                store.items[item.id] = item
                _values(store, rng, config, item, users, tag_ids, k, ts)
                if config.description_every and k % config.description_every == 0:
                    item.description_md = RICH_DESCRIPTION if k % 4 == 0 else words(rng, 12)
                    item.description_doc_id = store.new_id()
                n_updates = config.many_updates if k == 0 else config.updates_per_item
                for u in range(n_updates):
                    author = users[(k + u) % len(users)]
                    body = RICH_UPDATE if u == 0 and k % 3 == 1 else f"<p>{words(rng, 6)} {unicode_text(rng, 1)}</p>"
                    up = Update(store.new_id(), item.id, body, author.id, ts + 100 + u, ts + 100 + u)
                    store.updates[up.id] = up
                if config.file_sizes and k < len(config.file_sizes) * 2:
                    size = config.file_sizes[k % len(config.file_sizes)]
                    name, ctype = FILES[k % len(FILES)]
                    asset = Asset(
                        store.new_id(),
                        name,
                        size,
                        users[0].id,
                        ts + 200,
                        content_type=ctype,
                        blob_seed=f"{config.seed}:{item.id}",
                        item_id=item.id,
                        column_id="files",
                    )
                    store.assets[asset.id] = asset
                    add_file_entry(store, item, "files", asset.id, name, users[0].id)
                    item.values["files"]["files"][-1]["createdAt"] = iso(ts + 200)
                if config.subitems_every and k % config.subitems_every == 1:
                    sub_board = _subitems_board(store, board, users[0].id)
                    for s in range(2):
                        sub = Item(
                            store.new_id(),
                            sub_board.id,
                            "topics",
                            f"Subitem {s + 1} of item {k + 1}",
                            users[0].id,
                            ts + 300 + s,
                            ts + 300 + s,
                            float(s + 1),
                            parent_id=item.id,
                        )
                        if s == 0:
                            sub.values["status"] = {"index": 1, "post_id": None, "changed_at": iso(ts + 300)}
                        store.items[sub.id] = sub
    store._last_ts = max(store._last_ts, ts + 10_000)
    return {
        "users": len(users),
        "boards": len(store.boards),
        "items": n_items,
        "token": DEFAULT_TOKEN,
        "config": asdict(config),
    }


def _values(
    store: MondayStore,
    rng: Any,
    config: SeedConfig,
    item: Item,
    users: list[User],
    tag_ids: list[int],
    k: int,
    ts: float,
) -> None:
    changed = iso(ts)
    status = 1 if config.done_every and k % config.done_every == 2 else (0 if k % 2 else 2)
    if k % 7 != 6:  # a few items have no status at all
        item.values["status"] = {"index": status, "post_id": None, "changed_at": changed}
    if k % 4 != 3:
        owners = [users[k % len(users)]] + ([users[(k + 1) % len(users)]] if k % 5 == 0 else [])
        item.values["person"] = {
            "personsAndTeams": [{"id": int(u.id), "kind": "person"} for u in owners],
            "changed_at": changed,
        }
    if k % 3 != 2:
        day = iso(SEED_EPOCH + (k + 10) * DAY)[:10]
        item.values["date4"] = {"date": day, "time": "16:30:00" if k % 2 else None, "changed_at": changed}
    if k % 2 == 0:
        item.values["text"] = f"{words(rng, 4)}"
    if tag_ids and k % 3 == 0:
        item.values["tags"] = {"tag_ids": [tag_ids[k % len(tag_ids)]]}
