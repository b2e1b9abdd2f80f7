"""PlannerWriter: creates plans, buckets, categories, tasks, comments and references.

Destination ids: plan / bucket / task ids as Graph gives them; labels `"{plan}|categoryN"`;
comments `"{group}|{thread}|{post}"`; attachments `"{task}|{reference key}"`.
Markers: tasks carry a description footer; comments a footer line in the post; uploaded files
live under `Ferry/<marker>/` in the group's library (links are keyed by URL, so re-adding
one is idempotent). Plans, buckets and labels are reconciled by name (natural key).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from shared.connectors.kit.errors import status_of
from shared.connectors.kit.markers import find_marker, with_footer
from shared.connectors.planner.api_types import (
    PlannerBucket,
    PlannerPlan,
    PlannerPlanDetails,
    PlannerTask,
    PlannerTaskDetails,
)
from shared.connectors.planner.capabilities import planner_capabilities
from shared.connectors.planner.client import GRAPH_BASE_URL, ITEM_ERRORS, PlannerClient
from shared.connectors.planner.comments import Comments
from shared.connectors.planner.directory import Directory
from shared.connectors.planner.mapping import (
    CATEGORY_KEYS,
    CHECKLIST_NAME,
    category_for_color,
    checklist_patch,
    encode_reference_key,
    task_fields,
)
from shared.connectors.planner.placement import (
    BEFORE_ALL,
    KeyedLocks,
    PlacedItems,
    need,
    order_hint_for,
)
from shared.connectors.planner.uploads import Uploads, marker_dir
from shared.contract.connector import Adaptation, DestRefs, Written
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
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
from shared.contract.text import (
    FLATTENED_LINE,
    name_flattened_parent,
    name_nameless_label,
    unstack_comment_header,
)
from shared.errors import NotFoundError, SkippableItemError


class PlannerWriter:
    """Writes canonical records into a Microsoft 365 group's plans.

    Bucket and task creates of one plan, label writes of one plan and comment writes of
    one task are serialised (the engine writes a page at once; see placement.py)."""

    def __init__(self, client: PlannerClient) -> None:
        self.client = client
        self.directory = Directory(client)
        self.uploads = Uploads(client, self.directory)
        self.comments = Comments(client, self.directory)
        self.capabilities = planner_capabilities()
        self._locks = KeyedLocks()
        #: plan id → its details (label categories) as last read or written: a label's write
        #: starts from them (their etag guards it)
        self._details_read: dict[str, dict[str, Any]] = {}
        #: plan id → its buckets as last read, with those this writer made since
        self._bucket_reads: dict[str, dict[str, PlannerBucket]] = {}
        #: source positions of the buckets this writer created (bucket id → position)
        self._bucket_positions: dict[str, float] = {}
        #: per plan, per bucket id ("" = none): the tasks' (position, hint)
        self._task_places: dict[str, dict[str, PlacedItems]] = {}
        #: (plan, bucket or "bucket:<name>", source position) of task and bucket creates whose
        #: answer was lost: the item may exist without this writer knowing its order hint, so
        #: its update places it again
        self._unplaced: set[tuple[str, str, float]] = set()

    async def whoami(self) -> UserRef:
        return await self.directory.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.directory.list_containers()

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        return await self.uploads.upload_attachment(record, refs, marker, chunks)

    # -- RecordAdapter ----------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Planner-only adaptations (pure): one checklist per task; plans have no description;
        a label needs a name (a colour-only label is named after its colour)."""
        notes: list[Adaptation] = []
        if isinstance(record, Label):
            return name_nameless_label(record)  # a category without a name is only a colour
        if isinstance(record, Comment):
            return unstack_comment_header(record), []  # a second hop keeps the first header
        if isinstance(record, Project) and record.description:
            notes.append(
                Adaptation(
                    kind=kind,
                    code="project.description_dropped",
                    message="Planner plans have no description",
                    loss=True,
                )
            )
            record = record.model_copy(update={"description": ""})
        if isinstance(record, Task) and len(record.checklists) > 1:
            items = tuple(
                ChecklistItem(
                    source_id=f"{cl.source_id or n}/{item.source_id}",
                    name=f"{cl.name}: {item.name}",
                    checked=item.checked,
                    position=float(i),
                )
                for n, cl in enumerate(record.checklists)
                for i, item in enumerate(cl.items)
            )
            record = record.model_copy(update={"checklists": (Checklist(name=CHECKLIST_NAME, items=items),)})
            notes.append(
                Adaptation(
                    kind=kind,
                    code="task.checklists_merged",
                    message="several checklists merged into Planner's one checklist (items prefixed by list name)",
                )
            )
        return record, notes

    # -- create / update ----------------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        if isinstance(record, Project):
            if not refs.workspace:
                raise SkippableItemError("a destination group (workspace) is required")
            body = {"title": record.name[:255], "container": {"url": f"{GRAPH_BASE_URL}/groups/{refs.workspace}"}}
            plan = PlannerPlan.model_validate(await self.client.post("/planner/plans", body))
            self.directory.remember_plan(plan)
            return plan.id
        if isinstance(record, Section):
            return await self._create_bucket(need(refs.project, "plan"), record)
        if isinstance(record, Label):
            record, _ = name_nameless_label(record)  # as adapt() did (callers may skip it)
            return await self._put_label(need(refs.project, "plan"), record)
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            return await self.comments.create(record, refs, marker)
        raise SkippableItemError(f"planner cannot create {kind}")

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        """Overwrite migrated fields and finish a task's parts: bucket, categories and
        assignments (task), description with marker footer and checklist items (details,
        keyed by stable ids so a retry after any failure writes each item once)."""
        try:
            if isinstance(record, Project):
                await self.client.patch_etag(f"/planner/plans/{dest_id}", {"title": record.name[:255]})
            elif isinstance(record, Section):
                plan = refs.project or ""
                if (plan, f"bucket:{record.name}", record.position) in self._unplaced:
                    await self._replace_bucket(plan, dest_id, record)
                else:
                    await self.client.patch_etag(f"/planner/buckets/{dest_id}", {"name": record.name})
            elif isinstance(record, Label):
                plan, _, key = dest_id.partition("|")
                record, _ = name_nameless_label(record)
                self._details_read[plan] = await self.client.patch_etag(
                    f"/planner/plans/{plan}/details", {"categoryDescriptions": {key: record.name}}
                )
            elif isinstance(record, Task):
                notes = await self._write_task(dest_id, record, refs, marker)
                return Written(dest_id=dest_id, notes=notes) if notes else None
            elif isinstance(record, Comment):
                # Group posts cannot be edited through Graph: a changed comment stays as it
                # was. What update can finish is the task's link to the comment's thread
                # (lost when the thread was made but the task's PATCH failed).
                await self.comments.link(need(refs.task, "task"), dest_id)
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                raise NotFoundError(f"{kind} {dest_id} is gone") from exc
            raise
        return None

    async def _buckets(self, plan_id: str) -> list[PlannerBucket]:
        raw = await self.client.get_all(f"/planner/plans/{plan_id}/buckets")
        buckets = [PlannerBucket.model_validate(b) for b in raw]
        # a listing sent before a bucket create of this writer may answer after it: the
        # engine looks up every bucket of a page by name at once, so keep the buckets this
        # writer made that the listing does not show yet (else the next bucket is placed
        # as if they were not there)
        made = [
            b
            for b in self._bucket_reads.get(plan_id, {}).values()
            if b.id in self._bucket_positions and b.id not in {x.id for x in buckets}
        ]
        self._bucket_reads[plan_id] = {b.id: b for b in buckets + made}
        return buckets

    async def _bucket_listing(self, plan_id: str) -> list[PlannerBucket]:
        """The plan's buckets for placing a new one: the last read (the engine looks a bucket
        up by name just before it creates it) with the buckets this writer made since; read
        again when a create's answer was lost (that bucket may exist unseen)."""
        known = self._bucket_reads.get(plan_id)
        if known is None or any(where[0] == plan_id for where in self._unplaced):
            return await self._buckets(plan_id)
        return list(known.values())

    async def _plan_details(self, plan_id: str) -> PlannerPlanDetails:
        raw = await self.client.get_json(f"/planner/plans/{plan_id}/details")
        self._details_read[plan_id] = raw
        return PlannerPlanDetails.model_validate(raw)

    async def _create_bucket(self, plan: str, record: Section) -> str:
        """A bucket placed by its source position among the plan's buckets (one create per
        plan at a time, so buckets written at once do not share a hint)."""
        async with self._locks(f"buckets|{plan}"):
            placed = [
                (self._bucket_positions.get(b.id, BEFORE_ALL), b.order_hint or "")
                for b in await self._bucket_listing(plan)
            ]
            body = {"name": record.name, "planId": plan, "orderHint": order_hint_for(record.position, placed)}
            self._unplaced.add((plan, f"bucket:{record.name}", record.position))
            made = await self.client.post("/planner/buckets", body)
            self._unplaced.discard((plan, f"bucket:{record.name}", record.position))
            bucket = PlannerBucket.model_validate(made)
            self._bucket_positions[bucket.id] = record.position
            self._bucket_reads.setdefault(plan, {})[bucket.id] = bucket
            return bucket.id

    async def _replace_bucket(self, plan: str, bucket_id: str, record: Section) -> None:
        """A bucket whose create answer was lost: buckets placed since did not count it, so
        place it again by its source position (as a create does)."""
        async with self._locks(f"buckets|{plan}"):
            placed = [
                (self._bucket_positions.get(b.id, BEFORE_ALL), b.order_hint or "")
                for b in await self._buckets(plan)
                if b.id != bucket_id
            ]
            await self.client.patch_etag(
                f"/planner/buckets/{bucket_id}",
                {"name": record.name, "orderHint": order_hint_for(record.position, placed)},
            )
            self._bucket_positions[bucket_id] = record.position
            self._unplaced.discard((plan, f"bucket:{record.name}", record.position))

    async def _put_label(self, plan_id: str, record: Label) -> str | Written:
        """Give the label a category of its own: the category of its colour when free (so it
        keeps its colour, and two labels of one name but different colours stay two), else
        the first free one. The category is chosen from the same read whose etag guards the
        write (re-chosen on 412), and label writes of one plan run one at a time, so labels
        written at once get distinct categories. With all 25 categories used, a label is
        merged into a category of the same name (``label.merged``) or fails."""
        path = f"/planner/plans/{plan_id}/details"
        tried: str | None = None  # the category an attempt whose answer was lost may hold
        async with self._locks(f"labels|{plan_id}"):
            for attempt in range(5):
                # first with the details last read or written (the engine looks a label up
                # just before it creates it); a stale etag (412) reads them again
                cached = self._details_read.get(plan_id) if attempt == 0 else None
                raw = cached or await self.client.get_json(path)
                names = PlannerPlanDetails.model_validate(raw).category_descriptions
                held = label_category(names, record) or (tried if tried and names.get(tried) == record.name else None)
                if held is not None:  # written by an earlier attempt whose answer was lost
                    return f"{plan_id}|{held}"
                own = category_for_color(record.color)
                free = own if own and not names.get(own) else next((k for k in CATEGORY_KEYS if not names.get(k)), None)
                if free is None:
                    same = next((k for k in CATEGORY_KEYS if names.get(k) == record.name), None)
                    if same is None:
                        raise SkippableItemError("the plan already uses all 25 label categories")
                    return Written(
                        dest_id=f"{plan_id}|{same}",
                        notes=(
                            Adaptation(
                                kind=Kind.LABEL,
                                code="label.merged",
                                loss=True,
                                message=f"the plan's 25 categories are all used: merged into the "
                                f"category also named {record.name!r}",
                            ),
                        ),
                    )
                tried = free
                try:
                    written = await self.client.patch_if_match(
                        path, {"categoryDescriptions": {free: record.name}}, raw["@odata.etag"]
                    )
                except ITEM_ERRORS as exc:
                    self._details_read.pop(plan_id, None)
                    if status_of(exc) in (409, 412) and attempt < 4:
                        continue  # another writer changed the details: read and choose again
                    raise
                if written is None:
                    self._details_read.pop(plan_id, None)
                else:
                    self._details_read[plan_id] = written
                return f"{plan_id}|{free}"
        raise AssertionError("unreachable")

    async def _parent_named(self, record: Task, refs: DestRefs) -> Task:
        """A flattened subtask's description names its parent ("Originally a subtask of …")."""
        if not refs.flattened_parent or FLATTENED_LINE not in record.description:
            return record
        parent = await self.directory.task(refs.flattened_parent)
        return record.model_copy(update={"description": name_flattened_parent(record.description, parent.title)})

    async def _task_inputs(self, record: Task, refs: DestRefs) -> tuple[list[str], list[str], list[str]]:
        categories = list(
            dict.fromkeys(dest.partition("|")[2] for ref in record.labels if (dest := refs.labels.get(ref.source_id)))
        )
        ids: list[str] = []
        unknown: list[str] = []
        for person in record.assignees:
            uid = await self.directory.user_id_for(person)
            if uid:
                ids.append(uid)
            else:
                unknown.append(person.label())
        return categories, ids, unknown

    async def _create_task(self, record: Task, refs: DestRefs, marker: str) -> str | Written:
        plan = need(refs.project, "plan")
        record = await self._parent_named(record, refs)
        inputs = await self._task_inputs(record, refs)
        body = task_fields(record, bucket_id=refs.section, categories=inputs[0], assignee_ids=inputs[1])
        body["planId"] = plan
        # Without orderHint Planner puts a new task first; place it by source position among
        # the tasks of its bucket instead (one create per plan at a time, as for buckets).
        async with self._locks(f"tasks|{plan}"):
            placed = await self._bucket_tasks(plan, refs)
            body["orderHint"] = placed.hint_for(record.position, refs)
            where = (plan, refs.section or "", record.position)
            self._unplaced.add(where)
            created = await self.client.post("/planner/tasks", body)
            self._unplaced.discard(where)
            placed.add(str(created["id"]), record.position, created.get("orderHint"))
        task_id = str(created["id"])
        self.comments.task_created(task_id, created)
        # The marker goes into the details, which exist only once the task does; a crash in
        # between leaves a task without marker (the engine's intent record narrows this).
        await self._write_details(task_id, record, marker, inputs)
        notes = _merged_labels(record, refs)
        return Written(dest_id=task_id, notes=notes) if notes else task_id

    async def _bucket_tasks(self, plan: str, refs: DestRefs) -> PlacedItems:
        """The tasks of the bucket a task goes to: the plan's tasks read once per writer,
        later placements added, read again when an anchor the engine gives is not in it
        (another writer put it there since)."""
        bucket = refs.section or ""
        lists = self._task_places.get(plan)
        if lists is None or not lists.setdefault(bucket, PlacedItems({})).knows(refs):
            hints: dict[str, dict[str, str]] = {}
            for raw in await self.client.get_all(f"/planner/plans/{plan}/tasks"):
                hints.setdefault(raw.get("bucketId") or "", {})[str(raw["id"])] = raw.get("orderHint") or ""
            fresh = {b: PlacedItems(h) for b, h in hints.items()}
            for b, items in (lists or {}).items():  # keep the source positions it learnt
                for task_id, (position, _) in items.items.items():
                    if b in fresh and task_id in fresh[b].items:
                        fresh[b].add(task_id, position, fresh[b].items[task_id][1])
                if b in fresh:
                    fresh[b].absent |= items.absent - fresh[b].items.keys()
            # an anchor deleted at the destination is in no read: one read says so, or every
            # task placed by it would read the whole plan again
            fresh.setdefault(bucket, PlacedItems({})).missing(refs)
            self._task_places[plan] = fresh
        return self._task_places[plan].setdefault(bucket, PlacedItems({}))

    async def _write_task(self, task_id: str, record: Task, refs: DestRefs, marker: str) -> tuple[Adaptation, ...]:
        record = await self._parent_named(record, refs)
        inputs = await self._task_inputs(record, refs)
        existing = await self.directory.task(task_id)
        body = task_fields(
            record, bucket_id=refs.section, categories=inputs[0], assignee_ids=inputs[1], existing=existing
        )
        where = (existing.plan_id, refs.section or "", record.position)
        moved = (existing.bucket_id or "") != (refs.section or "") and refs.section is not None
        if where in self._unplaced or moved or (refs.reposition and (refs.after or refs.before)):
            # placed by source position, as a create places it: the source moved it (another
            # bucket, or another position: ``DestRefs.reposition``, also set when a create
            # may have stopped before placing it), or its create's answer was lost (tasks
            # placed since did not count it). Without a hint a task keeps the one it had in
            # its old bucket, which says nothing about its place in the new one.
            async with self._locks(f"tasks|{existing.plan_id}"):
                placed = await self._bucket_tasks(existing.plan_id, refs)
                for other in self._task_places.get(existing.plan_id, {}).values():
                    other.drop(task_id)  # it is placed anew (and may leave its bucket)
                body["orderHint"] = placed.hint_for(record.position, refs, task_id)
                patched = await self.client.patch_known(f"/planner/tasks/{task_id}", body, existing.etag)
                hint = patched.get("orderHint") if isinstance(patched, dict) else None
                placed.add(task_id, record.position, hint or body["orderHint"])
                self._unplaced.discard(where)
        else:
            await self.client.patch_known(f"/planner/tasks/{task_id}", body, existing.etag)
        await self._write_details(task_id, record, marker, inputs)
        return _merged_labels(record, refs)

    async def _write_details(
        self, task_id: str, record: Task, marker: str, inputs: tuple[list[str], list[str], list[str]]
    ) -> None:
        existing = PlannerTaskDetails.model_validate(await self.client.get_json(f"/planner/tasks/{task_id}/details"))
        text = record.description
        if inputs[2]:  # people the destination tenant does not know: keep their names
            line = "Assigned in the source to: " + ", ".join(inputs[2])
            text = f"{text.rstrip()}\n\n{line}" if text.strip() else line
        body: dict[str, Any] = {
            "description": with_footer(text, marker),
            "checklist": checklist_patch(record, existing),
        }
        if not body["checklist"]:
            del body["checklist"]
        # the etag of the read above (no second read); its answer's etag serves the task's
        # attachments, which change the same details
        written = await self.client.patch_known(f"/planner/tasks/{task_id}/details", body, existing.etag)
        self.uploads.remember_details(task_id, written)

    # -- reconciliation and deletes -------------------------------------------------------

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            if not refs.workspace:
                return None
            plans = await self.client.get_all(f"/groups/{refs.workspace}/planner/plans")
            return next((p["id"] for p in plans if p.get("title") == getattr(record, "name", None)), None)
        if kind is Kind.SECTION and refs.project:
            buckets = await self._buckets(refs.project)
            return next((b.id for b in buckets if b.name == getattr(record, "name", None)), None)
        if kind is Kind.LABEL and refs.project and isinstance(record, Label):
            record, _ = name_nameless_label(record)
            names = (await self._plan_details(refs.project)).category_descriptions
            held = label_category(names, record)
            return f"{refs.project}|{held}" if held else None
        if kind is Kind.TASK and refs.project:
            found = await self._find_task(refs.project, marker)
            if found is None and isinstance(record, Task):
                found = await self._adopt_unmarked(refs.project, record, refs, marker)
            return found
        if kind is Kind.COMMENT and refs.task:
            return await self.comments.find(refs.task, marker)
        if kind is Kind.ATTACHMENT and refs.task and isinstance(record, Attachment):
            return await self._find_reference(refs.task, record, marker)
        return None

    async def _find_task(self, plan_id: str, marker: str) -> str | None:
        for raw in await self.client.get_all(f"/planner/plans/{plan_id}/tasks"):
            if not raw.get("hasDescription"):
                continue
            details = await self.client.get_json(f"/planner/tasks/{raw['id']}/details")
            if find_marker(details.get("description")) == marker:
                return str(raw["id"])
        return None

    async def _adopt_unmarked(self, plan_id: str, record: Task, refs: DestRefs, marker: str) -> str | None:
        """A task whose create applied but whose answer was lost has no marker yet: the
        marker lives in the details, written after the task exists. Such a task is found
        by what the create wrote — this credential created it, its title and bucket, no
        description, checklist or reference — and claimed by writing the marker footer
        under the details' etag (a writer that loses that race looks at the next one), so
        the engine's update then finishes it instead of creating a second task."""
        me = await self.directory.creator_id()
        async with self._locks(f"adopt|{plan_id}"):
            for raw in await self.client.get_all(f"/planner/plans/{plan_id}/tasks"):
                task = PlannerTask.model_validate(raw)
                by = task.created_by
                creator = (by.user.id if by and by.user else None) or (
                    by.application.id if by and by.application else None
                )
                if (
                    task.has_description
                    or task.title != record.name[:255]
                    or (task.bucket_id or None) != (refs.section or None)
                    or raw.get("checklistItemCount")
                    or raw.get("referenceCount")
                    or creator != me
                ):
                    continue
                details = await self.client.get_json(f"/planner/tasks/{task.id}/details")
                if (details.get("description") or "").strip() or details.get("checklist"):
                    continue
                try:
                    await self.client.patch_if_match(
                        f"/planner/tasks/{task.id}/details",
                        {"description": with_footer("", marker)},
                        details["@odata.etag"],
                    )
                except ITEM_ERRORS as exc:
                    if status_of(exc) in (409, 412):
                        continue  # claimed by another writer meanwhile
                    raise
                return task.id
        return None

    async def _find_reference(self, task_id: str, record: Attachment, marker: str) -> str | None:
        try:
            details = await self.client.get_json(f"/planner/tasks/{task_id}/details")
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise
        keys = list((details.get("references") or {}).keys())
        if record.is_link:
            key = encode_reference_key(record.url or "")
            return f"{task_id}|{key}" if key in keys else None
        needle = marker_dir(marker)  # file paths hold it verbatim (no '.', ':' to encode)
        return next((f"{task_id}|{k}" for k in keys if needle in k), None)

    async def delete(self, kind: Kind, dest_id: str) -> None:
        if kind is Kind.PROJECT:
            await self.client.delete_etag(f"/planner/plans/{dest_id}")
        elif kind is Kind.SECTION:
            await self.client.delete_etag(f"/planner/buckets/{dest_id}")
            self._bucket_positions.pop(dest_id, None)
            for known in self._bucket_reads.values():
                known.pop(dest_id, None)
        elif kind is Kind.TASK:
            await self.client.delete_etag(f"/planner/tasks/{dest_id}")
        elif kind is Kind.LABEL:
            plan, _, key = dest_id.partition("|")
            await self._ignore_missing(f"/planner/plans/{plan}/details", {"categoryDescriptions": {key: None}})
        elif kind is Kind.ATTACHMENT:
            task, _, key = dest_id.partition("|")
            await self._ignore_missing(f"/planner/tasks/{task}/details", {"references": {key: None}})
        elif kind is Kind.COMMENT:
            raise SkippableItemError("Graph cannot delete a single post of a group thread")

    async def _ignore_missing(self, path: str, body: dict[str, Any]) -> None:
        try:
            await self.client.patch_etag(path, body)
        except ITEM_ERRORS as exc:
            if status_of(exc) != 404:
                raise


def label_category(names: dict[str, str | None], record: Label) -> str | None:
    """The category holding ``record`` by natural key: the category of its colour if it
    carries its name (a label without a Planner colour: the first category of its name).
    Never a same-named category of another colour: that is another label ("bug" red and
    "bug" orange are two labels)."""
    own = category_for_color(record.color)
    if own is None:
        return next((k for k in CATEGORY_KEYS if names.get(k) == record.name), None)
    return own if names.get(own) == record.name else None


def _merged_labels(record: Task, refs: DestRefs) -> tuple[Adaptation, ...]:
    """A note when two of the task's labels landed in one category (``label.merged``)."""
    dests = [refs.labels[ref.source_id] for ref in record.labels if ref.source_id in refs.labels]
    if len(set(dests)) == len(dests):
        return ()
    return (
        Adaptation(
            kind=Kind.TASK,
            code="task.labels_merged",
            loss=True,
            message="two of its labels share one Planner category (the plan's 25 categories are all used)",
        ),
    )
