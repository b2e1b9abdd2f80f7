"""PlannerReader: plans, buckets, categories, tasks (+ details), comments, references.

Scope = a plan id. Cursors (``CursorCodec``, anything else is ``InvalidCursor``):
``{"url": <next link>, "skip": n}`` for Graph collections (no ``url``: the first page), and
for comments/attachments ``{"tc": <task-page cursor>, "off": n}`` (the children of one page
of 50 tasks at a time); labels ``{"off": n}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.kit.cursor import CursorCodec
from shared.connectors.kit.errors import status_of
from shared.connectors.planner import people
from shared.connectors.planner.api_types import (
    DriveItem,
    GroupPost,
    PlannerBucket,
    PlannerPlanDetails,
    PlannerTask,
    PlannerTaskDetails,
)
from shared.connectors.planner.capabilities import planner_capabilities
from shared.connectors.planner.client import ITEM_ERRORS, PlannerClient
from shared.connectors.planner.directory import Directory
from shared.connectors.planner.mapping import (
    bucket_to_section,
    decode_reference_key,
    is_sharepoint_url,
    plan_labels,
    plan_to_project,
    post_to_comment,
    reference_to_attachment,
    share_id,
    task_to_record,
)
from shared.contract.connector import Page
from shared.contract.model import AnyRecord, Attachment, Container, Kind, UserRef
from shared.errors import SkippableItemError

CHILD_TASK_BATCH = 50
#: Graph's largest $top
MAX_TOP = 999


class _Cursor(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListCursor(_Cursor):
    """A position in a Graph collection: the page's link (None: the first page) and how
    many of its items were returned already."""

    url: str | None = None
    skip: int = Field(default=0, ge=0)


class OffsetCursor(_Cursor):
    off: int = Field(default=0, ge=0)


class ChildCursor(_Cursor):
    """Comments/attachments: the cursor of the page of tasks they belong to, and how many of
    that page's children were returned already."""

    tc: str | None = None
    off: int = Field(default=0, ge=0)


LIST = CursorCodec("Planner", ListCursor)
OFFSET = CursorCodec("Planner", OffsetCursor)
CHILDREN = CursorCodec("Planner", ChildCursor)

Produce = Callable[[str, list[PlannerTask]], Awaitable[list[AnyRecord]]]


