"""Deterministic Trello seed data.

The same :class:`SeedConfig` always yields the same ids, names, texts and attachment bytes
(ids embed seeded creation times, not the wall clock).

Member e-mails: real Trello only shows ``email`` for the token's own member (or to admins
of a managed Enterprise). The seed gives every member an e-mail; the API shows it for the
token owner only, unless ``enterprise_managed=True`` (then to every caller, as for managed
members of an Enterprise). ``GET /_sim/state`` always lists all e-mails and tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from simulators.common import long_text, make_blob, seeded_rng, unicode_text, words
from simulators.trello.custom_fields import seed_custom_fields
from simulators.trello.store import LABEL_COLORS, TrelloStore

DAY = 86_400.0
SEED_EPOCH = 1_735_689_600.0  # 2025-01-01T00:00:00Z: seeded items are older than this
DEFAULT_KEY = "0123456789abcdef0123456789abcdef"

LINK_URLS = (
    ("Spec (Google Drive)", "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view"),
    ("Budget (Google Sheets)", "https://docs.google.com/spreadsheets/d/1XyZ/edit"),
    ("Photos (Dropbox)", "https://www.dropbox.com/s/abc123/photos.zip?dl=0"),
    ("Notes (OneDrive)", "https://onedrive.live.com/?cid=ABC&id=ABC%21123"),
    ("Slides (SharePoint)", "https://contoso.sharepoint.com/:p:/s/team/EabcXYZ"),
    ("Vendor site", "https://example.com/some/page?q=1#frag"),
)
FILE_KINDS = (
    ("report.pdf", "application/pdf"),
    ("photo.png", "image/png"),
    ("data.csv", "text/csv"),
    ("archive.zip", "application/zip"),
    ("Überblick – 日本.txt", "text/plain"),
)


@dataclass
class SeedConfig:
    """What to generate. Sizes in bytes; ``attachment_sizes`` are spread over the cards."""

    seed: int = 42
    workspaces: int = 1
    boards: int = 3  # per workspace
    lists_per_board: int = 4
    cards_per_board: int = 100
    members: int = 5
    labels_per_board: int = 6
    comments_per_card: int = 2  # average; one card per board gets many more
    many_comments: int = 120  # comments on the first card of each board (paging)
    checklist_every: int = 3  # every n-th card has a checklist
    attachment_sizes: tuple[int, ...] = (1_024, 150_000)
    link_attachment_every: int = 4
    closed_card_every: int = 10
    long_desc_chars: int = 16_384  # Trello's maximum desc length
    closed_list: bool = True  # one archived list per board (with cards)
    custom_fields: bool = False  # Custom Fields on every board, values on most cards
    enterprise_managed: bool = False
    max_upload_bytes: int = 250 * 1024 * 1024  # paid workspaces; free ones: 10 MB
    api_key: str = DEFAULT_KEY
    extra_tokens: dict[str, str] = field(default_factory=dict)  # token -> username

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedConfig:
        """Build from JSON (``POST /_sim/seed``); unknown keys are rejected."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown seed parameters: {sorted(unknown)}")
        values = dict(data)
        if "attachment_sizes" in values:
            values["attachment_sizes"] = tuple(int(s) for s in values["attachment_sizes"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def owner_token(cfg: SeedConfig) -> str:
    """Token of member 0, the owner of every seeded workspace."""
    return f"simtoken-{cfg.seed}-0"


def seed_store(store: TrelloStore, cfg: SeedConfig) -> dict[str, Any]:
    """Fill an empty store; returns a summary (counts, key and owner token)."""
    rng = seeded_rng(cfg.seed)
    t = SEED_EPOCH - 400 * DAY  # a clock that only moves forward while seeding

    def tick(max_s: float = 3_600.0) -> float:
        nonlocal t
        t = round(t + rng.uniform(1.0, max_s), 3)  # Trello dates have ms precision
        return t

    store.api_keys = {cfg.api_key}
    store.enterprise_managed = cfg.enterprise_managed
    people = []
    for i in range(max(1, cfg.members)):
        full = (
            "Ada Lovelace"
            if i == 0
            else f"{rng.choice(['Zoë', 'José', 'Li', 'Sam', 'Ola'])} "
            f"{rng.choice(['Müller', 'Núñez', 'Chen', 'Okafor', 'Svensson'])} {i}"
        )
        people.append(store.add_member(f"user{i}", full, f"user{i}@example.com", f"simtoken-{cfg.seed}-{i}", at=tick()))
    for token, username in cfg.extra_tokens.items():
        people.append(store.add_member(username, username.title(), f"{username}@example.com", token, at=tick()))
    owner = people[0]
    for w in range(cfg.workspaces):
        org = store.add_org(
            f"workspace{w}",
            f"Workspace {w} – {unicode_text(rng, 1)}",
            {m.id: ("admin" if m is owner else "normal") for m in people},
            at=tick(),
        )
        for b in range(cfg.boards):
            _seed_board(store, cfg, rng, tick, org.id, people, w, b)
    return {
        "seed": cfg.to_dict(),
        "key": cfg.api_key,
        "token": owner_token(cfg),
        "counts": {k: len(v) for k, v in store.dump().items()},
    }


def _seed_board(
    store: TrelloStore, cfg: SeedConfig, rng: Any, tick: Any, org_id: str, people: list[Any], w: int, b: int
) -> None:
    owner = people[0]
    board_members = {m.id: ("admin" if m is owner else "normal") for m in people if m is owner or rng.random() < 0.8}
    board = store.add_board(
        f"Board {w}.{b} {words(rng, 2)}", owner.id, org_id, desc=unicode_text(rng, 3), at=tick(), members=board_members
    )
    lists = [
        store.add_list(board.id, f"List {k} {words(rng, 1)}", at=tick()) for k in range(max(1, cfg.lists_per_board))
    ]
    if cfg.closed_list:
        archived = store.add_list(board.id, "Archived list 🗄", at=tick())
        archived.closed = True
        lists.append(archived)
    labels = [
        store.add_label(
            board.id, "" if k == 0 else f"{words(rng, 1)} {k}", LABEL_COLORS[k % len(LABEL_COLORS)], at=tick()
        )
        for k in range(cfg.labels_per_board)
    ]
    if cfg.labels_per_board:
        store.add_label(board.id, "no colour", None, at=tick())
    member_ids = list(board_members)
    sizes = list(cfg.attachment_sizes)
    for n in range(cfg.cards_per_board):
        lst = lists[n % len(lists)]
        name = f"Card {n} {words(rng, 3)}" if n % 7 else f"Card {n} {unicode_text(rng, 2)}"
        desc = (
            long_text(rng, cfg.long_desc_chars)
            if n == 1
            else ("" if n % 5 == 0 else f"{words(rng, 10)}\n\n**markdown** {unicode_text(rng, 1)}")
        )
        due = start = None
        if n % 3 == 0:
            due = SEED_EPOCH + rng.randint(-60, 60) * DAY + 17 * 3_600
            if n % 6 == 0:
                start = due - 5 * DAY
        card = store.add_card(
            lst.id,
            name,
            at=tick(),
            creator=rng.choice(member_ids),
            desc=desc,
            due=due,
            start=start,
            due_complete=bool(due and n % 4 == 0),
            closed=bool(cfg.closed_card_every and n % cfg.closed_card_every == 9),
            id_members=rng.sample(member_ids, k=min(len(member_ids), n % 3)),
            id_labels=[x.id for x in rng.sample(labels, k=min(len(labels), n % 4))],
        )
        comments = cfg.many_comments if n == 0 else rng.randint(0, 2 * cfg.comments_per_card)
        for k in range(comments):
            at = tick(600.0)
            text = f"Comment {k}: {words(rng, 6)}" if k % 4 else unicode_text(rng, 3)
            store.add_action(
                card, "commentCard", rng.choice(member_ids), text, at=at, edited=at + 120.0 if k % 9 == 5 else None
            )
        if cfg.checklist_every and n % cfg.checklist_every == 0:
            cl = store.add_checklist(card, f"Checklist {words(rng, 1)}", at=tick())
            for k in range(rng.randint(1, 5)):
                store.add_check_item(cl, f"Item {k} {words(rng, 2)}", checked=k % 2 == 0, at=tick(60.0))
        if sizes and n % 5 == 2:
            size = sizes[(n // 5) % len(sizes)]
            fname, mime = FILE_KINDS[n % len(FILE_KINDS)]
            store.add_attachment(
                card,
                rng.choice(member_ids),
                fname,
                at=tick(),
                mime_type=mime,
                file_name=fname,
                blob=make_blob(size, f"{cfg.seed}:{board.id}:{n}"),
            )
        if cfg.link_attachment_every and n % cfg.link_attachment_every == 1:
            title, url = LINK_URLS[(n // 4) % len(LINK_URLS)]
            store.add_attachment(card, rng.choice(member_ids), title, at=tick(), link_url=url)
    if cfg.custom_fields:
        seed_custom_fields(store, board.id, store.board_cards(board.id), tick)
