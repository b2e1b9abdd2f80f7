"""Task, subtask, tag-on-task and story (comment) operations on an :class:`AsanaStore`.

Rules enforced as the Asana API does (asana_oas.yaml, TaskBase descriptions):
- one assignee per task (a string: gid, email or ``me``);
- ``due_on`` xor ``due_at``; ``start_on`` xor ``start_at``; ``due_on`` or ``due_at`` must be in
  the same request when ``start_on`` is set or unset, and the start may not be after the due;
- ``notes`` xor ``html_notes`` (html must be XML rooted at ``<body>``);
- ``completed`` sets/clears ``completed_at`` and ``completed_by``;
- every change (incl. new stories, tags, section moves) bumps ``modified_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simulators.asana.custom_fields import custom_value
from simulators.asana.models import (
    AsanaApiError,
    Story,
    Task,
    bad_request,
    html_to_notes,
    notes_to_html,
    parse_date,
    parse_ts,
)
from simulators.asana.store import AsanaStore

SUBTYPES = ("default_task", "milestone", "approval", "section")
ASSIGNEE_STATUSES = ("today", "upcoming", "later", "new", "inbox")


def _due_date(task: Task) -> str | None:
    if task.due_on:
        return task.due_on
    if task.due_at:
        return datetime.fromtimestamp(parse_ts(task.due_at, "due_at"), UTC).date().isoformat()
    return None


def _apply_dates(task: Task, data: dict[str, Any]) -> None:
    for a, b in (("due_on", "due_at"), ("start_on", "start_at")):
        if data.get(a) is not None and data.get(b) is not None:
            raise bad_request(f"You may only provide one of {a} or {b}!")
    if "start_on" in data and "due_on" not in data and "due_at" not in data:
        raise bad_request(
            "start_on: due_on or due_at must be present in the request when setting or unsetting start_on"
        )
    if "start_at" in data and "due_at" not in data:
        raise bad_request("start_at: due_at must be present in the request when setting or unsetting start_at")
    for key in ("due_on", "start_on"):
        if data.get(key) is not None:
            parse_date(data[key], key)
    for key in ("due_at", "start_at"):
        if data.get(key) is not None:
            parse_ts(data[key], key)
    # Setting one form of a date clears the other form.
    if "due_on" in data:
        task.due_on, task.due_at = data["due_on"], (None if data["due_on"] else task.due_at)
    if "due_at" in data:
        task.due_at, task.due_on = data["due_at"], (None if data["due_at"] else task.due_on)
    if "start_on" in data:
        task.start_on = data["start_on"]
        task.start_at = None if data["start_on"] else task.start_at
    if "start_at" in data:
        task.start_at = data["start_at"]
        task.start_on = None if data["start_at"] else task.start_on
    due = _due_date(task)
    start = task.start_on or (task.start_at[:10] if task.start_at else None)
    if start and not due:
        raise bad_request("start_on: A task with a start date must also have a due date")
    if start and due and start > due:
        raise bad_request("start_on: The start date must be on or before the due date")
    if task.start_at and task.due_at and (parse_ts(task.start_at, "start_at") > parse_ts(task.due_at, "due_at")):
        raise bad_request("start_at: The start time must be before the due time")


def _apply(store: AsanaStore, task: Task, data: dict[str, Any], me: str) -> list[str]:
    """Apply writable fields; returns the system story subtypes the change produces."""
    events: list[str] = []
    if "notes" in data and "html_notes" in data:
        raise bad_request("You may only provide one of notes or html_notes")
    if "name" in data:
        if task.name != data["name"] and task.created_at != task.modified_at:
            events.append("name_changed")
        task.name = str(data["name"] or "")
    if "notes" in data:
        task.notes = str(data["notes"] or "")
        task.html_notes = notes_to_html(task.notes)
    if "html_notes" in data:
        raw = str(data["html_notes"] or "<body></body>")
        task.notes = html_to_notes(raw)
        task.html_notes = raw
    if "resource_subtype" in data:
        if data["resource_subtype"] not in SUBTYPES:
            raise bad_request(f"resource_subtype: Not a valid enum value: {data['resource_subtype']}")
        task.resource_subtype = data["resource_subtype"]
    if "assignee" in data:
        value = data["assignee"]
        new = store.user_ref(value, "assignee", me) if value is not None else None
        if new and new not in store.workspace(task.workspace).user_gids:
            raise bad_request(f"assignee: User {new} is not in the task's workspace")
        if new != task.assignee:
            events.append("assigned" if new else "unassigned")
        task.assignee = new
        if new and new not in task.follower_gids:
            task.follower_gids.append(new)
    if "assignee_status" in data:
        if data["assignee_status"] not in ASSIGNEE_STATUSES:
            raise bad_request("assignee_status: Not a valid enum value")
        task.assignee_status = data["assignee_status"]
    if "completed" in data:
        if not isinstance(data["completed"], bool):
            raise bad_request("completed: Not a boolean")
        if data["completed"] and not task.completed:
            task.completed, task.completed_at, task.completed_by = True, store.now(), me
            events.append("marked_complete")
        elif not data["completed"] and task.completed:
            task.completed, task.completed_at, task.completed_by = False, None, None
            events.append("marked_incomplete")
    if "liked" in data:
        task.liked = bool(data["liked"])
    if "custom_fields" in data:
        values = data["custom_fields"] or {}
        if not isinstance(values, dict):
            raise bad_request("custom_fields: expected an object of field gid → value")
        for field_gid, value in values.items():
            task.custom_values[str(field_gid)] = custom_value(store, task.workspace, field_gid, value)
    if any(k in data for k in ("due_on", "due_at", "start_on", "start_at")):
        _apply_dates(task, data)
        events.append("due_date_changed")
    return events


def create_task(store: AsanaStore, me: str, data: dict[str, Any], parent_gid: str | None = None) -> Task:
    """POST /tasks and POST /tasks/{gid}/subtasks."""
    parent_gid = parent_gid or data.get("parent")
    parent = store.task(parent_gid) if parent_gid else None
    memberships: list[tuple[str, str | None]] = []
    for p in data.get("projects") or []:
        memberships.append((store.project(p).gid, None))
    for m in data.get("memberships") or []:
        if not isinstance(m, dict) or "project" not in m:
            raise bad_request("memberships: Each membership needs a project")
        sec = m.get("section")
        if sec and store.section(sec).project != m["project"]:
            raise bad_request(f"memberships: section {sec} is not in project {m['project']}")
        memberships.append((store.project(m["project"]).gid, sec))
    ws_gid = data.get("workspace") or (parent.workspace if parent else None)
    if not ws_gid and memberships:
        ws_gid = store.projects[memberships[0][0]].workspace
    if not ws_gid:
        raise bad_request("workspace: Missing input")
    store.workspace(ws_gid)
    for p, _ in memberships:
        if store.projects[p].workspace != ws_gid:
            raise bad_request(f"projects: Project {p} is not in workspace {ws_gid}")
    now = store.stamp()
    task = Task(store.new_gid(), ws_gid, "", now, now, created_by=me, follower_gids=[me])
    events = _apply(store, task, data, me)
    for f in data.get("followers") or []:
        uid = store.user_ref(f, "followers", me)
        if uid not in task.follower_gids:
            task.follower_gids.append(uid)
    for t in data.get("tags") or []:
        task.tag_gids.append(store.tag(t).gid)
    store.tasks[task.gid] = task
    if parent is not None:
        task.parent = parent.gid
        parent.subtask_gids.append(task.gid)
        parent.modified_at = store.stamp()
    for project_gid, section_gid in memberships:
        add_to_project(store, task, project_gid, section_gid, story=False)
    for ev in [e for e in events if e in ("assigned", "marked_complete")]:
        system_story(store, task, me, ev)
    return task


def update_task(store: AsanaStore, me: str, gid: str, data: dict[str, Any]) -> Task:
    """PUT /tasks/{gid}: only the given fields change."""
    task = store.task(gid)
    for key in ("workspace", "projects", "memberships", "parent", "tags"):
        if key in data:
            raise bad_request(f"{key}: Cannot write this property after creation")
    events = _apply(store, task, data, me)
    task.modified_at = store.stamp()
    for ev in events:
        system_story(store, task, me, ev)
    return task


def delete_task(store: AsanaStore, gid: str) -> None:
    """DELETE /tasks/{gid}: to the trash, with its subtasks."""
    task = store.task(gid)
    task.deleted = True
    task.modified_at = store.stamp()
    for sub in task.subtask_gids:
        if not store.tasks[sub].deleted:
            delete_task(store, sub)


def add_to_project(
    store: AsanaStore,
    task: Task,
    project_gid: str,
    section_gid: str | None,
    *,
    me: str | None = None,
    before: str | None = None,
    after: str | None = None,
    story: bool = True,
) -> None:
    """Home ``task`` in a project section (the first section when none is given)."""
    proj = store.project(project_gid)
    sections = store.live_sections(proj.gid)
    if section_gid is None:
        if not sections:
            sections = [store.create_section(proj.gid, {"name": "Untitled section"})]
        section_gid = sections[0].gid
    for sec in sections:
        if task.gid in sec.task_gids:
            sec.task_gids.remove(task.gid)
    store._place(store.sections[section_gid].task_gids, task.gid, before, after, "task")
    task.memberships = [(p, s) for p, s in task.memberships if p != proj.gid]
    task.memberships.append((proj.gid, section_gid))
    task.modified_at = store.stamp()
    if story and me is not None:
        system_story(store, task, me, "section_changed")


def add_task_to_section(store: AsanaStore, me: str, section_gid: str, data: dict[str, Any]) -> None:
    """POST /sections/{gid}/addTask."""
    sec = store.section(section_gid)
    if not data.get("task"):
        raise bad_request("task: Missing input")
    task = store.task(data["task"])
    if task.workspace != store.projects[sec.project].workspace:
        raise bad_request("task: Task is in another workspace")
    add_to_project(
        store, task, sec.project, sec.gid, me=me, before=data.get("insert_before"), after=data.get("insert_after")
    )


def set_tag(store: AsanaStore, task_gid: str, data: dict[str, Any], *, add: bool) -> None:
    """POST /tasks/{gid}/addTag and removeTag."""
    task = store.task(task_gid)
    if not data.get("tag"):
        raise bad_request("tag: Missing input")
    tag = store.tag(data["tag"])
    if tag.workspace != task.workspace:
        raise bad_request("tag: Tag is in another workspace")
    if add and tag.gid not in task.tag_gids:
        task.tag_gids.append(tag.gid)
    elif not add and tag.gid in task.tag_gids:
        task.tag_gids.remove(tag.gid)
    task.modified_at = store.stamp()


def live_tasks(store: AsanaStore, gids: list[str]) -> list[Task]:
    return [store.tasks[g] for g in gids if not store.tasks[g].deleted]


def project_tasks(store: AsanaStore, project_gid: str) -> list[Task]:
    """Tasks of a project in list order (section by section)."""
    out: list[Task] = []
    for sec in store.live_sections(project_gid):
        out.extend(live_tasks(store, sec.task_gids))
    return out


def filter_tasks(tasks: list[Task], query: dict[str, str]) -> list[Task]:
    """``completed_since`` (incl. ``now``) and ``modified_since`` filters."""
    since = query.get("completed_since")
    if since:
        cut = float("inf") if since == "now" else parse_ts(since, "completed_since")
        tasks = [t for t in tasks if not t.completed or (t.completed_at or 0) >= cut]
    mod = query.get("modified_since")
    if mod:
        cut = parse_ts(mod, "modified_since")
        tasks = [t for t in tasks if t.modified_at >= cut]
    return tasks


# --- stories ---------------------------------------------------------------------------------

SYSTEM_TEXT = {
    "assigned": "assigned this task",
    "unassigned": "unassigned this task",
    "marked_complete": "marked this task complete",
    "marked_incomplete": "marked this task incomplete",
    "name_changed": "changed the name",
    "due_date_changed": "changed the due date",
    "section_changed": "moved this task",
    "attachment_added": "attached a file",
    "added_to_project": "added this task to a project",
}


def system_story(store: AsanaStore, task: Task, me: str | None, subtype: str) -> Story:
    """Record a system story (the kind a connector must skip when it reads comments)."""
    story = Story(store.new_gid(), task.gid, store.now(), me, "system", subtype, SYSTEM_TEXT.get(subtype, subtype))
    store.add_story(story)
    return story


def create_comment(store: AsanaStore, me: str, task_gid: str, data: dict[str, Any]) -> Story:
    """POST /tasks/{gid}/stories: a comment; ``created_at``/``created_by`` are read-only."""
    task = store.task(task_gid)
    if "text" in data and "html_text" in data:
        raise bad_request("You may only provide one of text or html_text")
    if "html_text" in data:
        html_text = str(data["html_text"])
        text = html_to_notes(html_text, "html_text")
    elif data.get("text"):
        text = str(data["text"])
        html_text = notes_to_html(text)
    else:
        raise bad_request("text: Missing input")
    story = Story(
        store.new_gid(),
        task.gid,
        store.now(),
        me,
        "comment",
        "comment_added",
        text,
        html_text,
        is_pinned=bool(data.get("is_pinned", False)),
    )
    store.add_story(story)
    task.modified_at = store.stamp()
    return story


def update_comment(store: AsanaStore, me: str, gid: str, data: dict[str, Any]) -> Story:
    """PUT /stories/{gid}: only comments by their author are editable."""
    story = store.story(gid)
    if story.type != "comment":
        raise bad_request("Only comment stories can be edited")
    if story.created_by != me:
        raise AsanaApiError(403, "You do not have permission to edit this story")
    if "html_text" in data:
        story.html_text = str(data["html_text"])
        story.text = html_to_notes(story.html_text, "html_text")
    elif "text" in data:
        story.text = str(data["text"])
        story.html_text = notes_to_html(story.text)
    if "is_pinned" in data:
        story.is_pinned = bool(data["is_pinned"])
    story.is_edited = True
    store.task(story.target).modified_at = store.stamp()
    return story


def task_stories(store: AsanaStore, task_gid: str) -> list[Story]:
    store.task(task_gid)
    return [s for s in (store.stories[g] for g in store.stories_by_task.get(task_gid, [])) if not s.deleted]