class PlannerReader:
    """Reads one plan at a time into canonical records."""

    def __init__(self, client: PlannerClient) -> None:
        self.client = client
        self.directory = Directory(client)
        self.capabilities = planner_capabilities()

    async def whoami(self) -> UserRef:
        return await self.directory.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.directory.list_containers()

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """Members of a group or of a plan's group (``PeopleLister``), fetched fresh."""
        return await people.list_people(self.directory, scope)

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        if kind is Kind.PROJECT:
            plan = await self.directory.plan(scope, fresh=True)
            members = await self.directory.members(plan.group_id)
            return Page(records=(plan_to_project(plan, members),))
        if kind is Kind.SECTION:
            raw, nxt = await self._page(f"/planner/plans/{scope}/buckets", cursor, limit)
            return Page(
                records=tuple(bucket_to_section(PlannerBucket.model_validate(b), scope) for b in raw), next_cursor=nxt
            )
        if kind is Kind.LABEL:
            labels = plan_labels(scope, await self._plan_details(scope))
            offset = OffsetCursor.model_validate(OFFSET.decode(cursor)).off
            end = offset + limit
            return Page(
                records=tuple(labels[offset:end]),
                next_cursor=OFFSET.encode(OffsetCursor(off=end)) if end < len(labels) else None,
            )
        if kind is Kind.TASK:
            raw, nxt = await self._page(f"/planner/plans/{scope}/tasks", cursor, limit)
            return Page(records=tuple(await self._tasks(scope, raw)), next_cursor=nxt)
        if kind is Kind.COMMENT:
            return await self._children(scope, cursor, limit, self._comments)
        if kind is Kind.ATTACHMENT:
            return await self._children(scope, cursor, limit, self._attachments)
        raise SkippableItemError(f"planner cannot read {kind}")

    def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream a SharePoint file behind a reference (302 → pre-authenticated URL)."""
        if attachment.is_link or not attachment.url:
            raise SkippableItemError("a link attachment has no bytes to stream")
        return self.client.download(f"/shares/{share_id(attachment.url)}/driveItem/content")

    # -- paging -----------------------------------------------------------------------

    async def _page(self, path: str, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` items of a collection from ``cursor`` (a Graph page can hold more
        than one read's worth: ``skip`` counts what was returned of it)."""
        state = ListCursor.model_validate(LIST.decode(cursor))
        values, link = await self.client.page(path, state.url, max(1, min(limit, MAX_TOP)))
        items = values[state.skip : state.skip + limit]
        if state.skip + limit < len(values):
            return items, LIST.encode(ListCursor(url=state.url, skip=state.skip + limit))
        return items, LIST.encode(ListCursor(url=link)) if link else None

    async def _children(self, scope: str, cursor: str | None, limit: int, produce: Produce) -> Page:
        state = ChildCursor.model_validate(CHILDREN.decode(cursor))
        task_cursor, offset = state.tc, state.off
        while True:
            raw, next_tasks = await self._page(f"/planner/plans/{scope}/tasks", task_cursor, CHILD_TASK_BATCH)
            records = await produce(scope, [PlannerTask.model_validate(t) for t in raw])
            if offset + limit < len(records):
                return Page(
                    records=tuple(records[offset : offset + limit]),
                    next_cursor=CHILDREN.encode(ChildCursor(tc=task_cursor, off=offset + limit)),
                )
            if records[offset:] or next_tasks is None:
                nxt = CHILDREN.encode(ChildCursor(tc=next_tasks)) if next_tasks else None
                return Page(records=tuple(records[offset:]), next_cursor=nxt)
            task_cursor, offset = next_tasks, 0

    # -- records ----------------------------------------------------------------------

    async def _plan_details(self, plan_id: str) -> PlannerPlanDetails:
        raw = await self.client.get_json(f"/planner/plans/{plan_id}/details")
        return PlannerPlanDetails.model_validate(raw)

    async def _details(self, task_id: str) -> PlannerTaskDetails:
        raw = await self.client.get_json(f"/planner/tasks/{task_id}/details")
        return PlannerTaskDetails.model_validate(raw)

    async def _tasks(self, plan_id: str, raw: list[dict[str, Any]]) -> list[AnyRecord]:
        tasks = [PlannerTask.model_validate(t) for t in raw]
        details = await asyncio.gather(*(self._details(t.id) for t in tasks))
        names = {key: name for key, name in (await self._plan_details(plan_id)).category_descriptions.items() if name}
        ids: set[str] = set()
        for task in tasks:
            ids.update(task.assignments)
            if task.created_by and task.created_by.user and task.created_by.user.id:
                ids.add(task.created_by.user.id)
        users = await self.directory.users(ids)
        return [task_to_record(t, d, users, names) for t, d in zip(tasks, details, strict=True)]

    async def _comments(self, plan_id: str, tasks: list[PlannerTask]) -> list[AnyRecord]:
        threaded = [t for t in tasks if t.conversation_thread_id]
        if not threaded:
            return []
        group = await self.directory.group_of(plan_id)

        async def posts(task: PlannerTask) -> list[AnyRecord]:
            try:
                raw = await self.client.get_all(f"/groups/{group}/threads/{task.conversation_thread_id}/posts")
            except ITEM_ERRORS as exc:
                if status_of(exc) == 404:  # thread deleted from the group
                    return []
                raise
            found = [GroupPost.model_validate(p) for p in raw]
            found.sort(key=lambda p: (p.created is None, p.created, p.id))
            return [post_to_comment(p, plan_id, task.id) for p in found]

        batches = await asyncio.gather(*(posts(t) for t in threaded))
        return [rec for batch in batches for rec in batch]

    async def _attachments(self, plan_id: str, tasks: list[PlannerTask]) -> list[AnyRecord]:
        async def refs(task: PlannerTask) -> list[AnyRecord]:
            details = await self._details(task.id)
            ordered = sorted(details.references.items(), key=lambda kv: (kv[1].preview_priority or "", kv[0]))
            out: list[AnyRecord] = []
            for key, ref in ordered:
                url = decode_reference_key(key)
                item = await self._drive_item(url) if is_sharepoint_url(url) else None
                out.append(reference_to_attachment(task, key, ref, item))
            return out

        batches = await asyncio.gather(*(refs(t) for t in tasks))
        return [rec for batch in batches for rec in batch]

    async def _drive_item(self, url: str) -> DriveItem | None:
        """The file a SharePoint link points at, or None (gone, no access, a folder)."""
        try:
            raw = await self.client.get_json(f"/shares/{share_id(url)}/driveItem")
        except ITEM_ERRORS as exc:
            if status_of(exc) in (400, 403, 404):
                return None
            raise
        item = DriveItem.model_validate(raw)
        return item if item.file is not None else None
