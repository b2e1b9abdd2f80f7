"""``AzureDevOpsWriter``: canonical records into Azure Boards, with source markers.

Sections are board columns, i.e. states: a section whose name is a state of the backlog
type (or means one: "Doing" → the first InProgress state) is that state, and its tasks get
it; any other section becomes an area under the project, its tasks get that area path and
a state from their completion. A task's completion always decides its state category.

Destination ids are the ids the reader reads (verify pairs items through them): a
project's GUID; ``state:<name in lower case>`` or ``area:<project>:<node id>`` for a
section; ``tag:<name>`` for a label; the work item id for a task; ``<work item>:<comment id>`` for a
comment; ``<work item>:<attachment GUID>`` for a file and ``<work item>:url-<hash>`` for a
link. Markers are a ``[ferry:…]`` footer in project and work item descriptions and in
comments, and the relation comment of files and links (``capabilities.py``). Deletes are
idempotent. What only the write reveals — an assignee the organization does not know, a
date field the process lacks — is dropped and reported (``Written.notes``).
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from shared.connectors.azure_devops.capabilities import azure_devops_capabilities
from shared.connectors.azure_devops.client import (
    AdoClient,
    RelationExistsError,
    UnknownFieldError,
    UnknownIdentityError,
    segment,
)
from shared.connectors.azure_devops.mapping import (
    RANK_FIELDS,
    START,
    TARGET,
    adapt_project,
    adapt_section,
    adapt_task,
    has_marker_html,
    html_with_footer,
    label_id,
    link_key,
    patch_ops,
    state_for_section,
    state_of_section_id,
    state_section_id,
    tag_name,
    tag_of,
    task_fields,
)
from shared.connectors.kit.errors import status_of
from shared.connectors.kit.loaded_once import LoadedOnce
from shared.connectors.kit.markers import find_marker, with_footer
from shared.contract.connector import Adaptation, Capabilities, DestRefs, Written
from shared.contract.model import (
    Attachment,
    Comment,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.text import name_nameless_label, unstack_comment_header
from shared.errors import NotFoundError, SkippableItemError, TransientError

PARENT = "System.LinkTypes.Hierarchy-Reverse"
#: backlog types of the system processes (Agile, Scrum, Basic, CMMI), in that order
BACKLOG_TYPES = ("User Story", "Product Backlog Item", "Issue", "Requirement")
#: how long one call waits for a project create/update/delete (projects usually take a few
#: seconds). Longer waits are not slept here: the call fails as transient, the engine finds
#: a created project again by its marker (or the create meets the 409 of its own name).
OPERATION_TIMEOUT_S = 30.0


def _need(value: str | None, what: str) -> str:
    if not value:
        raise SkippableItemError(f"the destination {what} is unknown", status=400)
    return value


@dataclass
class _Process:
    top_type: str
    child_type: str
    #: type (lower) → [(state, category)] in the process's order
    states: dict[str, list[tuple[str, str]]]
    #: type (lower) → its backlog order field (``RANK_FIELDS``), None when it has none
    ranks: dict[str, str | None]

    def state_for(
        self, type_name: str, completed: bool, current: str | None, column: str | None = None
    ) -> tuple[str | None, Adaptation | None]:
        """The state to write (None keeps ``current``): the section's state ``column`` when
        the type has it and its category agrees with ``completed``, else one from the
        completion (a note says when the column had to give way)."""
        states = self.states.get(type_name.lower(), [])

        def category(name: str | None) -> str | None:
            return next((c for s, c in states if name and s.lower() == name.lower()), None)

        note = None
        if column is not None:
            wanted = category(column)
            if wanted is not None and (wanted == "Completed") == completed:
                same = current is not None and current.lower() == column.lower()
                name = next(s for s, _ in states if s.lower() == column.lower())
                return (None if same else name), None
            note = Adaptation(
                kind=Kind.TASK,
                code="task.state_from_completion",
                message=f"the column {column!r} contradicts the task's completion "
                f"(or the {type_name} type lacks it): the state follows "
                "the completion",
            )
        have = category(current)
        if completed and have != "Completed":
            return next((s for s, c in states if c == "Completed"), None), note
        if not completed and (have == "Completed" or have is None and current is not None):
            return next((s for s, c in states if c == "Proposed"), None), note
        return None, note

    def column_for(self, name: str) -> str | None:
        """The backlog type's state a section named ``name`` stands for, if any."""
        return state_for_section(name, self.states.get(self.top_type.lower(), []))


