"""Pure conversions between Jira wire objects (JSON dicts of REST v3) and the canonical model.

Source side: ``*_to_record``. Destination side: ``*_fields`` build request bodies. Rules of
Jira honoured here: a summary of at most 255 characters (the engine cuts longer names),
labels without blanks, rich text as ADF (``adf.py``), dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from shared.connectors.jira.adf import adf_to_text, marker_of, with_marker
from shared.contract.connector import Adaptation
from shared.contract.model import (
    Attachment,
    Comment,
    CustomFieldType,
    CustomFieldValue,
    Kind,
    Label,
    LabelRef,
    Project,
    Section,
    Task,
    UserRef,
    content_version,
)
from shared.contract.text import marker_footer, start_date_in_description, strip_marker_footer

Json = dict[str, Any]
#: source ids of the two things a Jira issue is tagged with
LABEL_PREFIX = "label:"
COMPONENT_PREFIX = "component:"
LINK_PREFIX = "link:"
#: the fields the reader asks for (``/search/jql`` answers only ``id`` by default)
TASK_FIELDS = (
    "summary,description,status,issuetype,priority,assignee,reporter,labels,"
    "components,parent,duedate,created,updated,resolutiondate"
)
#: the name of the start date field in ``GET /field`` (casefolded): a custom date field
#: (Jira Software's "Start date", the timeline's; its id, e.g. ``customfield_10015``, differs
#: per site)
START_DATE_NAME = "start date"


def start_date_field(fields: list[Json]) -> str | None:
    """The id of the site's start date field among ``GET /field``'s answer, or None."""
    for field in fields:
        schema = field.get("schema") or {}
        named = str(field.get("name") or "").strip().casefold() == START_DATE_NAME
        if field.get("custom") and schema.get("type") == "date" and named and field.get("id"):
            return str(field["id"])
    return None


def parse_time(value: str | None) -> datetime | None:
    """Jira's ``2026-12-06T08:40:12.000+0000`` (offset without colon) → aware datetime."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def user_ref(user: Json | None) -> UserRef | None:
    if not user:
        return None
    return UserRef(
        email=user.get("emailAddress") or None,
        display_name=user.get("displayName") or None,
        source_id=user.get("accountId") or None,
    )


def is_done(status: Json | None) -> bool:
    return ((status or {}).get("statusCategory") or {}).get("key") == "done"


# --- source: Jira → canonical ------------------------------------------------------------------


def project_to_record(p: Json, site: str) -> Project:
    lead = user_ref(p.get("lead"))
    description = strip_marker_footer(str(p.get("description") or ""))
    return Project(
        source_id=str(p["id"]),
        version=content_version({"name": p.get("name"), "d": description, "archived": bool(p.get("archived"))}),
        name=str(p.get("name") or p.get("key") or ""),
        description=description,
        workspace_id=site,
        archived=bool(p.get("archived")),
        members=(lead,) if lead else (),
    )


def status_to_section(status: Json, project_id: str, position: int) -> Section:
    return Section(
        source_id=str(status["id"]),
        version=content_version({"name": status.get("name"), "pos": position}),
        project_id=project_id,
        name=str(status.get("name") or ""),
        position=float(position),
    )


def label_record(project_id: str, source_id: str, name: str) -> Label:
    return Label(source_id=source_id, version=content_version({"name": name}), project_id=project_id, name=name)


def issue_labels(fields: Json) -> list[tuple[str, str]]:
    """(source id, name) of an issue's labels, then its components (both become labels)."""
    out = [(label_id(str(name)), str(name)) for name in fields.get("labels") or []]
    out += [(COMPONENT_PREFIX + str(c["id"]), str(c.get("name") or "")) for c in fields.get("components") or []]
    return out


def text_without_marker(doc: Any) -> str:
    """An ADF document's text without the marker paragraph a writer added: dropped as a
    paragraph, so a marker alone (an item written with an empty text) leaves no text."""
    if marker_of(doc) is not None:
        doc = {**doc, "content": doc["content"][:-1]}
    return strip_marker_footer(adf_to_text(doc))


def issue_to_task(issue: Json, project_id: str, position: int, start_field: str | None = None) -> Task:
    """An issue (``fields`` as ``TASK_FIELDS`` asks, with the site's start date field
    ``start_field`` when it has one) as a task; sub-task types get their parent. The
    priority travels as a field value (no canonical priority)."""
    f: Json = issue.get("fields") or {}
    is_sub = bool((f.get("issuetype") or {}).get("subtask"))
    parent = (f.get("parent") or {}).get("id") if is_sub else None
    status = f.get("status") or {}
    due = parse_day(f.get("duedate"))
    prio = (f.get("priority") or {}).get("name")
    return Task(
        source_id=str(issue["id"]),
        version=str(f.get("updated") or content_version(f)),
        project_id=project_id,
        section_id=None if parent else (str(status["id"]) if status.get("id") else None),
        parent_id=str(parent) if parent else None,
        name=str(f.get("summary") or ""),
        description=text_without_marker(f.get("description")),
        completed=is_done(status),
        completed_at=parse_time(f.get("resolutiondate")),
        start_on=parse_day(f.get(start_field)) if start_field else None,
        due_on=due,
        assignees=tuple(u for u in [user_ref(f.get("assignee"))] if u),
        labels=tuple(LabelRef(source_id=sid, name=name) for sid, name in issue_labels(f)),
        custom_fields=(CustomFieldValue(name="Priority", type=CustomFieldType.ENUM, value=prio),) if prio else (),
        position=float(position),
        created_at=parse_time(f.get("created")),
        created_by=user_ref(f.get("reporter")),
    )


