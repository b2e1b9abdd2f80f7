"""``AsanaWriter``: canonical records into Asana, with source markers for reconciliation.

Markers are the last line of project/task notes, tag notes and comment text (see
``capabilities.py``). Sections are reconciled by name within their project, attachments by
name plus size (files) or URL (links) on their task. Deletes are idempotent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from shared.connectors.asana import account
from shared.connectors.asana.api_types import AsanaTask
from shared.connectors.asana.capabilities import asana_capabilities
from shared.connectors.asana.client import AsanaClient
from shared.connectors.asana.custom_fields import AsanaCustomFields, subtask_fields_to_notes
from shared.connectors.asana.mapping import (
    adapt_task_dates,
    marked_text,
    project_payload,
    tag_payload,
    task_payload,
    unknown_assignee_note,
)
from shared.connectors.kit.markers import find_marker
from shared.connectors.kit.subtasks import subtask_without_section
from shared.contract.connector import Adaptation, Capabilities, DestRefs, Written
from shared.contract.model import (
    Attachment,
    Comment,
    Container,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.text import name_nameless_label, unstack_comment_header
from shared.errors import NotFoundError, SkippableItemError

logger = logging.getLogger(__name__)

UNTITLED = "Untitled section"  # the section Asana adds to every new project
_PATHS = {
    Kind.PROJECT: "/projects",
    Kind.SECTION: "/sections",
    Kind.LABEL: "/tags",
    Kind.TASK: "/tasks",
    Kind.COMMENT: "/stories",
    Kind.ATTACHMENT: "/attachments",
}


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SkippableItemError(f"the destination {what} is unknown", status=400)
    return value


def checklist_marker(marker: str, item_source_id: str) -> str:
    """Marker of the subtask made from one checklist item of the task with ``marker``."""
    return f"{marker}:cl{hashlib.sha256(item_source_id.encode()).hexdigest()[:10]}"


#: ``opt_fields`` of a create whose answer is read for its gid alone: Asana always returns the
#: gid, and ``created_at`` (in every create's ``opt_fields`` list, unlike ``gid``) keeps the
#: answer to two fields instead of the whole new object (``AsanaClient.post``).
ID_ONLY = "created_at"


class AsanaWriter:
    """Creates, updates, finds and deletes Asana objects for the engine."""

    def __init__(self, client: AsanaClient, *, capabilities: Capabilities | None = None):
        self.client = client
        self.capabilities = capabilities or asana_capabilities()
        self._emails: dict[str, set[str]] = {}
        self._project_ws: dict[str, str] = {}
        # The engine writes items of a page concurrently: only one section create per
        # project may look at (and reuse) the default section at a time.
        self._section_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Source positions of what this writer placed, per container, so that items created
        # concurrently still land in source order (insert_before the next known item).
        self._positions: defaultdict[str, dict[str, float]] = defaultdict(dict)
        #: (section, source position) of task creates not yet placed: a create whose answer
        #: was lost may have left the task in its section (Asana's default) but out of order,
        #: so the update that finishes it places it even when the section is already right
        self._unplaced: set[tuple[str, float]] = set()
        self._custom = AsanaCustomFields(client)

    async def whoami(self) -> UserRef:
        return await account.whoami(self.client)

    async def list_containers(self) -> list[Container]:
        return await account.list_containers(self.client)

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- RecordAdapter (pure) --------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Asana-only adaptations: a start date Asana would refuse goes to the notes; a tag
        needs a name (a colour-only label is named after its colour); a comment Ferry moved
        before keeps its first author header only."""
        if isinstance(record, Task):
            record, notes = adapt_task_dates(record)
            record, more = subtask_fields_to_notes(record)  # no project to hold them
            record, sectionless = subtask_without_section(record, "Asana")
            return record, notes + more + sectionless
        if isinstance(record, Label):
            return name_nameless_label(record)
        if isinstance(record, Comment):
            return unstack_comment_header(record), []  # a second hop keeps the first header
        return record, []

    # --- lookups ---------------------------------------------------------------------------

    async def _workspace(self, refs: DestRefs) -> str:
        if refs.workspace:
            return refs.workspace
        if refs.project:
            if refs.project not in self._project_ws:
                raw = await self.client.get(f"/projects/{refs.project}", opt_fields="workspace")
                self._project_ws[refs.project] = raw["workspace"]["gid"]
            return self._project_ws[refs.project]
        workspaces = await self.client.all("/workspaces", opt_fields="name")
        if not workspaces:
            raise SkippableItemError("the Asana account has no workspace", status=400)
        return str(workspaces[0]["gid"])

    async def _assignee(self, ws: str, task: Task) -> tuple[str | None, Task, list[Adaptation]]:
        """An e-mail Asana knows in ``ws``, or None and the person moved to the notes."""
        if not task.assignees:
            return None, task, []
        if ws not in self._emails:
            users = await self.client.get(f"/workspaces/{ws}/users", opt_fields="email")
            self._emails[ws] = {str(u.get("email", "")).lower() for u in users or []}
        user = task.assignees[0]
        if user.email and user.email.lower() in self._emails[ws]:
            return user.email, task, []
        logger.info("asana: assignee is not in workspace %s; noted in the task", ws)
        note = Adaptation(
            kind=Kind.TASK,
            code="task.assignee_not_in_workspace",
            message=f"{user.label()} is not a member of the Asana workspace; named in the task notes instead",
        )
        moved = task.model_copy(update={"description": unknown_assignee_note(task, user)})
        return None, moved, [note]

    # --- create / update ---------------------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        """Create the object with ``marker`` embedded; returns its gid (``Written`` with
        notes when the write had to adapt, e.g. an assignee outside the workspace)."""
        if isinstance(record, Project):
            data = {**project_payload(record, marker), "workspace": await self._workspace(refs)}
            return str((await self.client.post("/projects", data, opt_fields=ID_ONLY))["gid"])
        if isinstance(record, Section):
            return await self._create_section(record, _need(refs.project, "project"))
        if isinstance(record, Label):
            ws = await self._workspace(refs)
            record, _ = name_nameless_label(record)  # as adapt() did (callers may skip it)
            created = await self.client.post(f"/workspaces/{ws}/tags", tag_payload(record, marker), opt_fields=ID_ONLY)
            return str(created["gid"])
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            task = _need(refs.task, "task")
            created = await self.client.post(
                f"/tasks/{task}/stories", {"text": marked_text(record.text, marker)}, opt_fields=ID_ONLY
            )
            return str(created["gid"])
        raise SkippableItemError(f"asana writer cannot create {kind} this way", status=400)

    async def _create_section(self, section: Section, project: str) -> str:
        async with self._section_locks[project]:
            return await self._create_section_locked(section, project)

    async def _create_section_locked(self, section: Section, project: str) -> str:
        sections = await self.client.all(f"/projects/{project}/sections", opt_fields="name")
        placed = self._positions[project]
        if len(sections) == 1 and sections[0].get("name") == UNTITLED:
            # Reuse the empty default section instead of leaving it behind.
            tasks, _ = await self.client.page(f"/sections/{sections[0]['gid']}/tasks", {}, None, 1)
            if not tasks:
                await self.client.put(f"/sections/{sections[0]['gid']}", {"name": section.name})
                placed[str(sections[0]["gid"])] = section.position
                return str(sections[0]["gid"])
        data: dict[str, Any] = {"name": section.name}
        anchor = _next_after(placed, section.position, {str(s["gid"]) for s in sections})
        if anchor:
            data["insert_before"] = anchor
        created = await self.client.post(f"/projects/{project}/sections", data, opt_fields=ID_ONLY)
        placed[str(created["gid"])] = section.position
        return str(created["gid"])

    async def _place_task(self, gid: str, refs: DestRefs, position: float) -> None:
        """Put the task into its section at its source position: right after the nearest
        earlier source sibling already there, else right before the nearest later one
        (addTask with insert_after / insert_before). The siblings are the engine's
        (``DestRefs.after``/``before``, from the id map: a later run or another worker's
        writer knows them too) and the ones this writer is placing in the same page."""
        section = _need(refs.section, "section")
        async with self._section_locks[section]:
            placed = self._positions[section]
            # an anchor Asana refuses left the section (moved or deleted by someone else, or
            # this writer's memory of it is from an earlier run): the next nearest is tried
            # once (the engine's other sibling: the task still lands beside its source
            # neighbour), then the section's end
            for attempt in range(3):
                after, before = refs.anchors(position, placed, gid) if attempt < 2 else (None, None)
                data: dict[str, Any] = {"task": gid}
                if after:
                    data["insert_after"] = after
                elif before:
                    data["insert_before"] = before
                try:
                    await self.client.post(f"/sections/{section}/addTask", data, idempotent=True)
                    break
                except (SkippableItemError, NotFoundError):
                    if len(data) == 1:
                        raise
                    gone = after or before
                    logger.info("asana: placement anchor %s no longer in section %s", gone, section)
                    placed.pop(str(gone), None)
                    refs = refs.model_copy(
                        update={k: None for k in ("after", "before") if (s := getattr(refs, k)) and s.dest_id == gone}
                    )
            for other in self._positions.values():
                other.pop(gid, None)  # it left the section it was in
            placed[gid] = position

    async def _create_task(self, task: Task, refs: DestRefs, marker: str) -> str | Written:
        ws = await self._workspace(refs)
        email, task, notes = await self._assignee(ws, task)
        data = task_payload(task, marker, email)
        tags = [refs.labels[lab.source_id] for lab in task.labels if lab.source_id in refs.labels]
        if tags:
            data["tags"] = tags
        if refs.parent_task:
            created = await self.client.post(f"/tasks/{refs.parent_task}/subtasks", data, opt_fields=ID_ONLY)
        else:
            # TaskCreateRequest marks `memberships` read-only, so: `projects`, then the
            # section through addTask (the documented way to place a task in a section).
            data["projects"] = [_need(refs.project, "project")]
            if refs.section:
                self._unplaced.add((refs.section, task.position))
            created = await self.client.post("/tasks", data, opt_fields=ID_ONLY)
            if refs.section:
                await self._place_task(str(created["gid"]), refs, task.position)
                self._unplaced.discard((refs.section, task.position))
        gid = str(created["gid"])
        await self._sync_checklists(gid, task, marker, [])
        if self.capabilities.custom_fields:
            notes += await self._custom.write(gid, ws, None if refs.parent_task else refs.project, task)
        return Written(dest_id=gid, notes=tuple(notes)) if notes else gid

    async def _sync_checklists(self, gid: str, task: Task, marker: str, existing: list[dict[str, Any]]) -> None:
        """One subtask per checklist item, each found again by its own marker: the missing
        ones are created, changed ones fixed, and checklist subtasks of this task that the
        source no longer has (or a second copy of one) deleted. The task's other subtasks
        (the source's own subtasks, which carry their own task markers) are left alone.

        Subtasks are written one after the other, so an interrupted write leaves the first
        ones: a retry creates the rest after them, in source order.
        """
        several = len(task.checklists) > 1
        mine: dict[str, list[dict[str, Any]]] = {}  # checklist marker → its subtasks
        for sub in existing:
            found = find_marker(sub.get("notes"))
            if found and found.startswith(f"{marker}:cl"):
                mine.setdefault(found, []).append(sub)
        for cl in task.checklists:
            for item in cl.items:
                mk = checklist_marker(marker, item.source_id)
                name = f"{cl.name} · {item.name}" if several else item.name
                copies = mine.pop(mk, [])
                if not copies:
                    await self.client.post(
                        f"/tasks/{gid}/subtasks",
                        {"name": name, "completed": item.checked, "notes": marked_text("", mk)},
                        opt_fields=ID_ONLY,
                    )
                    continue
                first, *again = copies
                for extra in again:
                    await self.client.delete(f"/tasks/{extra['gid']}")
                if first.get("name") != name or first.get("completed") != item.checked:
                    await self.client.put(f"/tasks/{first['gid']}", {"name": name, "completed": item.checked})
        for gone in mine.values():  # items the source no longer has
            for sub in gone:
                await self.client.delete(f"/tasks/{sub['gid']}")

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        """Overwrite migrated fields (the marker stays). NotFoundError when gone."""
        if isinstance(record, Project):
            await self.client.put(f"/projects/{dest_id}", project_payload(record, marker))
        elif isinstance(record, Section):
            await self.client.put(f"/sections/{dest_id}", {"name": record.name})
        elif isinstance(record, Label):
            record, _ = name_nameless_label(record)
            await self.client.put(f"/tags/{dest_id}", tag_payload(record, marker))
        elif isinstance(record, Task):
            notes = await self._update_task(dest_id, record, refs, marker)
            return Written(dest_id=dest_id, notes=tuple(notes)) if notes else None
        elif isinstance(record, Comment):
            await self.client.put(f"/stories/{dest_id}", {"text": marked_text(record.text, marker)})
        elif isinstance(record, Attachment):
            await self.client.get(f"/attachments/{dest_id}", opt_fields="name")  # 404 if gone
        return None

    async def _update_task(self, gid: str, task: Task, refs: DestRefs, marker: str) -> list[Adaptation]:
        ws = await self._workspace(refs)
        email, task, notes = await self._assignee(ws, task)
        raw = await self.client.put(f"/tasks/{gid}", task_payload(task, marker, email))
        now = AsanaTask.model_validate(raw)
        if refs.section and not refs.parent_task and refs.project:
            current = next(
                (m.section.gid for m in now.memberships if m.project and m.section and m.project.gid == refs.project),
                None,
            )
            unplaced = (refs.section, task.position) in self._unplaced
            # the source moved it (another section or position: ``DestRefs.reposition``, also
            # set when a create may have stopped before placing it), or it is not where the
            # source has it: placed by source position, as a create places it
            moved = refs.reposition and refs.anchors(task.position, self._positions[refs.section], gid) != (None, None)
            if current != refs.section or unplaced or moved:
                await self._place_task(gid, refs, task.position)
                self._unplaced.discard((refs.section, task.position))
        want = {refs.labels[lab.source_id] for lab in task.labels if lab.source_id in refs.labels}
        have = {t.gid for t in now.tags}
        for tag in sorted(want - have):
            await self.client.post(f"/tasks/{gid}/addTag", {"tag": tag}, idempotent=True)
        for tag in sorted(have - want):
            await self.client.post(f"/tasks/{gid}/removeTag", {"tag": tag}, idempotent=True)
        # always: a checklist emptied at the source leaves subtasks to remove
        subs = await self.client.all(f"/tasks/{gid}/subtasks", opt_fields="name,notes,completed")
        await self._sync_checklists(gid, task, marker, subs)
        if self.capabilities.custom_fields:
            notes += await self._custom.write(gid, ws, None if refs.parent_task else refs.project, task, update=True)
        return notes

    # --- find / delete ------------------------------------------------------------------------

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        """The gid carrying ``marker`` (or, for sections/attachments, the natural key)."""
        try:
            return await self._find(kind, marker, record, refs)
        except NotFoundError:
            return None  # the parent is gone, so is the item

    async def _find(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            ws = await self._workspace(refs)
            items = await self.client.all(f"/workspaces/{ws}/projects", opt_fields="notes")
            return _first(items, lambda p: find_marker(p.get("notes")) == marker)
        if kind is Kind.LABEL:
            ws = await self._workspace(refs)
            items = await self.client.all(f"/workspaces/{ws}/tags", opt_fields="notes")
            return _first(items, lambda t: find_marker(t.get("notes")) == marker)
        if kind is Kind.SECTION:
            if not refs.project or not isinstance(record, Section):
                return None
            items = await self.client.all(f"/projects/{refs.project}/sections", opt_fields="name")
            return _first(items, lambda s: s.get("name") == record.name)
        if kind is Kind.TASK:
            if refs.parent_task:
                path = f"/tasks/{refs.parent_task}/subtasks"
            elif refs.project:
                path = f"/projects/{refs.project}/tasks"
            else:
                return None
            items = await self.client.all(path, opt_fields="notes")
            return _first(items, lambda t: find_marker(t.get("notes")) == marker)
        if kind is Kind.COMMENT:
            if not refs.task:
                return None
            items = await self.client.all(f"/tasks/{refs.task}/stories", opt_fields="type,text")
            return _first(items, lambda s: s.get("type") == "comment" and find_marker(s.get("text")) == marker)
        if kind is Kind.ATTACHMENT and refs.task and isinstance(record, Attachment):
            items = await self.client.all("/attachments", parent=refs.task, opt_fields="name,size,host,view_url")
            return _first(items, lambda a: _same_attachment(a, record))
        return None

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent delete (Asana deletes go to the trash for 30 days)."""
        await self.client.delete(f"{_PATHS[kind]}/{dest_id}")

    # --- attachments ---------------------------------------------------------------------------

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        """Stream a file (multipart) or attach a link (``resource_subtype=external``)."""
        task = _need(refs.task, "task")
        if record.is_link or chunks is None:
            if not record.url:
                raise SkippableItemError("a link attachment needs a URL", status=400)
            created = await self.client.upload(
                {"parent": task, "resource_subtype": "external", "name": record.name or record.url, "url": record.url}
            )
            return str(created["gid"])
        limit = self.capabilities.max_attachment_bytes
        if limit is not None and record.size is not None and record.size > limit:
            raise SkippableItemError(f"{record.size} bytes is over Asana's 100 MB limit", status=400)
        created = await self.client.upload(
            {"parent": task},
            (record.name or "attachment", record.mime_type or "application/octet-stream", chunks, record.size),
        )
        return str(created["gid"])


def _next_after(placed: dict[str, float], position: float, live: set[str] | None) -> str | None:
    """The placed item with the smallest position above ``position`` (still present)."""
    later = [(pos, gid) for gid, pos in placed.items() if pos > position and (live is None or gid in live)]
    return min(later)[1] if later else None


def _first(items: list[dict[str, Any]], match: Any) -> str | None:
    for item in items:
        if match(item):
            return str(item["gid"])
    return None


def _same_attachment(item: dict[str, Any], record: Attachment) -> bool:
    if item.get("name") != (record.name or record.url):
        return False
    if record.is_link:
        return item.get("host") != "asana" and item.get("view_url") == record.url
    return item.get("host") == "asana" and (record.size is None or item.get("size") == record.size)
