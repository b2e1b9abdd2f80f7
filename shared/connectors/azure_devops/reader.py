"""``AzureDevOpsReader``: canonical records out of one Azure DevOps project, page by page.

Scopes are project ids. Sections are the board's columns: the states of the project's work
item types (a task's section is its state; completion is the state's category). Labels are
the project's tags. Tasks are every work item of the project, found with WIQL by
ascending id (keyset paging: ``[System.Id] > last``) and read 200 at a time; a work item
whose parent has a larger id (linked after it was created) is held back to a second pass,
so a parent always comes before its children. Comments are listed per work item that has
any; attachments are the attached files and hyperlinks of each work item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.connectors.azure_devops import people
from shared.connectors.azure_devops.capabilities import azure_devops_capabilities
from shared.connectors.azure_devops.client import AdoClient, segment
from shared.connectors.azure_devops.mapping import (
    FIELDS,
    attachment_records,
    comment_record,
    label_record,
    project_record,
    state_sections,
    task_record,
)
from shared.connectors.kit.cursor import CursorCodec
from shared.contract.connector import Capabilities, Page
from shared.contract.model import AnyRecord, Attachment, Container, Kind, UserRef
from shared.errors import NotFoundError, SkippableItemError

#: API calls one ``read`` of comments may make (keeps a chunk short)
MAX_CALLS_PER_READ = 20
#: work items looked at per step of the comment and attachment walks
WALK_BATCH = 50


class _Offset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    i: int = 0


class _Tasks(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phase: int = 0  # 0: every work item but late children; 1: only late children
    after: int = 0  # the last work item id of the previous page
    late: bool = False  # phase 0 held back at least one late child


class _Comments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = 0  # work items up to this id are done
    pending: list[int] = []  # work items with comments still to list (ascending)
    token: str | None = None  # continuation token within pending[0]
    done: bool = False  # no more work items with comments after ``after``


class _Attachments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = 0  # work items up to this id are done
    skip: int = 0  # attachments of the next work item already read


OFFSETS = CursorCodec("Azure DevOps", _Offset)
TASKS = CursorCodec("Azure DevOps", _Tasks)
COMMENTS = CursorCodec("Azure DevOps", _Comments)
ATTACHMENTS = CursorCodec("Azure DevOps", _Attachments)


class AzureDevOpsReader:
    """Reads projects, areas (sections), tags (labels), work items, comments, attachments."""

    def __init__(self, client: AdoClient, *, capabilities: Capabilities | None = None) -> None:
        self.client = client
        self.capabilities = capabilities or azure_devops_capabilities()
        self._projects: dict[str, dict[str, Any]] = {}
        self._types: dict[str, list[dict[str, Any]]] = {}

    async def whoami(self) -> UserRef:
        return await self.client.whoami()

    async def list_containers(self) -> list[Container]:
        return await self.client.list_containers()

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """Team members of a project or of the organization (``PeopleLister``), fetched fresh."""
        return await people.list_people(self.client, scope)

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- what every page needs ----------------------------------------------------------------

    async def _project(self, scope: str) -> dict[str, Any]:
        if scope not in self._projects:
            self._projects[scope] = await self.client.get(f"_apis/projects/{segment(scope)}")
        return self._projects[scope]

    async def _work_item_types(self, scope: str) -> list[dict[str, Any]]:
        if scope not in self._types:
            body = await self.client.get(f"{segment(scope)}/_apis/wit/workitemtypes")
            self._types[scope] = list(body.get("value") or [])
        return self._types[scope]

    async def _state_categories(self, scope: str) -> dict[tuple[str, str], str]:
        return {
            (str(t["name"]).lower(), str(st["name"]).lower()): str(st.get("category") or "")
            for t in await self._work_item_types(scope)
            for st in t.get("states") or []
        }

    # --- read ------------------------------------------------------------------------------------

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        limit = max(1, min(limit, 200))
        if kind is Kind.PROJECT:
            return Page(records=(project_record(await self._project(scope), self.client.organization),))
        if kind is Kind.SECTION:
            columns = state_sections(await self._work_item_types(scope), scope)
            start = OFFSETS.load(cursor).i
            shown = columns[start : start + limit]
            end = start + len(shown)
            return Page(
                records=tuple(shown), next_cursor=OFFSETS.encode(_Offset(i=end)) if end < len(columns) else None
            )
        if kind is Kind.LABEL:
            body = await self.client.get(f"{segment(scope)}/_apis/wit/tags")
            names = sorted({str(t["name"]) for t in body.get("value") or []}, key=str.lower)
            start = OFFSETS.load(cursor).i
            part = names[start : start + limit]
            end = start + len(part)
            return Page(
                records=tuple(label_record(n, scope) for n in part),
                next_cursor=OFFSETS.encode(_Offset(i=end)) if end < len(names) else None,
            )
        if kind is Kind.TASK:
            return await self._tasks(scope, cursor, limit)
        if kind is Kind.COMMENT:
            return await self._comments(scope, cursor, limit)
        if kind is Kind.ATTACHMENT:
            return await self._attachments(scope, cursor, limit)
        raise SkippableItemError(f"Azure DevOps reader cannot read {kind}", status=400)

    async def _tasks(self, scope: str, cursor: str | None, limit: int) -> Page:
        st = TASKS.load(cursor)
        categories = await self._state_categories(scope)
        ids = await self.client.wiql(scope, f"[System.Id] > {st.after}", top=limit)
        items = await self.client.work_items(scope, ids, fields=FIELDS)
        records: list[AnyRecord] = []
        for item in items:
            parent = (item.get("fields") or {}).get("System.Parent")
            late = parent is not None and int(parent) > int(item["id"])
            if st.phase == 0 and late:
                st.late = True
                continue
            if st.phase == 1 and not late:
                continue
            records.append(task_record(item, scope, categories))
        if ids:
            st.after = ids[-1]
        if len(ids) < limit:  # this pass is over
            if st.phase == 0 and st.late:
                return Page(records=tuple(records), next_cursor=TASKS.encode(_Tasks(phase=1, after=0)))
            return Page(records=tuple(records))
        return Page(records=tuple(records), next_cursor=TASKS.encode(st))

    async def _comments(self, scope: str, cursor: str | None, limit: int) -> Page:
        st = COMMENTS.load(cursor)
        records: list[AnyRecord] = []
        for _ in range(MAX_CALLS_PER_READ):
            if len(records) >= limit:
                break
            if not st.pending:
                if st.done:
                    break
                ids = await self.client.wiql(
                    scope, f"[System.Id] > {st.after} AND [System.CommentCount] > 0", top=WALK_BATCH
                )
                st.pending = ids
                st.done = len(ids) < WALK_BATCH
                if not ids:
                    break
                continue
            wid = st.pending[0]
            try:
                page = await self.client.json(
                    "GET",
                    f"{segment(scope)}/_apis/wit/workItems/{wid}/comments",
                    preview=True,
                    params={"$top": min(200, limit - len(records)), "order": "asc", "continuationToken": st.token},
                )
            except NotFoundError:  # deleted since it was listed
                page = {}
            records.extend(
                comment_record(c, scope, str(wid)) for c in page.get("comments") or [] if not c.get("isDeleted")
            )
            st.token = page.get("continuationToken")
            if not st.token:
                st.after = st.pending.pop(0)
        if not st.pending and st.done:
            return Page(records=tuple(records))
        return Page(records=tuple(records), next_cursor=COMMENTS.encode(st))

    async def _attachments(self, scope: str, cursor: str | None, limit: int) -> Page:
        st = ATTACHMENTS.load(cursor)
        ids = await self.client.wiql(scope, f"[System.Id] > {st.after}", top=WALK_BATCH)
        items = await self.client.work_items(scope, ids, expand="relations")
        records: list[AnyRecord] = []
        for item in items:
            found = attachment_records(item, scope)[st.skip :]
            room = limit - len(records)
            if len(found) > room:
                records.extend(found[:room])
                st.skip += room
                return Page(records=tuple(records), next_cursor=ATTACHMENTS.encode(st))
            records.extend(found)
            st.after, st.skip = int(item["id"]), 0
        if ids:
            st.after = max(st.after, ids[-1])
        if len(ids) < WALK_BATCH:
            return Page(records=tuple(records))
        return Page(records=tuple(records), next_cursor=ATTACHMENTS.encode(st))

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream an attached file from its URL (the organization's host, authorised)."""
        if attachment.is_link or not attachment.url:
            raise SkippableItemError("a link attachment has no body", status=400)
        async for chunk in self.client.download(attachment.url):
            yield chunk
