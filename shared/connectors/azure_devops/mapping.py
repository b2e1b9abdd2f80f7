"""Azure DevOps items ↔ canonical records (pure functions, no I/O).

Work item fields used: ``System.Title``, ``System.Description`` (HTML, see
``richtext.py``), ``System.State`` (the section — a board column — and, by its category,
completion), ``System.AreaPath`` (a section that is no state), ``System.AssignedTo``,
``System.Tags``, ``System.Parent``,
``System.CreatedDate``/``CreatedBy``, ``Microsoft.VSTS.Common.ClosedDate``,
``Microsoft.VSTS.Scheduling.StartDate`` and ``TargetDate``, and the backlog order
``Microsoft.VSTS.Common.StackRank`` (Agile, Basic, CMMI) or ``BacklogPriority`` (Scrum).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote, unquote

from shared.connectors.azure_devops.richtext import html_to_markdown, markdown_to_html
from shared.connectors.kit.markers import without_footer
from shared.contract.connector import Adaptation
from shared.contract.model import (
    Attachment,
    Comment,
    Kind,
    Label,
    LabelRef,
    Project,
    Section,
    Task,
    UserRef,
    content_version,
)
from shared.contract.text import MARKER_PREFIX, marker_footer

FIELDS = [
    "System.Id",
    "System.Title",
    "System.Description",
    "System.State",
    "System.WorkItemType",
    "System.AreaPath",
    "System.AssignedTo",
    "System.Tags",
    "System.Parent",
    "System.CreatedDate",
    "System.CreatedBy",
    "System.CommentCount",
    "System.Rev",
    "Microsoft.VSTS.Common.ClosedDate",
    "Microsoft.VSTS.Scheduling.StartDate",
    "Microsoft.VSTS.Scheduling.TargetDate",
    "Microsoft.VSTS.Common.StackRank",
    "Microsoft.VSTS.Common.BacklogPriority",
]
START = "Microsoft.VSTS.Scheduling.StartDate"
TARGET = "Microsoft.VSTS.Scheduling.TargetDate"
#: the fields that order a backlog, lower first ("Work first on items with lower-valued stack
#: rank", the field's help text in the REST reference): a type has one of them
RANK_FIELDS = ("Microsoft.VSTS.Common.StackRank", "Microsoft.VSTS.Common.BacklogPriority")
#: characters Azure DevOps refuses in project and area names, and their lengths
_BAD_PROJECT = re.compile(r"[\\/:*?\"<>;#$*{},+=\[\]|%&@\x00-\x1f]")
_BAD_NODE = re.compile(r"[\\/$?*:\"&<>#%|+\x00-\x1f]")
PROJECT_NAME_MAX = 64
NODE_NAME_MAX = 255
#: the states categories mean (https://learn.microsoft.com/azure/devops/boards/work-items/
#: workflow-and-state-categories)
COMPLETED, PROPOSED, REMOVED = "Completed", "Proposed", "Removed"
#: a text that is nothing but a marker paragraph (the footer of an empty text)
_MARKER_ALONE = re.compile(rf"\s*\[{re.escape(MARKER_PREFIX)}:[^\[\]\s]+\]\s*")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity(value: Any) -> UserRef | None:
    """An ``IdentityRef`` field → a person (e-mail from ``uniqueName``)."""
    if not isinstance(value, dict):
        return None
    unique = value.get("uniqueName")
    return UserRef(
        email=unique if isinstance(unique, str) and "@" in unique else None,
        display_name=value.get("displayName"),
        source_id=value.get("id"),
    )


def tag_names(value: Any) -> list[str]:
    return [t.strip() for t in str(value or "").split(";") if t.strip()]


def label_id(name: str) -> str:
    """A tag's id, as reader and writer answer it: ``tag:<name in lower case>``. Tags are
    case-insensitive (a project keeps one spelling of a tag, the first one used), so two
    labels that differ in case only are one tag, with one id. Percent-encoded: ids travel
    in queue messages and log lines, whose grammar admits no spaces or control characters."""
    return "tag:" + quote(name.strip().lower(), safe="")


def tag_of(label: str) -> str:
    """The tag name in a label id (in lower case: the spelling is the label's name)."""
    return unquote(label[len("tag:") :]) if label.startswith("tag:") else label


def tag_name(name: str) -> str:
    """A label's name as a tag: ``;`` separates tags in ``System.Tags``, so it becomes ``,``."""
    return name.replace(";", ",").strip()


# --- records out --------------------------------------------------------------------------


def project_record(raw: dict[str, Any], organization: str) -> Project:
    return Project(
        source_id=str(raw["id"]),
        version=f"rev:{raw.get('revision', 0)}",
        name=str(raw.get("name") or ""),
        description=without_footer(str(raw.get("description") or "")),
        workspace_id=organization,
    )


def label_record(name: str, project_id: str) -> Label:
    return Label(source_id=label_id(name), version=content_version({"name": name}), project_id=project_id, name=name)


def state_section_id(state: str) -> str:
    """A state's section id (states are unique by name, case-insensitively), percent-encoded
    like ``label_id`` ("To Do" is ``state:to%20do``)."""
    return "state:" + quote(state.strip().lower(), safe="")


def state_of_section_id(section_id: str) -> str | None:
    """The (lower-cased) state a section id names; None for another kind of section."""
    return unquote(section_id[len("state:") :]) if section_id.startswith("state:") else None


def state_sections(types: list[dict[str, Any]], project_id: str) -> list[Section]:
    """The board columns: the states of the project's work item types, in process order,
    each name once (Basic: To Do, Doing, Done; Agile: New, Active, Resolved, Closed,
    Removed)."""
    out: list[Section] = []
    seen: set[str] = set()
    for wtype in types:
        if wtype.get("isDisabled"):
            continue
        for state in wtype.get("states") or []:
            name = str(state.get("name") or "")
            if name and name.lower() not in seen:
                seen.add(name.lower())
                out.append(
                    Section(
                        source_id=state_section_id(name),
                        version=content_version({"name": name}),
                        project_id=project_id,
                        name=name,
                        position=float(len(out)),
                    )
                )
    return out


#: section names that mean a state category when no state has the name itself
CATEGORY_WORDS: dict[str, frozenset[str]] = {
    "Proposed": frozenset({"to do", "todo", "to-do", "backlog", "new", "open", "not started", "planned", "ideas"}),
    "InProgress": frozenset(
        {
            "doing",
            "in progress",
            "in-progress",
            "active",
            "working",
            "started",
            "ongoing",
            "wip",
            "committed",
            "in review",
            "review",
        }
    ),
    "Resolved": frozenset({"resolved"}),
    "Completed": frozenset({"done", "complete", "completed", "closed", "finished", "shipped"}),
}


def state_for_section(name: str, states: list[tuple[str, str]]) -> str | None:
    """The state a section named ``name`` stands for: the state of that name, else the
    first state of the category the name means (``CATEGORY_WORDS``), else None."""
    key = " ".join(name.strip().lower().split())
    exact = next((s for s, _ in states if s.lower() == key), None)
    if exact is not None:
        return exact
    for category, words in CATEGORY_WORDS.items():
        if key in words:
            return next((s for s, c in states if c == category), None)
    return None


def task_record(item: dict[str, Any], project_id: str, categories: dict[tuple[str, str], str]) -> Task:
    """A work item as a task; its section is its state (``categories``: (type, state) →
    state category)."""
    f = item.get("fields") or {}
    wtype, state = str(f.get("System.WorkItemType") or ""), str(f.get("System.State") or "")
    category = categories.get((wtype.lower(), state.lower()), "")
    start, target = parse_time(f.get(START)), parse_time(f.get(TARGET))
    due_at = target if target is not None and target.timetz().replace(tzinfo=None) != time() else None
    assignee = identity(f.get("System.AssignedTo"))
    parent = f.get("System.Parent")
    return Task(
        source_id=str(item["id"]),
        version=f"rev:{item.get('rev', f.get('System.Rev', 0))}",
        project_id=project_id,
        section_id=state_section_id(state) if state else None,
        parent_id=str(parent) if parent else None,
        name=str(f.get("System.Title") or ""),
        description=text_without_marker(f.get("System.Description")),
        completed=category == COMPLETED,
        archived=category == REMOVED,
        completed_at=parse_time(f.get("Microsoft.VSTS.Common.ClosedDate")) if category == COMPLETED else None,
        start_on=start.date() if start else None,
        due_on=target.date() if target else None,
        due_at=due_at,
        assignees=(assignee,) if assignee else (),
        labels=tuple(LabelRef(source_id=label_id(t), name=t) for t in tag_names(f.get("System.Tags"))),
        position=position_of(item),
        created_at=parse_time(f.get("System.CreatedDate")),
        created_by=identity(f.get("System.CreatedBy")),
    )


def text_without_marker(content: Any) -> str:
    """An HTML field's canonical text without the marker paragraph a writer added. The
    paragraph is dropped whole, so a marker alone (an item written with an empty text)
    leaves no text, as Jira's ``text_without_marker`` does."""
    return _strip_marker(html_to_markdown(str(content or "")))


def _strip_marker(text: str) -> str:
    if _MARKER_ALONE.fullmatch(text):
        return ""
    return without_footer(text)


def position_of(item: dict[str, Any]) -> float:
    """A work item's place: its backlog rank; a work item never ranked (never placed on a
    backlog) has its id, as before ranks were read."""
    f = item.get("fields") or {}
    rank = next((f[name] for name in RANK_FIELDS if isinstance(f.get(name), int | float)), None)
    return float(rank) if rank is not None else float(item["id"])


def comment_record(raw: dict[str, Any], project_id: str, task_id: str) -> Comment:
    text = str(raw.get("text") or "")
    body = text if raw.get("format") == "markdown" else html_to_markdown(text)
    return Comment(
        source_id=f"{task_id}:{raw['id']}",
        version=f"v:{raw.get('version', 1)}",
        project_id=project_id,
        task_id=task_id,
        text=_strip_marker(body),
        author=identity(raw.get("createdBy")),
        created_at=parse_time(raw.get("createdDate")),
    )


def attachment_records(item: dict[str, Any], project_id: str) -> list[Attachment]:
    """Attached files and hyperlinks of a work item (other relations are links to items)."""
    out: list[Attachment] = []
    task_id = str(item["id"])
    for rel in item.get("relations") or []:
        attrs = rel.get("attributes") or {}
        url = str(rel.get("url") or "")
        comment = str(attrs.get("comment") or "")
        if rel.get("rel") == "AttachedFile":
            key = url.rstrip("/").rsplit("/", 1)[-1].lower()
            name = str(attrs.get("name") or "attachment")
            size = attrs.get("resourceSize")
            out.append(
                Attachment(
                    source_id=f"{task_id}:{key}",
                    project_id=project_id,
                    task_id=task_id,
                    version=content_version({"name": name, "size": size, "url": key}),
                    name=name,
                    size=int(size) if isinstance(size, int) else None,
                    url=url,
                    created_at=parse_time(attrs.get("resourceCreatedDate")),
                )
            )
        elif rel.get("rel") == "Hyperlink":
            name = _without_marker(comment) or url
            out.append(
                Attachment(
                    source_id=f"{task_id}:{link_key(url)}",
                    project_id=project_id,
                    task_id=task_id,
                    version=content_version({"name": name, "url": url}),
                    name=name,
                    is_link=True,
                    url=url,
                )
            )
    return out


def link_key(url: str) -> str:
    return "url-" + hashlib.sha256(url.encode()).hexdigest()[:16]


def _without_marker(text: str) -> str:
    return re.sub(rf"\s*\[{re.escape(MARKER_PREFIX)}:[^\]\s]+\]\s*$", "", text).strip()


# --- records in ---------------------------------------------------------------------------


def html_with_footer(text: str, marker: str) -> str:
    """Canonical text as HTML with the marker footer as its last paragraph."""
    body = markdown_to_html(text)
    return body + markdown_to_html(marker_footer(marker).strip("\n"))


def has_marker_html(content: Any, marker: str) -> bool:
    return f"[{marker}]" in str(content or "")


def clean_name(name: str, bad: re.Pattern[str], limit: int, fallback: str) -> str:
    cleaned = " ".join(bad.sub("-", name).split())[:limit].strip(" .")
    return cleaned.lstrip("_") or fallback


def adapt_project(project: Project) -> tuple[Project, list[Adaptation]]:
    name = clean_name(project.name, _BAD_PROJECT, PROJECT_NAME_MAX, "Migrated project")
    if name == project.name:
        return project, []
    return project.model_copy(update={"name": name}), [
        Adaptation(
            kind=Kind.PROJECT,
            code="project.name_adapted",
            message="Azure DevOps project names are at most 64 characters without "
            '\\ / : * ? " < > ; # $ { } , + = [ ] | % & @; the name was adjusted',
        )
    ]


def adapt_section(section: Section) -> tuple[Section, list[Adaptation]]:
    name = clean_name(section.name, _BAD_NODE, NODE_NAME_MAX, "Section")
    if name == section.name:
        return section, []
    return section.model_copy(update={"name": name}), [
        Adaptation(
            kind=Kind.SECTION,
            code="section.name_adapted",
            message="a section that is no state becomes an area, whose name cannot hold "
            '\\ / $ ? * : " & > < # % | +; the name was adjusted',
        )
    ]


def adapt_task(task: Task) -> tuple[Task, list[Adaptation]]:
    """A title is one line in Azure DevOps: a multi-line name keeps its first line (the first
    that is not blank) as the title, and the whole name goes to the end of the description
    as the line ``Full name: …`` (the engine's words for a name it had to cut)."""
    if "\n" not in task.name and "\r" not in task.name:
        return task, []
    name = task.name.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line.strip() for line in name.split("\n") if line.strip()), "") or "Untitled"
    line = f"Full name: {name}"
    description = task.description.rstrip()
    # a name the engine cut ("…") already has its full name in the description
    if not (name.endswith("…") and f"Full name: {name[:-1]}" in description):
        description = f"{description}\n\n{line}" if description else line
    return task.model_copy(update={"name": first, "description": description}), [
        Adaptation(
            kind=Kind.TASK,
            code="task.name_multiline",
            message="a title holds one line: the first line is the title, the whole name ends the description",
        )
    ]


