"""Pure conversions between Asana wire types and the canonical model (no I/O).

Source side: ``*_to_record``. Destination side: ``*_payload`` build the ``data`` objects of
Asana write requests. Asana rules honoured here (asana_oas.yaml, TaskBase):
one assignee; ``due_on`` xor ``due_at``; a start date only together with a due date, not
after it, and sent in the same request as the due date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.connectors.asana.api_types import (
    AsanaAttachment,
    AsanaProject,
    AsanaSection,
    AsanaStory,
    AsanaTag,
    AsanaTask,
    AsanaUser,
)
from shared.connectors.kit.markers import with_footer, without_footer
from shared.contract.connector import Adaptation
from shared.contract.model import (
    Attachment,
    Comment,
    CustomFieldType,
    CustomFieldValue,
    Label,
    LabelRef,
    Project,
    Section,
    Task,
    UserRef,
    content_version,
)
from shared.contract.text import start_date_in_description

#: Asana's palette (ProjectResponse.color / TagResponse.color); canonical names map onto it.
ASANA_COLORS = (
    "dark-pink",
    "dark-green",
    "dark-blue",
    "dark-red",
    "dark-teal",
    "dark-brown",
    "dark-orange",
    "dark-purple",
    "dark-warm-gray",
    "light-pink",
    "light-green",
    "light-blue",
    "light-red",
    "light-teal",
    "light-brown",
    "light-orange",
    "light-purple",
    "light-warm-gray",
)
_SIMPLE_COLORS = {
    "red": "dark-red",
    "green": "dark-green",
    "blue": "dark-blue",
    "yellow": "light-orange",
    "orange": "dark-orange",
    "purple": "dark-purple",
    "pink": "dark-pink",
    "teal": "dark-teal",
    "sky": "light-blue",
    "lime": "light-green",
    "black": "dark-warm-gray",
    "brown": "dark-brown",
    "gray": "light-warm-gray",
    "grey": "light-warm-gray",
}
_CF_TYPES = {
    "text": CustomFieldType.TEXT,
    "number": CustomFieldType.NUMBER,
    "date": CustomFieldType.DATE,
    "enum": CustomFieldType.ENUM,
    "multi_enum": CustomFieldType.MULTI_ENUM,
    "people": CustomFieldType.PEOPLE,
}


def parse_time(value: str | None) -> datetime | None:
    """Asana timestamps (``2012-02-22T02:06:58.147Z``) → aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value)


def modified_token(value: object) -> str | None:
    """A task's ``modified_at`` as a short exact token (microseconds since 1970, base 36),
    which the children cursor carries per pending task; None when there is none to trust."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    if micros < 0:
        return None
    digits = ""
    while True:
        micros, rest = divmod(micros, 36)
        digits = _B36[rest] + digits
        if not micros:
            return digits


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


People = Mapping[str, AsanaUser]


def user_ref(user: AsanaUser | None, people: People | None = None) -> UserRef | None:
    """A canonical person; ``people`` (workspace users by gid) supplies the e-mail."""
    if user is None:
        return None
    known = (people or {}).get(user.gid)
    return UserRef(
        email=user.email or (known.email if known else None),
        display_name=user.name or (known.name if known else None),
        source_id=user.gid,
    )


def asana_color(color: str | None) -> str | None:
    """A canonical color name as one of Asana's palette values (or None)."""
    if not color:
        return None
    if color in ASANA_COLORS:
        return color
    return _SIMPLE_COLORS.get(color.lower().removesuffix("_light").removesuffix("_dark"))


# --- source: Asana → canonical -------------------------------------------------------------


def project_to_record(p: AsanaProject, people: People | None = None) -> Project:
    return Project(
        source_id=p.gid,
        version=p.modified_at or content_version(p.model_dump()),
        name=p.name,
        description=without_footer(p.notes),
        workspace_id=p.workspace.gid if p.workspace else None,
        archived=p.archived,
        color=p.color,
        members=tuple(u for u in (user_ref(m, people) for m in p.members) if u),
        created_at=parse_time(p.created_at),
    )


def section_to_record(s: AsanaSection, project_id: str, position: int) -> Section:
    # Sections carry no modified_at: the version is a hash of what we migrate.
    return Section(
        source_id=s.gid,
        version=content_version({"name": s.name, "pos": position}),
        project_id=project_id,
        name=s.name,
        position=float(position),
    )


def tag_to_label(t: AsanaTag, project_id: str) -> Label:
    """Asana tags are workspace-wide; a project's labels are the tags its tasks use."""
    return Label(
        source_id=t.gid,
        version=content_version({"name": t.name, "color": t.color}),
        project_id=project_id,
        name=t.name,
        color=t.color,
    )


def _custom_field(cf: Any) -> CustomFieldValue:
    """A task's value of one custom field, typed (numbers as numbers, a date as its ISO day,
    enum and multi-enum values by option name); other types as Asana displays them."""
    kind = _CF_TYPES.get(cf.resource_subtype or "text", CustomFieldType.TEXT)
    value: str | float | list[str] | None = cf.display_value
    if kind is CustomFieldType.NUMBER and cf.number_value is not None:
        value = cf.number_value
    elif kind is CustomFieldType.DATE and cf.date_value:
        value = cf.date_value.get("date_time") or cf.date_value.get("date")
    elif kind is CustomFieldType.ENUM and cf.enum_value is not None:
        value = cf.enum_value.name
    elif kind is CustomFieldType.MULTI_ENUM and cf.multi_enum_values:
        value = [o.name for o in cf.multi_enum_values]
    return CustomFieldValue(name=cf.name, type=kind, value=value, source_id=cf.gid)


