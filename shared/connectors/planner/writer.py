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
from urllib.parse import quote

from shared.connectors.base import (
    MAX_CHUNK_BYTES,
    Adaptation,
    DestRefs,
    marker_footer,
)
from shared.connectors.planner.api_types import (
    GroupPost,
    PlannerBucket,
    PlannerPlanDetails,
    PlannerTask,
    PlannerTaskDetails,
)
from shared.connectors.planner.client import GRAPH_BASE_URL, ITEM_ERRORS, status_of
from shared.connectors.planner.connection import PlannerBase
from shared.connectors.planner.mapping import (
    CATEGORY_KEYS,
    CHECKLIST_NAME,
    checklist_patch,
    encode_reference_key,
    task_fields,
    text_to_html,
)
from shared.engine.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
)
from shared.errors import NotFoundError, SkippableItemError

SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024
#: upload-session fragments must be multiples of 320 KiB; 10 × 320 KiB stays under 4 MiB
FRAGMENT = 10 * 320 * 1024


def _marker_dir(marker: str) -> str:
    return marker.replace(":", "-")


_BAD_NAME_CHARS = set('"*:<>?/\\|')


def safe_file_name(name: str) -> str:
    """SharePoint refuses `" * : < > ? / \\ |` and leading/trailing spaces or dots in names."""
    cleaned = "".join("_" if ch in _BAD_NAME_CHARS or ord(ch) < 32 else ch for ch in name)
    cleaned = cleaned.strip(" .")
    return cleaned[:200] or "attachment"