def task_fields(
    task: Task,
    area_path: str,
    state: str | None,
    marker: str,
    assignee: str | None,
    tags: list[str],
    rank_field: str | None = None,
) -> dict[str, Any]:
    """Field values of a work item for ``task`` (None removes the field). The task's source
    position is its rank (``rank_field``, the type's order field): lower ranks come first,
    so the backlog keeps the source order whatever order the work items were written in."""
    values: dict[str, Any] = {
        "System.Title": task.name,
        "System.Description": html_with_footer(task.description, marker),
        "System.AreaPath": area_path,
        "System.AssignedTo": assignee,
        "System.Tags": "; ".join(tags) if tags else None,
        START: iso(datetime.combine(task.start_on, time(), UTC)) if task.start_on else None,
        TARGET: iso(task.due_at)
        if task.due_at
        else (iso(datetime.combine(task.due_on, time(), UTC)) if task.due_on else None),
    }
    if state:
        values["System.State"] = state
    if rank_field:
        values[rank_field] = float(task.position)
    return values


def patch_ops(values: dict[str, Any], current: dict[str, Any] | None) -> list[dict[str, Any]]:
    """JSON Patch operations setting ``values`` (only those that differ from ``current``;
    None removes a field that is set)."""
    ops: list[dict[str, Any]] = []
    for name, value in values.items():
        have = (current or {}).get(name)
        if isinstance(have, dict):  # identities answer as IdentityRef
            have = have.get("uniqueName")
        if value is None:
            if have is not None:
                ops.append({"op": "remove", "path": f"/fields/{name}"})
        elif current is None or _differs(name, have, value):
            ops.append({"op": "add", "path": f"/fields/{name}", "value": value})
    return ops


def _differs(name: str, have: Any, want: Any) -> bool:
    if name in (START, TARGET):
        a, b = parse_time(have), parse_time(want)
        return a != b
    if name == "System.Tags":
        return sorted(t.lower() for t in tag_names(have)) != sorted(t.lower() for t in tag_names(want))
    if name == "System.AssignedTo":
        return str(have or "").lower() != str(want or "").lower()
    return bool(have != want)