def comment_id(issue_id: str, comment: str) -> str:
    """A comment's id as reader and writer both give it: Jira deletes comments under their
    issue, so the issue is part of the id."""
    return f"{issue_id}/{comment}"


def link_id(issue_id: str, link: str) -> str:
    """A web link's id (reader and writer): ``<issue id>/link/<link id>``."""
    return f"{issue_id}/{LINK_PREFIX.rstrip(':')}/{link}"


def label_id(name: str) -> str:
    """A Jira label's id (reader and writer): ``label:<name>``."""
    return LABEL_PREFIX + name


def comment_to_record(c: Json, project_id: str, issue_id: str) -> Comment:
    text = text_without_marker(c.get("body"))
    return Comment(
        source_id=comment_id(issue_id, str(c["id"])),
        version=str(c.get("updated") or content_version({"t": text})),
        project_id=project_id,
        task_id=issue_id,
        text=text,
        author=user_ref(c.get("author")),
        created_at=parse_time(c.get("created")),
    )


def attachment_to_record(a: Json, project_id: str, issue_id: str) -> Attachment:
    return Attachment(
        source_id=str(a["id"]),
        version=content_version({"n": a.get("filename"), "s": a.get("size")}),
        project_id=project_id,
        task_id=issue_id,
        name=str(a.get("filename") or ""),
        size=a.get("size"),
        mime_type=a.get("mimeType"),
        created_at=parse_time(a.get("created")),
        author=user_ref(a.get("author")),
    )


def link_to_record(link: Json, project_id: str, issue_id: str) -> Attachment:
    """A web link (remote issue link) as a link attachment."""
    obj = link.get("object") or {}
    return Attachment(
        source_id=link_id(issue_id, str(link["id"])),
        version=content_version({"u": obj.get("url"), "t": obj.get("title")}),
        project_id=project_id,
        task_id=issue_id,
        name=str(obj.get("title") or obj.get("url") or ""),
        is_link=True,
        url=obj.get("url"),
    )


# --- destination: canonical → Jira -------------------------------------------------------------


def label_name(name: str) -> tuple[str, list[Adaptation]]:
    """A Jira label for ``name``: blanks become ``_`` (Jira refuses labels with spaces)."""
    fixed = re.sub(r"\s+", "_", name.strip())[:255] or "unnamed"
    if fixed == name:
        return fixed, []
    return fixed, [
        Adaptation(
            kind=Kind.LABEL,
            code="label.renamed_for_jira",
            message=f"label {name!r} is {fixed!r} in Jira (labels cannot contain spaces)",
        )
    ]


def project_key(name: str, attempt: int = 0) -> str:
    """A project key from a name: its ASCII letters and digits, upper case, starting with a
    letter, 2-10 characters; ``attempt`` > 0 adds a number for a key already in use."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    initials = "".join(w[0] for w in words if w[0].isalpha()).upper()
    base = initials if len(initials) >= 2 else "".join(words).upper()
    base = re.sub(r"^[^A-Z]+", "", base) or "FERRY"
    base = (base + "X")[: max(2, len(base))][:10]
    if attempt:
        suffix = str(attempt + 1)
        base = base[: 10 - len(suffix)] + suffix
    return base


def project_description(p: Project, marker: str) -> str:
    """Project descriptions are plain text: the marker is their last line."""
    return strip_marker_footer(p.description) + marker_footer(marker)


def description_doc(text: str, marker: str) -> dict[str, Any]:
    return with_marker(strip_marker_footer(text), marker)


def task_fields(
    task: Task, marker: str, assignee: str | None, labels: list[str], start_field: str | None = None
) -> dict[str, Any]:
    """Fields an edit writes (create adds project, issue type and parent); the start date
    goes to the site's start date field ``start_field`` (None: the site has none)."""
    fields = {
        "summary": task.name[:255],
        "description": description_doc(task.description, marker),
        "assignee": {"accountId": assignee} if assignee else None,
        "labels": labels,
        "duedate": task.due_on.isoformat() if task.due_on else None,
    }
    if start_field:
        fields[start_field] = task.start_on.isoformat() if task.start_on else None
    return fields


def start_date_note(task: Task) -> tuple[Task, list[Adaptation]]:
    """A start date on a site without a start date field: a line of the description, as
    the engine writes it where a destination has no start dates."""
    return start_date_in_description(
        task, "this Jira site has no 'Start date' field: the start date is in the description"
    )


def unknown_assignee_note(task: Task, user: UserRef) -> Task:
    text = f"{task.description.rstrip()}\n\nAssignee (not in Jira): {user.label()}".lstrip()
    return task.model_copy(update={"description": text})


def status_category_for(section_name: str) -> str:
    """The category a new status gets (``POST /statuses``): by its name, as people name
    board columns; TODO when the name says nothing."""
    name = section_name.strip().lower()
    if re.search(r"\b(done|complete|completed|closed|resolved|finished|fini|terminé)\b", name):
        return "DONE"
    if re.search(r"\b(progress|doing|review|testing|active|en cours|wip)\b", name):
        return "IN_PROGRESS"
    return "TODO"