class PlannerWriter(PlannerBase):
    """Writes canonical records into a Microsoft 365 group's plans."""

    # -- RecordAdapter ----------------------------------------------------------------

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        """Planner-only adaptations (pure): one checklist per task; plans have no description."""
        notes: list[Adaptation] = []
        if isinstance(record, Project) and record.description:
            notes.append(Adaptation(kind=kind, code="project.description_dropped",
                                    message="Planner plans have no description", loss=True))
            record = record.model_copy(update={"description": ""})
        if isinstance(record, Task) and len(record.checklists) > 1:
            items = tuple(
                ChecklistItem(source_id=f"{cl.source_id or n}/{item.source_id}",
                              name=f"{cl.name}: {item.name}", checked=item.checked,
                              position=float(i))
                for n, cl in enumerate(record.checklists)
                for i, item in enumerate(cl.items))
            record = record.model_copy(update={"checklists": (Checklist(name=CHECKLIST_NAME,
                                                                        items=items),)})
            notes.append(Adaptation(kind=kind, code="task.checklists_merged",
                                    message="several checklists merged into Planner's one "
                                            "checklist (items prefixed by list name)"))
        return record, notes

    # -- create / update ----------------------------------------------------------------

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str:
        if isinstance(record, Project):
            if not refs.workspace:
                raise SkippableItemError("a destination group (workspace) is required")
            body = {"title": record.name[:255],
                    "container": {"url": f"{GRAPH_BASE_URL}/groups/{refs.workspace}"}}
            return str((await self.graph.request("POST", "/planner/plans", json=body,
                                                 idempotent=False)).json()["id"])
        if isinstance(record, Section):
            plan = self._need(refs.project, "plan")
            last = max((b.order_hint or "" for b in await self._buckets(plan)), default="")
            body = {"name": record.name, "planId": plan, "orderHint": f"{last} !"}
            return str((await self.graph.request("POST", "/planner/buckets", json=body,
                                                 idempotent=False)).json()["id"])
        if isinstance(record, Label):
            return await self._put_label(self._need(refs.project, "plan"), record)
        if isinstance(record, Task):
            return await self._create_task(record, refs, marker)
        if isinstance(record, Comment):
            return await self._create_comment(record, refs, marker)
        raise SkippableItemError(f"planner cannot create {kind}")

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs,
                     marker: str) -> None:
        try:
            if isinstance(record, Project):
                await self.graph.patch_etag(f"/planner/plans/{dest_id}",
                                            {"title": record.name[:255]})
            elif isinstance(record, Section):
                await self.graph.patch_etag(f"/planner/buckets/{dest_id}", {"name": record.name})
            elif isinstance(record, Label):
                plan, _, key = dest_id.partition("|")
                await self.graph.patch_etag(f"/planner/plans/{plan}/details",
                                            {"categoryDescriptions": {key: record.name}})
            elif isinstance(record, Task):
                await self._write_task(dest_id, record, refs, marker)
            # Group posts cannot be edited through Graph: a changed comment stays as it was.
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                raise NotFoundError(f"{kind} {dest_id} is gone") from exc
            raise

    async def _need_task(self, task_id: str) -> PlannerTask:
        return PlannerTask.model_validate(await self.graph.get_json(f"/planner/tasks/{task_id}"))

    @staticmethod
    def _need(value: str | None, what: str) -> str:
        if not value:
            raise SkippableItemError(f"the destination {what} is not known yet")
        return value

    async def _buckets(self, plan_id: str) -> list[PlannerBucket]:
        raw = await self.graph.get_all(f"/planner/plans/{plan_id}/buckets")
        return [PlannerBucket.model_validate(b) for b in raw]

    async def _plan_details(self, plan_id: str) -> PlannerPlanDetails:
        raw = await self.graph.get_json(f"/planner/plans/{plan_id}/details")
        return PlannerPlanDetails.model_validate(raw)

    async def _put_label(self, plan_id: str, record: Label) -> str:
        details = await self._plan_details(plan_id)
        names = details.category_descriptions
        for key in CATEGORY_KEYS:
            if names.get(key) == record.name:
                return f"{plan_id}|{key}"
        free = next((k for k in CATEGORY_KEYS if not names.get(k)), None)
        if free is None:
            raise SkippableItemError("the plan already uses all 25 label categories")
        await self.graph.patch_etag(f"/planner/plans/{plan_id}/details",
                                    {"categoryDescriptions": {free: record.name}})
        return f"{plan_id}|{free}"

    async def _task_inputs(self, record: Task, refs: DestRefs
                           ) -> tuple[list[str], list[str], list[str]]:
        categories = [dest.partition("|")[2] for ref in record.labels
                      if (dest := refs.labels.get(ref.source_id))]
        ids: list[str] = []
        unknown: list[str] = []
        for person in record.assignees:
            uid = await self.user_id_for(person)
            if uid:
                ids.append(uid)
            else:
                unknown.append(person.label())
        return categories, ids, unknown

    async def _create_task(self, record: Task, refs: DestRefs, marker: str) -> str:
        plan = self._need(refs.project, "plan")
        inputs = await self._task_inputs(record, refs)
        body = task_fields(record, bucket_id=refs.section, categories=inputs[0],
                           assignee_ids=inputs[1])
        body["planId"] = plan
        created = await self.graph.request("POST", "/planner/tasks", json=body, idempotent=False)
        task_id = str(created.json()["id"])
        # The marker goes into the details, which exist only once the task does; a crash in
        # between leaves a task without marker (the engine's intent record narrows this).
        await self._write_details(task_id, record, marker, inputs)
        return task_id

    async def _write_task(self, task_id: str, record: Task, refs: DestRefs, marker: str) -> None:
        inputs = await self._task_inputs(record, refs)
        existing = await self._need_task(task_id)
        body = task_fields(record, bucket_id=refs.section, categories=inputs[0],
                           assignee_ids=inputs[1], existing=existing)
        await self.graph.patch_etag(f"/planner/tasks/{task_id}", body)
        await self._write_details(task_id, record, marker, inputs)

    async def _write_details(self, task_id: str, record: Task, marker: str,
                             inputs: tuple[list[str], list[str], list[str]]) -> None:
        existing = PlannerTaskDetails.model_validate(
            await self.graph.get_json(f"/planner/tasks/{task_id}/details"))
        text = record.description
        if inputs[2]:  # people the destination tenant does not know: keep their names
            line = "Assigned in the source to: " + ", ".join(inputs[2])
            text = f"{text.rstrip()}\n\n{line}" if text.strip() else line
        body: dict[str, Any] = {"description": text + marker_footer(marker),
                                "checklist": checklist_patch(record, existing)}
        if not body["checklist"]:
            del body["checklist"]
        await self.graph.patch_etag(f"/planner/tasks/{task_id}/details", body)

    # -- comments -------------------------------------------------------------------------

    async def _create_comment(self, record: Comment, refs: DestRefs, marker: str) -> str:
        task_id = self._need(refs.task, "task")
        task = await self._need_task(task_id)
        group = await self.group_of(task.plan_id)
        content = text_to_html(record.text + marker_footer(marker))
        post = {"body": {"contentType": "html", "content": content}}
        thread = task.conversation_thread_id
        if thread:
            await self.graph.request("POST", f"/groups/{group}/threads/{thread}/reply",
                                     json={"post": post}, idempotent=False)
        else:
            created = await self.graph.request(
                "POST", f"/groups/{group}/threads", idempotent=False,
                json={"topic": f'Comments on task "{task.title[:200]}"', "posts": [post]})
            thread = str(created.json()["id"])
            await self.graph.patch_etag(f"/planner/tasks/{task_id}",
                                        {"conversationThreadId": thread})
        found = await self._find_post(group, thread, marker)
        if found is None:
            raise SkippableItemError("the new comment was not found in its thread")
        return found

    async def _find_post(self, group: str, thread: str, marker: str) -> str | None:
        try:
            raw = await self.graph.get_all(f"/groups/{group}/threads/{thread}/posts")
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise
        for post in (GroupPost.model_validate(p) for p in raw):
            if marker in post.body.content:
                return f"{group}|{thread}|{post.id}"
        return None

    # -- attachments ----------------------------------------------------------------------

    async def upload_attachment(self, record: Attachment, refs: DestRefs, marker: str,
                                chunks: AsyncIterator[bytes] | None) -> str:
        task_id = self._need(refs.task, "task")
        if record.is_link or chunks is None:
            url = record.url or ""
            kind = "Other"
        else:
            task = await self._need_task(task_id)
            group = await self.group_of(task.plan_id)
            item = await self._upload(group, f"Ferry/{_marker_dir(marker)}/{safe_file_name(record.name)}",
                                      record, chunks)
            url = str(item["webUrl"])
            kind = "Other"
        key = encode_reference_key(url)
        ref = {"@odata.type": "#microsoft.graph.plannerExternalReference",
               "alias": record.name[:255], "type": kind}
        await self.graph.patch_etag(f"/planner/tasks/{task_id}/details",
                                    {"references": {key: ref}})
        return f"{task_id}|{key}"

    async def _upload(self, group: str, path: str, record: Attachment,
                      chunks: AsyncIterator[bytes]) -> dict[str, Any]:
        target = f"/groups/{group}/drive/root:/{quote(path)}"
        content_type = record.mime_type or "application/octet-stream"
        if record.size is not None and record.size <= SIMPLE_UPLOAD_MAX:
            return await self.graph.put_stream(f"{target}:/content", chunks, content_type,
                                               record.size)
        if record.size is None:
            raise SkippableItemError("a file of unknown size cannot be uploaded to SharePoint")
        session = await self.graph.request(
            "POST", f"{target}:/createUploadSession", idempotent=False,
            json={"item": {"@microsoft.graph.conflictBehavior": "replace"}})
        upload_url = str(session.json()["uploadUrl"])
        buffer = bytearray()
        sent = 0
        result: dict[str, Any] = {}
        async for chunk in chunks:
            buffer.extend(chunk)
            while len(buffer) >= FRAGMENT:  # at most one fragment + one chunk in memory
                part = bytes(buffer[:FRAGMENT])
                del buffer[:FRAGMENT]
                await self.graph.put_fragment(upload_url, part, sent, record.size)
                sent += len(part)
        if buffer or sent < record.size:
            last = await self.graph.put_fragment(upload_url, bytes(buffer), sent, record.size)
            result = last.json()
        if "webUrl" not in result:
            raise SkippableItemError("the upload session did not complete")
        assert MAX_CHUNK_BYTES >= FRAGMENT
        return result

    # -- reconciliation and deletes -------------------------------------------------------

    async def find_by_marker(self, kind: Kind, marker: str, record: Record,
                             refs: DestRefs) -> str | None:
        if kind is Kind.PROJECT:
            if not refs.workspace:
                return None
            plans = await self.graph.get_all(f"/groups/{refs.workspace}/planner/plans")
            return next((p["id"] for p in plans if p.get("title") == getattr(record, "name", None)),
                        None)
        if kind is Kind.SECTION and refs.project:
            buckets = await self._buckets(refs.project)
            return next((b.id for b in buckets if b.name == getattr(record, "name", None)), None)
        if kind is Kind.LABEL and refs.project:
            names = (await self._plan_details(refs.project)).category_descriptions
            return next((f"{refs.project}|{k}" for k in CATEGORY_KEYS
                         if names.get(k) == getattr(record, "name", None)), None)
        if kind is Kind.TASK and refs.project:
            return await self._find_task(refs.project, marker)
        if kind is Kind.COMMENT and refs.task:
            task = await self._task_or_none(refs.task)
            if task is None or not task.conversation_thread_id:
                return None
            return await self._find_post(await self.group_of(task.plan_id),
                                         task.conversation_thread_id, marker)
        if kind is Kind.ATTACHMENT and refs.task and isinstance(record, Attachment):
            return await self._find_reference(refs.task, record, marker)
        return None

    async def _task_or_none(self, task_id: str) -> PlannerTask | None:
        try:
            return await self._need_task(task_id)
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise

    async def _find_task(self, plan_id: str, marker: str) -> str | None:
        footer = marker_footer(marker)
        for raw in await self.graph.get_all(f"/planner/plans/{plan_id}/tasks"):
            if not raw.get("hasDescription"):
                continue
            details = await self.graph.get_json(f"/planner/tasks/{raw['id']}/details")
            if footer in (details.get("description") or ""):
                return str(raw["id"])
        return None

    async def _find_reference(self, task_id: str, record: Attachment, marker: str) -> str | None:
        try:
            details = await self.graph.get_json(f"/planner/tasks/{task_id}/details")
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise
        keys = list((details.get("references") or {}).keys())
        if record.is_link:
            key = encode_reference_key(record.url or "")
            return f"{task_id}|{key}" if key in keys else None
        needle = _marker_dir(marker)  # file paths hold it verbatim (no '.', ':' to encode)
        return next((f"{task_id}|{k}" for k in keys if needle in k), None)

    async def delete(self, kind: Kind, dest_id: str) -> None:
        if kind is Kind.PROJECT:
            await self.graph.delete_etag(f"/planner/plans/{dest_id}")
        elif kind is Kind.SECTION:
            await self.graph.delete_etag(f"/planner/buckets/{dest_id}")
        elif kind is Kind.TASK:
            await self.graph.delete_etag(f"/planner/tasks/{dest_id}")
        elif kind is Kind.LABEL:
            plan, _, key = dest_id.partition("|")
            await self._ignore_missing(f"/planner/plans/{plan}/details",
                                       {"categoryDescriptions": {key: None}})
        elif kind is Kind.ATTACHMENT:
            task, _, key = dest_id.partition("|")
            await self._ignore_missing(f"/planner/tasks/{task}/details", {"references": {key: None}})
        elif kind is Kind.COMMENT:
            raise SkippableItemError("Graph cannot delete a single post of a group thread")

    async def _ignore_missing(self, path: str, body: dict[str, Any]) -> None:
        try:
            await self.graph.patch_etag(path, body)
        except ITEM_ERRORS as exc:
            if status_of(exc) != 404:
                raise
