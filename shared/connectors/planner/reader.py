"""PlannerReader: plans, buckets, categories, tasks (+ details), comments, references.

Scope = a plan id. Cursors are JSON: `{"url": <page URL>, "skip": n}` for Graph collections
(the page URL is the first request or an `@odata.nextLink`), and for comments/attachments
`{"tc": <task-page cursor>, "off": n}` (children of one page of 50 tasks at a time).
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from shared.connectors.planner.api_types import (
    DriveItem,
    GraphUser,
    GroupPost,
    PlannerBucket,
    PlannerPlanDetails,
    PlannerTask,
    PlannerTaskDetails,
)
from shared.connectors.planner.client import ITEM_ERRORS, status_of
from shared.connectors.planner.connection import PlannerBase
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
from shared.contract.model import AnyRecord, Attachment, Kind, UserRef
from shared.errors import SkippableItemError

CHILD_TASK_BATCH = 50
MAX_TOP = 999


def _load(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError as exc:
        raise SkippableItemError("invalid cursor") from exc
    if not isinstance(state, dict):
        raise SkippableItemError("invalid cursor")
    return state


def _dump(state: dict[str, Any] | None) -> str | None:
    return None if state is None else json.dumps(state, separators=(",", ":"))


class PlannerReader(PlannerBase):
    """Reads one plan at a time into canonical records."""

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        if kind is Kind.PROJECT:
            plan = await self.plan(scope, fresh=True)
            return Page(records=(plan_to_project(plan, await self._members(plan.group_id)),))
        if kind is Kind.SECTION:
            raw, nxt = await self._page(f"/planner/plans/{scope}/buckets", cursor, limit)
            return Page(records=tuple(bucket_to_section(PlannerBucket.model_validate(b), scope)
                                      for b in raw), next_cursor=nxt)
        if kind is Kind.LABEL:
            labels = plan_labels(scope, await self._plan_details(scope))
            offset = int(_load(cursor).get("off", 0))
            end = offset + limit
            return Page(records=tuple(labels[offset:end]),
                        next_cursor=_dump({"off": end}) if end < len(labels) else None)
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
        return self.graph.stream_download(f"/shares/{share_id(attachment.url)}/driveItem/content")

    # -- paging -----------------------------------------------------------------------

    async def _page(self, path: str, cursor: str | None,
                    limit: int) -> tuple[list[dict[str, Any]], str | None]:
        state = _load(cursor)
        url = state.get("url") or f"{path}?$top={max(1, min(limit, MAX_TOP))}"
        skip = int(state.get("skip", 0))
        data = await self.graph.get_json(str(url))
        values: list[dict[str, Any]] = data.get("value", [])
        items = values[skip:skip + limit]
        if skip + limit < len(values):
            return items, _dump({"url": url, "skip": skip + limit})
        link = data.get("@odata.nextLink")
        return items, _dump({"url": link, "skip": 0}) if link else None

    async def _children(self, scope: str, cursor: str | None, limit: int,
                        produce: Callable[[str, list[PlannerTask]], Awaitable[list[AnyRecord]]]
                        ) -> Page:
        state = _load(cursor)
        task_cursor: str | None = state.get("tc")
        offset = int(state.get("off", 0))
        while True:
            raw, next_tasks = await self._page(f"/planner/plans/{scope}/tasks", task_cursor,
                                               CHILD_TASK_BATCH)
            records = await produce(scope, [PlannerTask.model_validate(t) for t in raw])
            if offset + limit < len(records):
                return Page(records=tuple(records[offset:offset + limit]),
                            next_cursor=_dump({"tc": task_cursor, "off": offset + limit}))
            if records[offset:] or next_tasks is None:
                nxt = _dump({"tc": next_tasks, "off": 0}) if next_tasks else None
                return Page(records=tuple(records[offset:]), next_cursor=nxt)
            task_cursor, offset = next_tasks, 0

    # -- records ----------------------------------------------------------------------

    async def _members(self, group_id: str | None) -> tuple[UserRef, ...]:
        """The plan's people: members of its group (sorted by e-mail for a stable version)."""
        if not group_id:
            return ()
        raw = await self.graph.get_all(f"/groups/{group_id}/members",
                                       {"$select": "id,displayName,mail,userPrincipalName"})
        users = [GraphUser.model_validate(u) for u in raw
                 if u.get("@odata.type", "#microsoft.graph.user") == "#microsoft.graph.user"]
        refs = [UserRef(email=u.mail or u.user_principal_name, display_name=u.display_name,
                        source_id=u.id) for u in users]
        return tuple(sorted(refs, key=lambda r: (r.email or "", r.source_id or "")))

    async def _plan_details(self, plan_id: str) -> PlannerPlanDetails:
        raw = await self.graph.get_json(f"/planner/plans/{plan_id}/details")
        return PlannerPlanDetails.model_validate(raw)

    async def _details(self, task_id: str) -> PlannerTaskDetails:
        raw = await self.graph.get_json(f"/planner/tasks/{task_id}/details")
        return PlannerTaskDetails.model_validate(raw)

    async def _tasks(self, plan_id: str, raw: list[dict[str, Any]]) -> list[AnyRecord]:
        tasks = [PlannerTask.model_validate(t) for t in raw]
        details = await asyncio.gather(*(self._details(t.id) for t in tasks))
        names = {key: name for key, name in
                 (await self._plan_details(plan_id)).category_descriptions.items() if name}
        ids: set[str] = set()
        for task in tasks:
            ids.update(task.assignments)
            if task.created_by and task.created_by.user and task.created_by.user.id:
                ids.add(task.created_by.user.id)
        users = await self.users(ids)
        return [task_to_record(t, d, users, names) for t, d in zip(tasks, details, strict=True)]

    async def _comments(self, plan_id: str, tasks: list[PlannerTask]) -> list[AnyRecord]:
        threaded = [t for t in tasks if t.conversation_thread_id]
        if not threaded:
            return []
        group = await self.group_of(plan_id)

        async def posts(task: PlannerTask) -> list[AnyRecord]:
            try:
                raw = await self.graph.get_all(
                    f"/groups/{group}/threads/{task.conversation_thread_id}/posts")
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
            ordered = sorted(details.references.items(),
                             key=lambda kv: (kv[1].preview_priority or "", kv[0]))
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
            raw = await self.graph.get_json(f"/shares/{share_id(url)}/driveItem")
        except ITEM_ERRORS as exc:
            if status_of(exc) in (400, 403, 404):
                return None
            raise
        item = DriveItem.model_validate(raw)
        return item if item.file is not None else None
