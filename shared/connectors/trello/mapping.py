"""Pure mapping between Trello wire types and the canonical model (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TypeVar

from shared.connectors.trello.api_types import (
    LABEL_COLORS,
    TAction,
    TAttachment,
    TBoard,
    TCard,
    TLabel,
    TList,
    TMember,
)
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    Label,
    LabelRef,
    Project,
    Record,
    Section,
    Task,
    UserRef,
    content_version,
)
from shared.contract.text import strip_marker_footer

Members = dict[str, UserRef]
R = TypeVar("R", bound=Record)


def id_time(object_id: str) -> datetime | None:
    """Creation time encoded in a Trello id (first 8 hex digits: Unix seconds)."""
    try:
        return datetime.fromtimestamp(int(object_id[:8], 16), tz=UTC)
    except (ValueError, OverflowError):
        return None


def parse_dt(value: str | None) -> datetime | None:
    """Trello's ``2020-03-09T19:41:51.396Z``; None stays None."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_dt(value: datetime) -> str:
    """A datetime as Trello writes it (UTC, milliseconds, ``Z``)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def date_as_due(day: date) -> str:
    """A date-only due/start becomes 12:00 UTC, so it shows on the same day worldwide."""
    return format_dt(datetime.combine(day, time(12, 0), tzinfo=UTC))


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def user(member: TMember) -> UserRef:
    return UserRef(email=member.email or None, display_name=member.fullName or member.username, source_id=member.id)


def _versioned(record: R) -> R:
    return record.model_copy(update={"version": content_version(record.model_dump(mode="json", exclude={"version"}))})


def board_to_project(board: TBoard, members: Members) -> Project:
    return _versioned(
        Project(
            source_id=board.id,
            version="",
            name=board.name,
            description=strip_marker_footer(board.desc),
            workspace_id=board.idOrganization,
            archived=board.closed,
            members=tuple(members.values()),
            created_at=id_time(board.id),
        )
    )


def list_to_section(lst: TList, board_id: str) -> Section:
    return _versioned(
        Section(source_id=lst.id, version="", project_id=board_id, name=lst.name, position=lst.pos, archived=lst.closed)
    )


def label_name(label: TLabel) -> str:
    """How a task's reference shows a label in text (a nameless label by its colour)."""
    return label.name or label.color or "label"


def label_to_label(label: TLabel, board_id: str) -> Label:
    """A label keeps its name, empty included: Trello labels may be colour only, and a
    destination that needs a name says so when it gives one (``label.renamed_empty``)."""
    return _versioned(
        Label(source_id=label.id, version="", project_id=board_id, name=label.name or "", color=label.color)
    )


def card_to_task(card: TCard, members: Members) -> Task:
    """A card; ``dueComplete`` is Trello's only completion flag."""
    due = parse_dt(card.due)
    start = parse_dt(card.start)
    checklists = tuple(
        Checklist(
            source_id=cl.id,
            name=cl.name,
            items=tuple(
                ChecklistItem(
                    source_id=i.id,
                    name=i.name,
                    checked=i.state == "complete",
                    position=i.pos,
                    due_on=_day(parse_dt(i.due)),
                    assignee=members.get(i.idMember or ""),
                )
                for i in sorted(cl.checkItems, key=lambda i: i.pos)
            ),
        )
        for cl in sorted(card.checklists, key=lambda c: c.pos)
    )
    return _versioned(
        Task(
            source_id=card.id,
            version="",
            project_id=card.idBoard,
            section_id=card.idList or None,
            name=card.name,
            description=strip_marker_footer(card.desc),
            completed=card.dueComplete,
            start_on=start.date() if start else None,
            due_on=due.date() if due else None,
            due_at=due,
            assignees=tuple(members.get(m, UserRef(source_id=m)) for m in card.idMembers),
            labels=tuple(LabelRef(source_id=lab.id, name=label_name(lab)) for lab in card.labels),
            checklists=checklists,
            position=card.pos,
            created_at=id_time(card.id),
            archived=card.closed,
        )
    )


def action_to_comment(action: TAction, board_id: str, members: Members) -> Comment:
    author = members.get(action.idMemberCreator or "")
    if author is None and action.memberCreator is not None:
        author = user(action.memberCreator)
    card_id = action.data.card.id if action.data.card else ""
    record = Comment(
        source_id=action.id,
        version="",
        project_id=board_id,
        task_id=card_id,
        text=strip_marker_footer(action.data.text),
        author=author,
        created_at=parse_dt(action.date),
    )
    # dateLastEdited is part of the version so an edited comment is migrated again
    return record.model_copy(
        update={
            "version": content_version(
                [record.model_dump(mode="json", exclude={"version"}), action.data.dateLastEdited]
            )
        }
    )


def attachment_to_attachment(att: TAttachment, board_id: str, card_id: str, members: Members) -> Attachment:
    """Uploads keep their ``/download/`` URL in ``url`` (the reader streams from it)."""
    return _versioned(
        Attachment(
            source_id=att.id,
            version="",
            project_id=board_id,
            task_id=card_id,
            name=att.name,
            size=att.bytes if att.isUpload else None,
            mime_type=att.mimeType or None,
            is_link=not att.isUpload,
            url=att.url or None,
            created_at=parse_dt(att.date),
            author=members.get(att.idMember or ""),
        )
    )


def trello_color(color: str | None) -> str | None:
    """A canonical colour as a Trello label colour (None = no colour)."""
    if not color:
        return None
    c = color.lower().strip()
    aliases = {
        "grey": "black",
        "gray": "black",
        "cyan": "sky",
        "teal": "sky",
        "magenta": "pink",
        "violet": "purple",
        "indigo": "blue",
        "brown": "orange",
        "light-green": "lime",
        "dark-green": "green",
    }
    c = aliases.get(c, c)
    return c if c in LABEL_COLORS else next((x for x in LABEL_COLORS if x in c), None)


# --- destination: bringing a card's parts into line (pure) -------------------------------


def match_in_order(want: list[str], have: list[str]) -> tuple[list[int | None], list[int]]:
    """Pair wanted names with existing ones, in order: for each wanted name the index of the
    next existing item of that name after the last paired one (None: missing), and the
    indexes of existing items nothing paired with (extras).

    Parts of a card are written one after the other, so an interrupted write leaves a prefix
    of them (in order): this pairs that prefix whole, and only what is missing is written.
    """
    paired: list[int | None] = []
    last = -1
    for name in want:
        nxt = next((j for j in range(last + 1, len(have)) if have[j] == name), None)
        paired.append(nxt)
        if nxt is not None:
            last = nxt
    used = {j for j in paired if j is not None}
    return paired, [j for j in range(len(have)) if j not in used]


def pos_between(before: float | None, after: float | None) -> float | str:
    """A Trello ``pos`` between two neighbours' positions (None: no neighbour that side).
    Trello takes a positive number, "top" or "bottom"."""
    if after is None:
        return "bottom"
    if before is None:
        return after / 2
    return (before + after) / 2


def same_due(have: str | None, want: date | None) -> bool:
    """Whether a check item's ``due`` already holds the date Ferry would write."""
    if want is None:
        return have is None
    return parse_dt(have) == parse_dt(date_as_due(want))