class AzureDevOpsWriter:
    """Creates, updates, finds and deletes Azure DevOps items for the engine."""

    def __init__(self, client: AdoClient, *, capabilities: Capabilities | None = None, poll_s: float = 0.5) -> None:
        self.client = client
        self.capabilities = capabilities or azure_devops_capabilities()
        self.poll_s = poll_s
        self._processes: dict[str, _Process] = {}
        self._project_names: dict[str, str] = {}
        self._areas: dict[str, dict[str, str]] = {}  # project → node id → name
        self._item_project: dict[str, str] = {}  # work item id → project id
        self._unknown_people: set[str] = set()
        #: project → tag (lower case) → the spelling the project has, or a label of this
        #: writer claimed first (tags are case-insensitive: see ``_tag_label``)
        self._tags: LoadedOnce[str, dict[str, str]] = LoadedOnce(self._read_tags)
        self._area_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._default_process: str | None = None

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Any]:
        return await self.client.list_containers()

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- RecordAdapter (pure) --------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        if isinstance(record, Project):
            return adapt_project(record)
        if isinstance(record, Section):
            return adapt_section(record)
        if isinstance(record, Task):
            return adapt_task(record)
        if isinstance(record, Label):
            label, notes = name_nameless_label(record)
            if ";" in label.name:  # the separator of System.Tags
                notes.append(
                    Adaptation(
                        kind=Kind.LABEL, code="label.name_adapted", message="a tag cannot hold ';': it became ','"
                    )
                )
                label = label.model_copy(update={"name": tag_name(label.name)})
            return label, notes
        if isinstance(record, Comment):
            return unstack_comment_header(record), []
        return record, []

    # --- lookups ---------------------------------------------------------------------------

    async def _project_name(self, project: str) -> str:
        if project not in self._project_names:
            body = await self.client.get(f"_apis/projects/{segment(project)}")
            self._project_names[project] = str(body["name"])
        return self._project_names[project]

    async def _process(self, project: str) -> _Process:
        if project not in self._processes:
            body = await self.client.get(f"{segment(project)}/_apis/wit/workitemtypes")
            types = {str(t["name"]).lower(): t for t in body.get("value") or [] if not t.get("isDisabled")}
            top = next((t for t in BACKLOG_TYPES if t.lower() in types), None)
            if top is None:
                raise SkippableItemError(
                    f"the project's process has no backlog work item type ({', '.join(BACKLOG_TYPES)})", status=400
                )
            child = "Task" if "task" in types else top
            self._processes[project] = _Process(
                top,
                child,
                {
                    name: [(str(s["name"]), str(s.get("category") or "")) for s in t.get("states") or []]
                    for name, t in types.items()
                },
                {name: _rank_field(t) for name, t in types.items()},
            )
        return self._processes[project]

    async def _area_names(self, project: str, fresh: bool = False) -> dict[str, str]:
        if fresh or project not in self._areas:
            root = await self.client.get(f"{segment(project)}/_apis/wit/classificationnodes/Areas", **{"$depth": 1})
            self._areas[project] = {str(c["id"]): str(c["name"]) for c in root.get("children") or []}
            self._areas[project]["root"] = str(root["id"])
        return self._areas[project]

    async def _area_path(self, project: str, section: str | None) -> str:
        name = await self._project_name(project)
        if not section or not section.startswith("area:"):
            return name
        owner, _, node = section[len("area:") :].partition(":")
        areas = await self._area_names(owner)
        if node not in areas:
            areas = await self._area_names(owner, fresh=True)
        if node not in areas:
            raise SkippableItemError("the destination area of the task is gone", status=404)
        return f"{name}\\{areas[node]}"

    async def _project_of_item(self, wid: str) -> str | None:
        """The project of a work item (the organization-level URL needs none); None if gone."""
        if wid not in self._item_project:
            try:
                item = await self.client.get(f"_apis/wit/workitems/{wid}", fields="System.TeamProject")
            except NotFoundError:
                return None
            self._item_project[wid] = str(item["fields"]["System.TeamProject"])
        return self._item_project[wid]

    async def _project_tags(self, project: str) -> dict[str, str]:
        """The project's tags (lower case → spelling), read once per writer (a page's labels
        are written at once: one read for all of them)."""
        return await self._tags.get(project)

    async def _read_tags(self, project: str) -> dict[str, str]:
        body = await self.client.get(f"{segment(project)}/_apis/wit/tags")
        return {str(t["name"]).lower(): str(t["name"]) for t in body.get("value") or [] if t.get("name")}

    async def _tag_label(self, record: Label, refs: DestRefs) -> tuple[str, str | None]:
        """A label's tag id, and the other spelling of that tag if one holds it already.

        Azure DevOps tags are case-insensitive: "Backend" and "backend" are one tag, spelled
        as it was first used. The first label of a spelling claims it (in this writer, or as
        a tag the project has); a label that differs from it in case only is the same tag
        (``label.collision``: its own spelling is lost)."""
        label, _ = self.adapt(Kind.LABEL, record)
        assert isinstance(label, Label)
        dest_id = label_id(label.name)
        if not refs.project:
            return dest_id, None
        tags = await self._project_tags(refs.project)
        held = tags.setdefault(label.name.strip().lower(), label.name.strip())
        return dest_id, (held if held != label.name.strip() else None)

    def _parent_url(self, wid: str) -> str:
        return f"{self.client.org_url}/_apis/wit/workItems/{wid}"

    # --- create --------------------------------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        if isinstance(record, Project):
            return await self._create_project(record, marker)
        if isinstance(record, Section):
            return await self._create_section(record, _need(refs.project, "project"))
        if isinstance(record, Label):
            # a tag exists by being used: nothing to create, only a spelling to claim
            dest_id, collides = await self._tag_label(record, refs)
            if not collides:
                return dest_id
            label, _ = self.adapt(Kind.LABEL, record)
            assert isinstance(label, Label)
            note = Adaptation(
                kind=Kind.LABEL,
                code="label.collision",
                message=f"tags are case-insensitive: the label {label.name!r} is the tag "
                f"{collides!r}, which another label (or a tag of the project) already spells so",
            )
            return Written(dest_id=dest_id, notes=(note,))
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            project, task = _need(refs.project, "project"), _need(refs.task, "task")
            made = await self.client.json(
                "POST",
                f"{segment(project)}/_apis/wit/workItems/{task}/comments",
                preview=True,
                json={"text": html_with_footer(record.text, marker)},
                idempotent=False,
            )
            return f"{task}:{made['id']}"
        raise SkippableItemError(f"Azure DevOps writer cannot create {kind} this way", status=400)

    async def _default_process_id(self) -> str:
        if self._default_process is None:
            body = await self.client.get("_apis/process/processes")
            procs = body.get("value") or []
            chosen = next((p for p in procs if p.get("isDefault")), procs[0] if procs else None)
            if chosen is None:
                raise SkippableItemError("the organization lists no process", status=400)
            self._default_process = str(chosen["id"])
        return self._default_process

    async def _create_project(self, project: Project, marker: str) -> str | Written:
        adapted, notes = adapt_project(project)
        body = {
            "name": adapted.name,
            "visibility": "private",
            "description": with_footer(adapted.description, marker),
            "capabilities": {
                "processTemplate": {"templateTypeId": await self._default_process_id()},
                "versioncontrol": {"sourceControlType": "Git"},
            },
        }
        for attempt in range(1, 4):
            try:
                op = await self.client.json("POST", "_apis/projects", json=body, idempotent=False)
                break
            except SkippableItemError as exc:
                if status_of(exc) != 409 or attempt == 3:
                    raise
                existing = await self._project_named(str(body["name"]))
                if existing and find_marker(existing.get("description")) == marker:
                    return str(existing["id"])  # an earlier attempt made it
                body["name"] = f"{adapted.name[:60]} ({attempt + 1})"
                notes.append(
                    Adaptation(
                        kind=Kind.PROJECT,
                        code="project.renamed_duplicate",
                        message="a project of that name exists: a number was added to the name",
                    )
                )
        await self._wait(str(op["id"]))
        made = await self.client.get(f"_apis/projects/{segment(str(body['name']))}")
        self._project_names[str(made["id"])] = str(made["name"])
        return Written(dest_id=str(made["id"]), notes=tuple(notes)) if notes else str(made["id"])

    async def _project_named(self, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self.client.get(f"_apis/projects/{segment(name)}")
            return found
        except NotFoundError:
            return None

    async def _wait(self, operation: str) -> None:
        """Poll a project operation until it ends (created, updated or deleted)."""
        waited, delay = 0.0, self.poll_s
        while waited < OPERATION_TIMEOUT_S:
            op = await self.client.get(f"_apis/operations/{operation}")
            status = op.get("status")
            if status == "succeeded":
                return
            if status in ("failed", "cancelled"):
                raise SkippableItemError(
                    f"Azure DevOps project operation {status}: {op.get('resultMessage') or ''}", status=500
                )
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)
        raise TransientError("Azure DevOps project operation still running")

    async def _create_section(self, section: Section, project: str) -> str | Written:
        column = (await self._process(project)).column_for(section.name)
        if column is not None:  # a column of the board: nothing to create
            if column.lower() == " ".join(section.name.lower().split()):
                return state_section_id(column)
            return Written(
                dest_id=state_section_id(column),
                notes=(
                    Adaptation(
                        kind=Kind.SECTION,
                        code="section.mapped_to_state",
                        message=f"the section {section.name!r} is the board column {column!r}",
                    ),
                ),
            )
        adapted, _ = adapt_section(section)
        async with self._area_locks[project]:
            try:
                node = await self.client.json(
                    "POST",
                    f"{segment(project)}/_apis/wit/classificationnodes/Areas",
                    json={"name": adapted.name},
                    idempotent=False,
                )
            except SkippableItemError as exc:
                if status_of(exc) != 409:
                    raise
                found = await self._find_area(project, adapted.name)
                if found is None:
                    raise
                return found
            self._areas.setdefault(project, {})[str(node["id"])] = str(node["name"])
            return f"area:{project}:{node['id']}"

    async def _find_area(self, project: str, name: str) -> str | None:
        areas = await self._area_names(project, fresh=True)
        node = next((i for i, n in areas.items() if i != "root" and n.lower() == name.lower()), None)
        return f"area:{project}:{node}" if node else None

    async def _create_task(self, task: Task, refs: DestRefs, marker: str) -> str | Written:
        project = _need(refs.project, "project")
        process = await self._process(project)
        type_name = process.child_type if refs.parent_task else process.top_type
        state, note = process.state_for(type_name, task.completed, None, _column(refs))
        values, notes = await self._values(task, refs, project, marker, state, process.ranks.get(type_name.lower()))
        notes += [note] if note else []
        extra = []
        if refs.parent_task:
            extra.append(
                {
                    "op": "add",
                    "path": "/relations/-",
                    "value": {"rel": PARENT, "url": self._parent_url(refs.parent_task)},
                }
            )

        async def send(ops: list[dict[str, Any]]) -> dict[str, Any]:
            return await self.client.create_work_item(project, type_name, ops + extra)

        item = await self._tolerant(send, values, None, notes)
        wid = str(item["id"])
        self._item_project[wid] = project
        return Written(dest_id=wid, notes=tuple(notes)) if notes else wid

    async def _values(
        self, task: Task, refs: DestRefs, project: str, marker: str, state: str | None, rank_field: str | None
    ) -> tuple[dict[str, Any], list[Adaptation]]:
        notes: list[Adaptation] = []
        email = next((a.email for a in task.assignees if a.email), None)
        if email and email.lower() in self._unknown_people:
            notes.append(_unknown_person(email))
            email = None
        tags: dict[str, str] = {}  # lower case → spelling: a tag once, however spelled
        for lab in task.labels:
            if lab.source_id not in refs.labels:
                continue  # the engine names it in the description
            # the tag is the label's destination id (in lower case); the task's reference
            # spells it, unless it names another tag (a nameless label, a label renamed since
            # its tag was made): then the spelling the project (or this writer) gave it
            key, name = tag_of(refs.labels[lab.source_id]).lower(), tag_name(lab.name)
            if name.lower() != key:
                name = (await self._project_tags(project)).get(key, key)
            tags.setdefault(key, name)
        area = await self._area_path(project, refs.section)
        return task_fields(task, area, state, marker, email, list(tags.values()), rank_field), notes

    async def _tolerant(
        self, send: Any, values: dict[str, Any], current: dict[str, Any] | None, notes: list[Adaptation]
    ) -> dict[str, Any]:
        """Send the fields; an unknown assignee or a date field the process lacks is dropped
        (and reported) and the write sent again, once per cause."""
        for _ in range(3):
            try:
                result: dict[str, Any] = await send(patch_ops(values, current))
                return result
            except UnknownIdentityError:
                email = values.get("System.AssignedTo")
                if not email:
                    raise
                self._unknown_people.add(str(email).lower())
                notes.append(_unknown_person(str(email)))
                values = {**values, "System.AssignedTo": None}
            except UnknownFieldError as exc:
                dates = [f for f in (START, TARGET) if values.get(f) and f in str(exc)]
                if not dates:
                    raise
                notes.append(
                    Adaptation(
                        kind=Kind.TASK,
                        code="task.dates_dropped",
                        loss=True,
                        message=f"the destination process has no {', '.join(dates)} field: dates were dropped",
                    )
                )
                values = {k: v for k, v in values.items() if k not in dates}
        raise SkippableItemError("Azure DevOps refused the work item fields", status=400)

    # --- update --------------------------------------------------------------------------------

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        if isinstance(record, Project):
            adapted, _ = adapt_project(record)
            op = await self.client.json(
                "PATCH",
                f"_apis/projects/{segment(dest_id)}",
                json={"description": with_footer(adapted.description, marker)},
            )
            await self._wait(str(op["id"]))
        elif isinstance(record, Section):
            if dest_id.startswith("area:"):
                await self._rename_area(dest_id, adapt_section(record)[0].name)
        elif isinstance(record, Label):
            return None  # a tag is its name: tasks carry the new one on their update
        elif isinstance(record, Task):
            for attempt in (1, 2):
                try:
                    notes = await self._update_task(dest_id, record, refs, marker)
                    break
                except SkippableItemError as exc:
                    # a re-link tests the revision: a retried PATCH whose first answer was
                    # lost (or another writer) changed it; read the item again and redo
                    if status_of(exc) != 412 or attempt == 2:
                        raise
            return Written(dest_id=dest_id, notes=tuple(notes)) if notes else None
        elif isinstance(record, Comment):
            wid, _, cid = dest_id.partition(":")
            project = await self._project_of_item(wid)
            if project is None:
                raise NotFoundError(f"work item {wid} is gone")
            await self.client.json(
                "PATCH",
                f"{segment(project)}/_apis/wit/workItems/{wid}/comments/{cid}",
                preview=True,
                json={"text": html_with_footer(record.text, marker)},
            )
        elif isinstance(record, Attachment):
            if await self._relation_index(dest_id) is None:
                raise NotFoundError(f"attachment {dest_id} is gone")
        return None

    async def _rename_area(self, dest_id: str, name: str) -> None:
        project, _, node = dest_id[len("area:") :].partition(":")
        areas = await self._area_names(project, fresh=True)
        if node not in areas:
            raise NotFoundError(f"area {dest_id} is gone")
        if areas[node] != name:
            await self.client.json(
                "PATCH",
                f"{segment(project)}/_apis/wit/classificationnodes/Areas/{segment(areas[node])}",
                json={"name": name},
            )
            areas[node] = name

    async def _update_task(self, wid: str, task: Task, refs: DestRefs, marker: str) -> list[Adaptation]:
        project = _need(refs.project, "project") if refs.project else await self._project_of_item(wid)
        if project is None:
            raise NotFoundError(f"work item {wid} is gone")
        item = await self.client.get(f"{segment(project)}/_apis/wit/workitems/{wid}", **{"$expand": "relations"})
        fields = item.get("fields") or {}
        process = await self._process(project)
        type_name = str(fields.get("System.WorkItemType") or "")
        state, note = process.state_for(
            type_name, task.completed, str(fields.get("System.State") or "") or None, _column(refs)
        )
        values, notes = await self._values(task, refs, project, marker, state, process.ranks.get(type_name.lower()))
        notes += [note] if note else []
        extra: list[dict[str, Any]] = []
        relations = item.get("relations") or []
        parents = [i for i, r in enumerate(relations) if r.get("rel") == PARENT]
        want = refs.parent_task
        have = [str(relations[i]["url"]).rstrip("/").rsplit("/", 1)[-1] for i in parents]
        if want and have != [want] or not want and have:
            extra = [{"op": "test", "path": "/rev", "value": item["rev"]}]
            extra += [{"op": "remove", "path": f"/relations/{i}"} for i in reversed(parents)]
            if want:
                extra.append(
                    {"op": "add", "path": "/relations/-", "value": {"rel": PARENT, "url": self._parent_url(want)}}
                )

        async def send(ops: list[dict[str, Any]]) -> dict[str, Any]:
            if not ops and not extra:
                return dict(item)
            return await self.client.patch_work_item(project, wid, extra + ops)

        await self._tolerant(send, values, fields, notes)
        self._item_project[wid] = project
        return notes

    # --- find / delete ------------------------------------------------------------------------

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        try:
            return await self._find(kind, marker, record, refs)
        except NotFoundError:
            return None  # the parent is gone, so is the item

    async def _find(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            for p in await self.client.projects():
                if find_marker(p.get("description")) == marker:
                    return str(p["id"])
            return None
        if kind is Kind.SECTION and isinstance(record, Section) and refs.project:
            column = (await self._process(refs.project)).column_for(record.name)
            if column is not None:
                return state_section_id(column)
            return await self._find_area(refs.project, adapt_section(record)[0].name)
        if kind is Kind.LABEL and isinstance(record, Label):
            dest_id, collides = await self._tag_label(record, refs)
            # a label whose tag another spelling holds is "not found", so that the engine
            # creates it and the create reports the collision (find has no way to)
            return None if collides else dest_id
        if kind is Kind.TASK and refs.project:
            return await self._find_task(refs.project, marker, record)
        if kind is Kind.COMMENT and refs.project and refs.task:
            return await self._find_comment(refs.project, refs.task, marker)
        if kind is Kind.ATTACHMENT and refs.project and refs.task:
            item = await self.client.get(
                f"{segment(refs.project)}/_apis/wit/workitems/{refs.task}", **{"$expand": "relations"}
            )
            for rel in item.get("relations") or []:
                if f"[{marker}]" in str((rel.get("attributes") or {}).get("comment") or ""):
                    return f"{refs.task}:{_relation_key(rel)}"
        return None

    async def _find_task(self, project: str, marker: str, record: Record) -> str | None:
        """By title first (one query), then every work item of the project."""
        title = adapt_task(record)[0].name if isinstance(record, Task) else ""
        wheres = [f"[System.Title] = '{_quote(title)}'"] if title else []
        wheres.append("")
        for where in wheres:
            last = 0
            while True:
                cond = f"[System.Id] > {last}" + (f" AND {where}" if where else "")
                ids = await self.client.wiql(project, cond, top=200)
                items = await self.client.work_items(project, ids, fields=["System.Description"])
                for item in items:
                    if has_marker_html((item.get("fields") or {}).get("System.Description"), marker):
                        self._item_project[str(item["id"])] = project
                        return str(item["id"])
                if len(ids) < 200:
                    break
                last = ids[-1]
        return None

    async def _find_comment(self, project: str, wid: str, marker: str) -> str | None:
        token: str | None = None
        for _ in range(1000):
            page = await self.client.json(
                "GET",
                f"{segment(project)}/_apis/wit/workItems/{wid}/comments",
                preview=True,
                params={"$top": 200, "continuationToken": token},
            )
            for c in page.get("comments") or []:
                if has_marker_html(c.get("text"), marker):
                    return f"{wid}:{c['id']}"
            token = page.get("continuationToken")
            if not token:
                return None
        return None

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent delete (work items go to the project's recycle bin)."""
        if kind is Kind.PROJECT:
            try:
                op = await self.client.json("DELETE", f"_apis/projects/{segment(dest_id)}")
            except NotFoundError:
                return
            await self._wait(str(op["id"]))
        elif kind is Kind.SECTION:
            await self._delete_area(dest_id)
        elif kind is Kind.LABEL:
            return  # deleting a tag removes it from every work item, migrated or not
        elif kind is Kind.TASK:
            project = await self._project_of_item(dest_id)
            if project is not None:
                await self.client.delete(f"{segment(project)}/_apis/wit/workitems/{dest_id}")
            self._item_project.pop(dest_id, None)
        elif kind is Kind.COMMENT:
            wid, _, cid = dest_id.partition(":")
            project = await self._project_of_item(wid)
            if project is not None:
                await self._delete_comment(project, wid, cid)
        elif kind is Kind.ATTACHMENT:
            await self._remove_relation(dest_id)

    async def _delete_comment(self, project: str, wid: str, cid: str) -> None:
        try:
            await self.client.call(
                "DELETE", f"{segment(project)}/_apis/wit/workItems/{wid}/comments/{cid}", preview=True
            )
        except NotFoundError:
            return

    async def _delete_area(self, dest_id: str) -> None:
        if not dest_id.startswith("area:"):
            return  # a board column (state) belongs to the process: nothing to delete
        project, _, node = dest_id[len("area:") :].partition(":")
        try:
            areas = await self._area_names(project, fresh=True)
        except NotFoundError:
            return  # the project is gone
        if node not in areas:
            return
        # work items still in it move to the project's root area
        await self.client.delete(
            f"{segment(project)}/_apis/wit/classificationnodes/Areas/{segment(areas[node])}",
            **{"$reclassifyId": areas["root"]},
        )
        areas.pop(node, None)

    async def _relation_index(self, dest_id: str) -> tuple[str, int, int] | None:
        """(project, relation index, work item rev) of a file or link, None when gone."""
        wid, _, key = dest_id.partition(":")
        project = await self._project_of_item(wid)
        if project is None:
            return None
        try:
            item = await self.client.get(f"{segment(project)}/_apis/wit/workitems/{wid}", **{"$expand": "relations"})
        except NotFoundError:
            return None
        for i, rel in enumerate(item.get("relations") or []):
            if _relation_key(rel) == key:
                return project, i, int(item["rev"])
        return None

    async def _remove_relation(self, dest_id: str) -> None:
        wid = dest_id.partition(":")[0]
        for _ in range(3):  # another writer may change the item in between (412)
            found = await self._relation_index(dest_id)
            if found is None:
                return
            project, index, rev = found
            try:
                await self.client.patch_work_item(
                    project,
                    wid,
                    [{"op": "test", "path": "/rev", "value": rev}, {"op": "remove", "path": f"/relations/{index}"}],
                )
                return
            except SkippableItemError as exc:
                if status_of(exc) != 412:
                    raise
        raise TransientError(f"work item {wid} kept changing while a file was removed")

    # --- attachments ---------------------------------------------------------------------------

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str | Written:
        project, task = _need(refs.project, "project"), _need(refs.task, "task")
        if record.is_link or chunks is None:
            if not record.url:
                raise SkippableItemError("a link attachment needs a URL", status=400)
            await self._add_relation(
                project,
                task,
                {
                    "rel": "Hyperlink",
                    "url": record.url,
                    "attributes": {"comment": f"{record.name or record.url} [{marker}]"},
                },
            )
            return f"{task}:{link_key(record.url)}"
        limit = self.capabilities.max_attachment_bytes
        if limit is not None and record.size is not None and record.size > limit:
            raise SkippableItemError(f"{record.size} bytes is over Azure DevOps' 130 MB upload limit", status=413)
        ref = await self.client.upload(project, record.name or "attachment", chunks, record.size)
        await self._add_relation(
            project, task, {"rel": "AttachedFile", "url": ref["url"], "attributes": {"comment": f"[{marker}]"}}
        )
        return f"{task}:{str(ref['id']).lower()}"

    async def _add_relation(self, project: str, task: str, relation: dict[str, Any]) -> None:
        """Link a file or URL. The call is retried after a lost answer; the service refuses
        a second identical link (TF201040 "already exists"), which means it is there."""
        try:
            await self.client.patch_work_item(project, task, [{"op": "add", "path": "/relations/-", "value": relation}])
        except RelationExistsError:
            return


def _rank_field(wtype: dict[str, Any]) -> str | None:
    """The order field among a type's fields (``WorkItemType.fields``)."""
    names = {str(f.get("referenceName")) for f in wtype.get("fields") or [] if isinstance(f, dict)}
    return next((f for f in RANK_FIELDS if f in names), None)


def _column(refs: DestRefs) -> str | None:
    """The state a task's section stands for (None for an area or no section)."""
    return state_of_section_id(refs.section) if refs.section else None


def _relation_key(rel: dict[str, Any]) -> str:
    url = str(rel.get("url") or "")
    if rel.get("rel") == "AttachedFile":
        return url.rstrip("/").rsplit("/", 1)[-1].split("?")[0].lower()
    return link_key(url)


def _quote(text: str) -> str:
    """A WIQL string literal's content (a quote is doubled)."""
    return re.sub("'", "''", text)


def _unknown_person(email: str) -> Adaptation:
    return Adaptation(
        kind=Kind.TASK,
        code="task.assignee_not_member",
        loss=True,
        message=f"{email} is not a user of the Azure DevOps organization: the task is left unassigned",
    )
