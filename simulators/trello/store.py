"""In-memory Trello state: members, organisations, boards, lists, labels, cards,
checklists, comment actions and attachments. Memory only; lives as long as the process.

The store keeps plain records; :mod:`simulators.trello.render` turns them into the JSON
shapes Trello returns. All mutation goes through methods here so ids, timestamps and
``dateLastActivity`` stay consistent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from simulators.common import Blob, SimClock
from simulators.trello.ids import ObjectIdFactory, id_time, short_link

if TYPE_CHECKING:
    from simulators.trello.custom_fields import CustomField, FieldItem

POS_STEP = 16384.0
LABEL_COLORS = ("green", "yellow", "orange", "red", "purple", "blue", "sky", "lime", "pink", "black")


@dataclass
class Member:
    id: str
    username: str
    full_name: str
    email: str
    initials: str
    token: str


@dataclass
class Organization:
    id: str
    name: str
    display_name: str
    desc: str = ""
    members: dict[str, str] = field(default_factory=dict)  # idMember -> "admin"/"normal"


@dataclass
class Board:
    id: str
    name: str
    id_organization: str | None
    id_member_creator: str
    desc: str = ""
    closed: bool = False
    permission_level: str = "org"
    members: dict[str, str] = field(default_factory=dict)  # idMember -> memberType
    last_activity: float = 0.0


@dataclass
class TList:
    id: str
    id_board: str
    name: str
    pos: float
    closed: bool = False


@dataclass
class Label:
    id: str
    id_board: str
    name: str
    color: str | None


@dataclass
class Card:
    id: str
    id_board: str
    id_list: str
    name: str
    pos: float
    id_short: int
    desc: str = ""
    closed: bool = False
    due: float | None = None
    start: float | None = None
    due_complete: bool = False
    id_members: list[str] = field(default_factory=list)
    id_labels: list[str] = field(default_factory=list)
    id_checklists: list[str] = field(default_factory=list)
    id_attachment_cover: str | None = None
    last_activity: float = 0.0


@dataclass
class CheckItem:
    id: str
    id_checklist: str
    name: str
    pos: float
    state: str = "incomplete"
    due: float | None = None
    id_member: str | None = None


@dataclass
class Checklist:
    id: str
    id_board: str
    id_card: str
    name: str
    pos: float
    items: list[CheckItem] = field(default_factory=list)


@dataclass
class Action:
    id: str
    type: str
    id_member_creator: str
    id_board: str
    id_card: str
    date: float
    text: str = ""
    date_last_edited: float | None = None


@dataclass
class Attachment:
    id: str
    id_card: str
    id_member: str
    name: str
    date: float
    pos: float
    mime_type: str = ""
    is_upload: bool = False
    file_name: str | None = None
    link_url: str | None = None  # for link attachments (Drive, Dropbox, web...)
    size: int | None = None
    blob: Blob | None = None  # seeded upload: bytes generated on demand
    data: IO[bytes] | None = None  # uploaded through the API (spooled to disk if big)
    sha256: str | None = None


class TrelloStore:
    """All Trello objects, keyed by id; insertion order is creation order."""

    def __init__(self, ids: ObjectIdFactory, clock: SimClock) -> None:
        self.ids = ids
        self.clock = clock
        self.api_keys: set[str] = set()
        self.enterprise_managed = False
        self.members: dict[str, Member] = {}
        self.orgs: dict[str, Organization] = {}
        self.boards: dict[str, Board] = {}
        self.lists: dict[str, TList] = {}
        self.labels: dict[str, Label] = {}
        # Custom Fields (simulators.trello.custom_fields): definitions by id, card values by
        # (card id, field id)
        self.custom_fields: dict[str, CustomField] = {}
        self.custom_field_items: dict[tuple[str, str], FieldItem] = {}
        self.cards: dict[str, Card] = {}
        self.checklists: dict[str, Checklist] = {}
        self.actions: dict[str, Action] = {}
        self.attachments: dict[str, Attachment] = {}
        self._id_short: dict[str, int] = {}  # board id -> last idShort
        self._list_top: dict[str, float] = {}  # list id -> highest card pos given out
        # per-card indexes (insertion-ordered id sets): cards are rendered with counts
        self._card_actions: dict[str, dict[str, None]] = {}
        self._card_atts: dict[str, dict[str, None]] = {}
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- lookups
    def member_by_token(self, token: str) -> Member | None:
        return next((m for m in self.members.values() if m.token == token), None)

    def member_by_ref(self, ref: str, me: Member) -> Member | None:
        """``me``, an id or a username."""
        if ref == "me":
            return me
        return self.members.get(ref) or next((m for m in self.members.values() if m.username == ref), None)

    def can_see_board(self, member_id: str, board: Board) -> bool:
        """Board members see a board; so do organisation members for org-visible boards."""
        if member_id in board.members:
            return True
        org = self.orgs.get(board.id_organization or "")
        return bool(org and member_id in org.members and board.permission_level == "org")

    def board_cards(self, board_id: str) -> list[Card]:
        return [c for c in self.cards.values() if c.id_board == board_id]

    def card_actions(self, card_id: str) -> list[Action]:
        return [self.actions[i] for i in self._card_actions.get(card_id, ())]

    def card_attachments(self, card_id: str) -> list[Attachment]:
        return [self.attachments[i] for i in self._card_atts.get(card_id, ())]

    def remove_action(self, action_id: str) -> None:
        act = self.actions.pop(action_id, None)
        if act is not None:
            self._card_actions.get(act.id_card, {}).pop(action_id, None)

    def remove_attachment(self, attachment_id: str) -> None:
        att = self.attachments.pop(attachment_id, None)
        if att is not None:
            self._card_atts.get(att.id_card, {}).pop(attachment_id, None)

    def note_pos(self, list_id: str, pos: float) -> None:
        """Keep the per-list "bottom" counter right when a card moves or is repositioned."""
        self._list_top[list_id] = max(pos, self._list_top.get(list_id, 0.0))

    def now(self) -> float:
        return round(self.clock.time(), 3)  # Trello dates have ms precision

    def _touch(self, card: Card | None = None, board_id: str | None = None) -> None:
        now = self.now()
        if card is not None:
            card.last_activity = now
            board_id = card.id_board
        if board_id and board_id in self.boards:
            self.boards[board_id].last_activity = now

    @staticmethod
    def next_pos(existing: Iterable[float], pos: Any) -> float:
        """Trello positions: "top", "bottom" or a positive number."""
        values = list(existing)
        if pos in (None, "", "bottom"):
            return (max(values) if values else 0.0) + POS_STEP
        if pos == "top":
            return (min(values) / 2) if values else POS_STEP
        return float(pos)

    # ---------------------------------------------------------------- creation
    def add_member(self, username: str, full_name: str, email: str, token: str, at: float | None = None) -> Member:
        initials = "".join(p[0] for p in full_name.split()[:2]).upper() or "?"
        m = Member(self.ids.new(at or self.now()), username, full_name, email, initials, token)
        self.members[m.id] = m
        return m

    def add_org(self, name: str, display_name: str, members: dict[str, str], at: float | None = None) -> Organization:
        org = Organization(self.ids.new(at or self.now()), name, display_name, members=dict(members))
        self.orgs[org.id] = org
        return org

    def add_board(
        self,
        name: str,
        creator: str,
        id_org: str | None,
        desc: str = "",
        at: float | None = None,
        members: dict[str, str] | None = None,
    ) -> Board:
        when = at or self.now()
        board = Board(
            self.ids.new(when),
            name,
            id_org,
            creator,
            desc=desc,
            members=dict(members or {creator: "admin"}),
            last_activity=when,
        )
        board.members.setdefault(creator, "admin")
        self.boards[board.id] = board
        return board

    def add_list(self, board_id: str, name: str, pos: Any = None, at: float | None = None) -> TList:
        p = self.next_pos((x.pos for x in self.lists.values() if x.id_board == board_id), pos)
        lst = TList(self.ids.new(at or self.now()), board_id, name, p)
        self.lists[lst.id] = lst
        self._touch(board_id=board_id)
        return lst

    def add_label(self, board_id: str, name: str, color: str | None, at: float | None = None) -> Label:
        label = Label(self.ids.new(at or self.now()), board_id, name, color)
        self.labels[label.id] = label
        return label

    def add_card(
        self,
        list_id: str,
        name: str,
        *,
        pos: Any = None,
        at: float | None = None,
        creator: str | None = None,
        **attrs: Any,
    ) -> Card:
        lst = self.lists[list_id]
        when = at or self.now()
        with self._lock:
            # counters instead of scans: seeding thousands of cards stays linear
            id_short = self._id_short[lst.id_board] = self._id_short.get(lst.id_board, 0) + 1
            top = self._list_top.get(list_id)
            p = (
                self.next_pos([] if top is None else [top], pos)
                if pos in (None, "", "bottom")
                else self.next_pos((c.pos for c in self.cards.values() if c.id_list == list_id), pos)
            )
            self._list_top[list_id] = max(p, top or 0.0)
            card = Card(self.ids.new(when), lst.id_board, list_id, name, p, id_short, last_activity=when, **attrs)
            self.cards[card.id] = card
        if creator:
            self.add_action(card, "createCard", creator, at=when)
        self._touch(board_id=lst.id_board)
        return card

    def add_action(
        self,
        card: Card,
        type_: str,
        member_id: str,
        text: str = "",
        at: float | None = None,
        edited: float | None = None,
    ) -> Action:
        when = at or self.now()
        act = Action(self.ids.new(when), type_, member_id, card.id_board, card.id, when, text, edited)
        self.actions[act.id] = act
        self._card_actions.setdefault(card.id, {})[act.id] = None
        if at is None:
            self._touch(card)
        return act

    def add_checklist(self, card: Card, name: str, pos: Any = None, at: float | None = None) -> Checklist:
        p = self.next_pos((self.checklists[c].pos for c in card.id_checklists), pos)
        cl = Checklist(self.ids.new(at or self.now()), card.id_board, card.id, name, p)
        self.checklists[cl.id] = cl
        card.id_checklists.append(cl.id)
        if at is None:
            self._touch(card)
        return cl

    def add_check_item(
        self,
        cl: Checklist,
        name: str,
        *,
        pos: Any = None,
        checked: bool = False,
        at: float | None = None,
        due: float | None = None,
        id_member: str | None = None,
    ) -> CheckItem:
        p = self.next_pos((i.pos for i in cl.items), pos)
        item = CheckItem(
            self.ids.new(at or self.now()), cl.id, name, p, "complete" if checked else "incomplete", due, id_member
        )
        cl.items.append(item)
        return item

    def add_attachment(
        self,
        card: Card,
        member_id: str,
        name: str,
        *,
        at: float | None = None,
        mime_type: str = "",
        link_url: str | None = None,
        file_name: str | None = None,
        blob: Blob | None = None,
        data: IO[bytes] | None = None,
        size: int | None = None,
        sha256: str | None = None,
    ) -> Attachment:
        existing = self.card_attachments(card.id)
        att = Attachment(
            self.ids.new(at or self.now()),
            card.id,
            member_id,
            name,
            at or self.now(),
            self.next_pos((a.pos for a in existing), None),
            mime_type=mime_type,
            is_upload=link_url is None,
            file_name=file_name,
            link_url=link_url,
            size=size,
            blob=blob,
            data=data,
            sha256=sha256,
        )
        if blob is not None:
            att.size = blob.size
        self.attachments[att.id] = att
        self._card_atts.setdefault(card.id, {})[att.id] = None
        if at is None:
            self._touch(card)
        return att

    # ---------------------------------------------------------------- deletion
    def delete_card(self, card_id: str) -> None:
        card = self.cards.pop(card_id)
        for cl_id in card.id_checklists:
            self.checklists.pop(cl_id, None)
        for action_id in self._card_actions.pop(card_id, {}):
            self.actions.pop(action_id, None)
        for attachment_id in self._card_atts.pop(card_id, {}):
            self.attachments.pop(attachment_id, None)
        for key in [k for k in self.custom_field_items if k[0] == card_id]:
            del self.custom_field_items[key]
        self._touch(board_id=card.id_board)

    # ---------------------------------------------------------------- dump
    def dump(self) -> dict[str, Any]:
        """Everything, for ``GET /_sim/state`` (includes hidden data such as emails)."""

        def att(a: Attachment) -> dict[str, Any]:
            return {
                "id": a.id,
                "idCard": a.id_card,
                "name": a.name,
                "isUpload": a.is_upload,
                "fileName": a.file_name,
                "url": a.link_url,
                "bytes": a.size,
                "mimeType": a.mime_type,
                "sha256": a.sha256 if a.blob is None else None,
            }

        return {
            "apiKeys": sorted(self.api_keys),
            "members": [
                {"id": m.id, "username": m.username, "fullName": m.full_name, "email": m.email, "token": m.token}
                for m in self.members.values()
            ],
            "organizations": [
                {"id": o.id, "name": o.name, "displayName": o.display_name, "members": o.members}
                for o in self.orgs.values()
            ],
            "boards": [
                {
                    "id": b.id,
                    "name": b.name,
                    "idOrganization": b.id_organization,
                    "closed": b.closed,
                    "desc": b.desc,
                    "members": b.members,
                }
                for b in self.boards.values()
            ],
            "lists": [
                {"id": x.id, "idBoard": x.id_board, "name": x.name, "closed": x.closed, "pos": x.pos}
                for x in self.lists.values()
            ],
            "labels": [
                {"id": x.id, "idBoard": x.id_board, "name": x.name, "color": x.color} for x in self.labels.values()
            ],
            "cards": [
                {
                    "id": c.id,
                    "idBoard": c.id_board,
                    "idList": c.id_list,
                    "name": c.name,
                    "desc": c.desc,
                    "closed": c.closed,
                    "pos": c.pos,
                    "due": c.due,
                    "start": c.start,
                    "dueComplete": c.due_complete,
                    "idMembers": c.id_members,
                    "idLabels": c.id_labels,
                    "idChecklists": c.id_checklists,
                }
                for c in self.cards.values()
            ],
            "checklists": [
                {
                    "id": cl.id,
                    "idCard": cl.id_card,
                    "name": cl.name,
                    "checkItems": [{"id": i.id, "name": i.name, "state": i.state, "pos": i.pos} for i in cl.items],
                }
                for cl in self.checklists.values()
            ],
            "actions": [
                {
                    "id": a.id,
                    "type": a.type,
                    "idCard": a.id_card,
                    "text": a.text,
                    "idMemberCreator": a.id_member_creator,
                    "date": a.date,
                }
                for a in self.actions.values()
            ],
            "attachments": [att(a) for a in self.attachments.values()],
            "customFields": [
                {
                    "id": f.id,
                    "idBoard": f.id_board,
                    "name": f.name,
                    "type": f.type,
                    "pos": f.pos,
                    "options": [{"id": o.id, "text": o.text, "color": o.color} for o in f.options],
                }
                for f in self.custom_fields.values()
            ],
            "customFieldItems": [
                {"id": i.id, "idCard": i.id_card, "idCustomField": i.id_field, "value": i.value, "idValue": i.id_value}
                for i in self.custom_field_items.values()
            ],
        }


__all__ = [
    "LABEL_COLORS",
    "Action",
    "Attachment",
    "Board",
    "Card",
    "CheckItem",
    "Checklist",
    "Label",
    "Member",
    "Organization",
    "TList",
    "TrelloStore",
    "id_time",
    "short_link",
]