def task_to_record(t: AsanaTask, project_id: str, position: int, people: People | None = None) -> Task:
    """A task or subtask. ``version`` is ``modified_at``, which Asana bumps on every change."""
    section = next(
        (m.section.gid for m in t.memberships if m.project and m.project.gid == project_id and m.section), None
    )
    due_at = parse_time(t.due_at)
    start_at = parse_time(t.start_at)
    start_on = parse_day(t.start_on) or (start_at.date() if start_at else None)
    return Task(
        source_id=t.gid,
        version=t.modified_at or content_version(t.model_dump()),
        project_id=project_id,
        section_id=None if t.parent else section,
        parent_id=t.parent.gid if t.parent else None,
        name=t.name,
        description=without_footer(t.notes),
        completed=t.completed,
        completed_at=parse_time(t.completed_at),
        start_on=start_on,
        due_on=parse_day(t.due_on) or (due_at.date() if due_at else None),
        due_at=due_at,
        assignees=tuple(u for u in [user_ref(t.assignee, people)] if u),
        labels=tuple(LabelRef(source_id=tag.gid, name=tag.name) for tag in t.tags),
        # a task shows every field of its projects, empty ones with no value: those are not data
        custom_fields=tuple(v for v in (_custom_field(cf) for cf in t.custom_fields) if v.value is not None),
        position=float(position),
        created_at=parse_time(t.created_at),
    )


def story_to_comment(s: AsanaStory, project_id: str, task_id: str, people: People | None = None) -> Comment | None:
    """Comments only: system stories ("assigned this task", ...) are activity, not content."""
    if s.type != "comment" and s.resource_subtype != "comment_added":
        return None
    text = without_footer(s.text)
    return Comment(
        source_id=s.gid,
        version=content_version({"text": text}),
        project_id=project_id,
        task_id=task_id,
        text=text,
        author=user_ref(s.created_by, people),
        created_at=parse_time(s.created_at),
    )


def attachment_to_record(a: AsanaAttachment, project_id: str, task_id: str) -> Attachment:
    """Files hosted by Asana stream; everything else (external, Drive, Box, ...) is a link."""
    is_link = (a.host or "asana") != "asana"
    return Attachment(
        source_id=a.gid,
        version=content_version({"name": a.name, "size": a.size, "host": a.host}),
        project_id=project_id,
        task_id=task_id,
        name=a.name,
        size=None if is_link else a.size,
        is_link=is_link,
        url=a.view_url if is_link else None,
        created_at=parse_time(a.created_at),
    )


# --- destination: canonical → Asana ---------------------------------------------------------


def marked_text(text: str, marker: str) -> str:
    """Notes/text with the source marker as its last line (``MarkerLocation.DESCRIPTION_FOOTER``),
    replacing a footer the text already has. Asana documents no length limit for notes, so
    nothing is cut."""
    return with_footer(without_footer(text), marker)


def project_payload(p: Project, marker: str) -> dict[str, Any]:
    data: dict[str, Any] = {"name": p.name, "notes": marked_text(p.description, marker), "archived": p.archived}
    color = asana_color(p.color)
    if color:
        data["color"] = color
    return data


def tag_payload(label: Label, marker: str) -> dict[str, Any]:
    data: dict[str, Any] = {"name": label.name, "notes": marked_text("", marker)}
    color = asana_color(label.color)
    if color:
        data["color"] = color
    return data


def date_fields(task: Task) -> dict[str, Any]:
    """Due and start dates in one request (Asana: a start needs its due date alongside)."""
    data: dict[str, Any] = {"due_on": None, "due_at": None, "start_on": None}
    if task.due_at is not None:
        due_at = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
        data["due_at"] = due_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        del data["due_on"]
    elif task.due_on is not None:
        data["due_on"] = task.due_on.isoformat()
        del data["due_at"]
    if task.start_on is not None and (task.due_at or task.due_on):
        data["start_on"] = task.start_on.isoformat()
    return data


def task_payload(task: Task, marker: str, assignee: str | None) -> dict[str, Any]:
    """Writable task fields (create and update). ``assignee`` is an e-mail Asana knows."""
    data: dict[str, Any] = {
        "name": task.name,
        "notes": marked_text(task.description, marker),
        "completed": task.completed,
        "assignee": assignee,
    }
    data.update(date_fields(task))
    return data


def adapt_task_dates(task: Task) -> tuple[Task, list[Adaptation]]:
    """Asana refuses a start date without a due date or after it: move it to the notes."""
    due = task.due_on or (task.due_at.date() if task.due_at else None)
    if task.start_on is None or (due is not None and task.start_on <= due):
        return task, []
    why = "no due date" if due is None else "it is after the due date"
    return start_date_in_description(task, f"start date moved to the description ({why})")


def unknown_assignee_note(task: Task, user: UserRef) -> str:
    """Notes text when the assignee has no account in the destination workspace."""
    return f"{task.description.rstrip()}\n\nAssignee (not in Asana): {user.label()}".lstrip()
