"""``JiraWriter``: canonical records into Jira Cloud, with source markers for reconciliation.

- Projects are created team-managed (software, Kanban) with the account as lead, under a
  key derived from the name (``mapping.project_key``) and a name not yet used on the site.
- Sections are statuses of the project's workflow: an existing status of the same name
  (case-insensitive), else a new project-scoped status (``POST /statuses``) whose category
  follows its name (``mapping.status_category_for``).
- A task's status is its section, unless its completion says otherwise: a completed task
  whose section is not a "done" status goes to the first done status, an open task in a
  done status to the first "to do" status (``task.section_replaced_by_completion``). A
  task without section is done or not by the same rule. Statuses change by transition.
- Markers: the last paragraph of descriptions and comments, the last line of project
  descriptions, the ``globalId`` of web links (``POST …/remotelink`` upserts by it, so a
  retried link is never doubled). Statuses and labels are found by name, files by name and
  size. Comment and web-link ids are ``<issue id>/<id>`` and ``<issue id>/link/<id>``:
  deleting them needs the issue. Deletes are idempotent.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from shared.connectors.jira.adf import marker_of, with_marker
from shared.connectors.jira.client import COMMENTS, PAGE_BEANS
from shared.connectors.jira.mapping import (
    LABEL_PREFIX,
    comment_id,
    label_id,
    label_name,
    link_id,
    project_description,
    project_key,
    start_date_note,
    status_category_for,
    task_fields,
    unknown_assignee_note,
)
from shared.connectors.jira.reader import JiraBase
from shared.connectors.kit.errors import status_of
from shared.connectors.kit.markers import find_marker
from shared.contract.connector import Adaptation, DestRefs, Written
from shared.contract.model import Attachment, Comment, Kind, Label, Project, Record, Section, Task
from shared.contract.text import name_nameless_label, strip_marker_footer, unstack_comment_header
from shared.errors import NotFoundError, SkippableItemError

#: Jira Software's team-managed Kanban template (POST /project projectTemplateKey)
TEAM_MANAGED_KANBAN = "com.pyxis.greenhopper.jira:gh-simplified-agility-kanban"
KEY_ATTEMPTS = 25


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SkippableItemError(f"the destination {what} is unknown", status=400)
    return value


def _label_names(task: Task, refs: DestRefs) -> list[str]:
    """The Jira labels of a task: its labels' destination ids are ``label:<name>``."""
    return [
        refs.labels[lab.source_id].removeprefix(LABEL_PREFIX) for lab in task.labels if lab.source_id in refs.labels
    ]


def _split(dest_id: str, kind: str) -> tuple[str, str]:
    issue, _, rest = dest_id.partition("/")
    if not rest:
        raise NotFoundError(f"Jira {kind} id {dest_id!r} names no issue")
    return issue, rest.removeprefix("link/")


class JiraWriter(JiraBase):
    """Creates, updates, finds and deletes Jira objects for the engine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accounts: dict[str, str | None] = {}
        self._statuses: dict[str, list[dict[str, Any]]] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._me: str | None = None

    # --- RecordAdapter (pure) --------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Jira-only adaptations: a label needs a name without blanks; a comment Ferry moved
        before keeps its first author header only."""
        if isinstance(record, Label):
            named, notes = name_nameless_label(record)
            fixed, more = label_name(named.name)
            return named.model_copy(update={"name": fixed}), notes + more
        if isinstance(record, Comment):
            return unstack_comment_header(record), []
        return record, []

    # --- lookups ---------------------------------------------------------------------------

    async def _my_account(self) -> str:
        if self._me is None:
            self._me = (await self.whoami()).source_id or ""
        return self._me

    async def _account(self, email: str) -> str | None:
        key = email.lower()
        if key not in self._accounts:
            found = await self.client.get("/user/search", query=email)
            self._accounts[key] = next(
                (str(u["accountId"]) for u in found or [] if str(u.get("emailAddress", "")).lower() == key), None
            )
        return self._accounts[key]

    async def _assignee(self, task: Task) -> tuple[str | None, Task, list[Adaptation]]:
        if not task.assignees:
            return None, task, []
        user = task.assignees[0]
        account = await self._account(user.email) if user.email else None
        if account:
            return account, task, []
        note = Adaptation(
            kind=Kind.TASK,
            code="task.assignee_not_in_jira",
            message=f"{user.label()} has no Jira account on this site; named in the description instead",
        )
        return None, unknown_assignee_note(task, user), [note]

    async def _start_date(self, task: Task) -> tuple[Task, str | None, list[Adaptation]]:
        """The site's start date field, or (a site without one) the start date moved to the
        description, reported as the engine reports it for destinations without start dates."""
        start = await self.client.start_date_field()
        if start is not None:
            return task, start, []
        task, notes = start_date_note(task)
        return task, None, notes

    async def statuses(self, project: str, *, fresh: bool = False) -> list[dict[str, Any]]:
        """The project's workflow statuses in board order (cached per writer)."""
        if fresh or project not in self._statuses:
            seen: dict[str, dict[str, Any]] = {}
            for issue_type in await self.client.get(f"/project/{project}/statuses"):
                for status in issue_type.get("statuses") or []:
                    seen.setdefault(str(status["id"]), status)
            self._statuses[project] = list(seen.values())
        return self._statuses[project]

    @staticmethod
    def _category(status: dict[str, Any]) -> str:
        return str((status.get("statusCategory") or {}).get("key") or "new")

    # --- create ----------------------------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        if isinstance(record, Project):
            return await self._create_project(record, marker)
        if isinstance(record, Section):
            return await self._section(_need(refs.project, "project"), record.name)
        if isinstance(record, Label):
            name, _ = label_name(name_nameless_label(record)[0].name)
            return label_id(name)  # a Jira label exists as soon as an issue carries it
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            issue = _need(refs.task, "task")
            made = await self.client.post(f"/issue/{issue}/comment", {"body": with_marker(record.text, marker)})
            return comment_id(issue, str(made["id"]))
        raise SkippableItemError(f"the Jira writer cannot create {kind} this way", status=400)

    async def _create_project(self, project: Project, marker: str) -> str | Written:
        existing = await self.client.all(PAGE_BEANS, "/project/search", size=50)
        keys = {str(p.get("key")) for p in existing}
        names = {str(p.get("name", "")).lower() for p in existing}
        name, notes = project.name[:80], []
        n = 2
        while name.lower() in names:
            name, n = f"{project.name[:74]} ({n})", n + 1
        if name != project.name:
            notes.append(
                Adaptation(
                    kind=Kind.PROJECT,
                    code="project.renamed_for_jira",
                    message=f"the project is named {name!r} (Jira project names "
                    "are unique per site and at most 80 characters)",
                )
            )
        lead = await self._my_account()
        for attempt in range(KEY_ATTEMPTS):
            key = project_key(project.name, attempt)
            if key in keys:
                continue
            try:
                made = await self.client.post(
                    "/project",
                    {
                        "key": key,
                        "name": name,
                        "leadAccountId": lead,
                        "projectTypeKey": "software",
                        "projectTemplateKey": TEAM_MANAGED_KANBAN,
                        "description": project_description(project, marker),
                    },
                )
            except SkippableItemError as exc:
                if status_of(exc) != 400:
                    raise
                keys.add(key)  # taken meanwhile (another worker): try the next key
                continue
            pid = str(made["id"])
            return Written(dest_id=pid, notes=tuple(notes)) if notes else pid
        raise SkippableItemError(f"no free Jira project key for {project.name!r}", status=400)

    async def _section(self, project: str, name: str) -> str:
        """The status called ``name`` in the project's workflow, created if missing."""
        async with self._locks[project]:
            for fresh in (False, True):
                for status in await self.statuses(project, fresh=fresh):
                    if str(status.get("name", "")).strip().casefold() == name.strip().casefold():
                        return str(status["id"])
            try:
                made = await self.client.post(
                    "/statuses",
                    {
                        "scope": {"type": "PROJECT", "project": {"id": project}},
                        "statuses": [{"name": name.strip()[:255], "statusCategory": status_category_for(name)}],
                    },
                )
            except SkippableItemError as exc:
                if status_of(exc) != 409:  # 409: created meanwhile; read the board again
                    raise
                made = [
                    s
                    for s in await self.statuses(project, fresh=True)
                    if str(s.get("name", "")).casefold() == name.strip().casefold()
                ]
            self._statuses.pop(project, None)
            return str(made[0]["id"])

    async def _create_task(self, task: Task, refs: DestRefs, marker: str) -> str | Written:
        project = _need(refs.project, "project")
        standard, subtask = await self.issue_types(project)
        account, task, notes = await self._assignee(task)
        task, start, more = await self._start_date(task)
        notes += more
        fields = task_fields(task, marker, account, _label_names(task, refs), start)
        fields["project"] = {"id": project}
        if refs.parent_task and subtask:
            fields["issuetype"] = {"id": subtask[0]}
            fields["parent"] = {"id": refs.parent_task}
        else:
            fields["issuetype"] = {"id": _need(standard[0] if standard else None, "issue type")}
        fields = {k: v for k, v in fields.items() if v is not None}
        made = await self.client.post("/issue", {"fields": fields})
        iid = str(made["id"])
        notes += await self._place(iid, project, task, refs, None)
        return Written(dest_id=iid, notes=tuple(notes)) if notes else iid

    async def _place(self, iid: str, project: str, task: Task, refs: DestRefs, current: str | None) -> list[Adaptation]:
        """Transition the issue to the status its section and completion ask for."""
        statuses = await self.statuses(project)
        by_id = {str(s["id"]): s for s in statuses}
        if refs.section and refs.section not in by_id:
            statuses = await self.statuses(project, fresh=True)
            by_id = {str(s["id"]): s for s in statuses}
        target = by_id.get(refs.section or "") if not refs.parent_task else None
        notes: list[Adaptation] = []
        done = [s for s in statuses if self._category(s) == "done"]
        todo = [s for s in statuses if self._category(s) != "done"]
        if target is not None and (self._category(target) == "done") != task.completed:
            replacement = (done if task.completed else todo)[:1]
            if replacement:
                notes.append(
                    Adaptation(
                        kind=Kind.TASK,
                        code="task.section_replaced_by_completion",
                        loss=True,
                        message=f"the task is {'complete' if task.completed else 'open'}, so it is "
                        f"in status {replacement[0].get('name')!r}, not "
                        f"{target.get('name')!r} (Jira's completion is its status)",
                    )
                )
                target = replacement[0]
        if target is None:
            now = by_id.get(current or "")
            if task.completed and done and (now is None or self._category(now) != "done"):
                target = done[0]
            elif not task.completed and now is not None and self._category(now) == "done":
                target = todo[0] if todo else None
        if target is None or str(target["id"]) == current:
            return notes
        options = (await self.client.get(f"/issue/{iid}/transitions")).get("transitions") or []
        move = next((t for t in options if str((t.get("to") or {}).get("id")) == str(target["id"])), None)
        if move is None:
            raise SkippableItemError(f"the workflow has no transition to status {target.get('name')!r}", status=400)
        await self.client.post(f"/issue/{iid}/transitions", {"transition": {"id": move["id"]}}, idempotent=True)
        return notes

    # --- update ----------------------------------------------------------------------------

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        if isinstance(record, Project):
            name = record.name[:80]
            await self.client.put(
                f"/project/{dest_id}", {"name": name, "description": project_description(record, marker)}
            )
        elif isinstance(record, Section):
            project = _need(refs.project, "project")
            if dest_id not in {str(s["id"]) for s in await self.statuses(project, fresh=True)}:
                raise NotFoundError(f"status {dest_id} is no longer in the project's workflow")
        elif isinstance(record, Task):
            notes = await self._update_task(dest_id, record, refs, marker)
            return Written(dest_id=dest_id, notes=tuple(notes)) if notes else None
        elif isinstance(record, Comment):
            issue, cid = _split(dest_id, "comment")
            await self.client.put(f"/issue/{issue}/comment/{cid}", {"body": with_marker(record.text, marker)})
        elif isinstance(record, Attachment):
            if "/" in dest_id:
                issue, lid = _split(dest_id, "link")
                await self.client.get(f"/issue/{issue}/remotelink/{lid}")  # 404 when gone
            else:
                await self.client.get(f"/attachment/{dest_id}")
        return None

    async def _update_task(self, iid: str, task: Task, refs: DestRefs, marker: str) -> list[Adaptation]:
        project = _need(refs.project, "project")
        account, task, notes = await self._assignee(task)
        task, start, more = await self._start_date(task)
        notes += more
        fields = task_fields(task, marker, account, _label_names(task, refs), start)
        await self.client.put(f"/issue/{iid}", {"fields": fields})
        now = await self.client.get(f"/issue/{iid}", fields="status")
        current = str(((now.get("fields") or {}).get("status") or {}).get("id") or "") or None
        return notes + await self._place(iid, project, task, refs, current)

    # --- find / delete ---------------------------------------------------------------------

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        try:
            return await self._find(kind, marker, record, refs)
        except NotFoundError:
            return None  # the parent is gone, so is the item

    async def _find(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            for p in await self.client.all(PAGE_BEANS, "/project/search", size=50, expand="description"):
                if find_marker(str(p.get("description") or "")) == marker:
                    return str(p["id"])
            return None
        if kind is Kind.SECTION and isinstance(record, Section) and refs.project:
            want = record.name.strip().casefold()
            return next(
                (
                    str(s["id"])
                    for s in await self.statuses(refs.project, fresh=True)
                    if str(s.get("name", "")).strip().casefold() == want
                ),
                None,
            )
        if kind is Kind.LABEL and isinstance(record, Label):
            return label_id(label_name(name_nameless_label(record)[0].name)[0])
        if kind is Kind.TASK:
            if refs.parent_task:
                jql = f"parent = {refs.parent_task}"
            elif refs.project:
                jql = f"project = {refs.project}"
            else:
                return None
            for issue in await self.client.search_all(jql + " ORDER BY key ASC", "description"):
                if marker_of((issue.get("fields") or {}).get("description")) == marker:
                    return str(issue["id"])
            return None
        if kind is Kind.COMMENT and refs.task:
            for c in await self.client.all(COMMENTS, f"/issue/{refs.task}/comment"):
                if marker_of(c.get("body")) == marker:
                    return comment_id(refs.task, str(c["id"]))
            return None
        if kind is Kind.ATTACHMENT and refs.task and isinstance(record, Attachment):
            if record.is_link:
                links = await self.client.get(f"/issue/{refs.task}/remotelink", globalId=marker)
                return link_id(refs.task, str(links[0]["id"])) if links else None
            issue = await self.client.get(f"/issue/{refs.task}", fields="attachment")
            for a in (issue.get("fields") or {}).get("attachment") or []:
                if a.get("filename") == record.name and (record.size is None or a.get("size") == record.size):
                    return str(a["id"])
        return None

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent deletes. Statuses go with their project and labels with the last issue
        carrying them: Jira has nothing to delete for those two."""
        if kind is Kind.PROJECT:
            await self.client.delete(f"/project/{dest_id}")
        elif kind is Kind.TASK:
            await self.client.delete(f"/issue/{dest_id}", deleteSubtasks="true")
        elif kind is Kind.COMMENT:
            issue, cid = _split(dest_id, "comment")
            await self.client.delete(f"/issue/{issue}/comment/{cid}")
        elif kind is Kind.ATTACHMENT:
            if "/" in dest_id:
                issue, lid = _split(dest_id, "link")
                await self.client.delete(f"/issue/{issue}/remotelink/{lid}")
            else:
                await self.client.delete(f"/attachment/{dest_id}")

    # --- attachments -----------------------------------------------------------------------

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        """A file (multipart, streamed once) or a web link whose ``globalId`` is the marker."""
        issue = _need(refs.task, "task")
        if record.is_link or chunks is None:
            if not record.url:
                raise SkippableItemError("a link attachment needs a URL", status=400)
            made = await self.client.post(
                f"/issue/{issue}/remotelink",
                {
                    "globalId": marker,
                    "object": {"url": record.url, "title": strip_marker_footer(record.name or record.url)[:255]},
                },
                idempotent=True,
            )
            return link_id(issue, str(made["id"]))
        made = await self.client.upload(
            issue, record.name or "attachment", record.mime_type or "application/octet-stream", chunks, record.size
        )
        return str(made[0]["id"])
