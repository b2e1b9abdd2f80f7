"""``AsanaReader``: canonical records out of one Asana project, page by page.

Scopes are project gids. Labels are the workspace tags the project's tasks use (Asana tags
are workspace-wide). Comments are the ``comment`` stories of every task and subtask; system
stories are activity and are not migrated. Attachments hosted by Asana stream from their
presigned ``download_url``; other hosts (external links, Drive, Dropbox, ...) are links.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from shared.connectors.asana import account
from shared.connectors.asana import people as people_of
from shared.connectors.asana.api_types import (
    ATTACHMENT_FIELDS,
    PROJECT_FIELDS,
    STORY_FIELDS,
    TAG_FIELDS,
    TASK_FIELDS,
    USER_FIELDS,
    AsanaAttachment,
    AsanaProject,
    AsanaSection,
    AsanaStory,
    AsanaTag,
    AsanaTask,
    AsanaUser,
)
from shared.connectors.asana.capabilities import asana_capabilities
from shared.connectors.asana.client import VENDOR, AsanaClient
from shared.connectors.asana.mapping import (
    attachment_to_record,
    modified_token,
    project_to_record,
    section_to_record,
    story_to_comment,
    tag_to_label,
    task_to_record,
)
from shared.connectors.asana.walk import (
    CursorState,
    ListPos,
    TaskWalk,
    TaskWalkState,
    WalkMemo,
    fetch,
    shared_step,
)
from shared.connectors.kit.cursor import CursorCodec
from shared.contract.connector import Capabilities, ListedParents, Page
from shared.contract.model import AnyRecord, Attachment, Comment, Container, Kind, UserRef
from shared.errors import NotFoundError, SkippableItemError

#: API calls one ``read`` may make while looking for records (keeps a chunk short).
MAX_CALLS_PER_READ = 20
#: Child kinds whose listing a delta skips under a task whose ``modified_at`` has not moved
#: (``read_changed``). The spec (TaskResponse.modified_at) says an attachment added ("story
#: is created"; the simulator adds an ``attachment_added`` story) or trashed moves it. An
#: edited comment does not (no story is created), so comments are always listed.
SKIPPED_WHEN_UNCHANGED = frozenset({Kind.ATTACHMENT})
#: a presigned ``download_url`` from the attachment listing is used while younger than this
#: (Asana: valid for about two minutes); an older one is asked for again
FRESH_LINK_S = 60.0


class LabelsCursor(CursorState):
    i: int = Field(default=0, ge=0)  # index in the project's used tags


class ChildrenCursor(CursorState):
    """Comments or attachments: the task walk (None: done), the tasks whose children come
    next, the position in the first one's listing, and (attachments) each pending task's
    ``modified_at`` token as the walk read it ("" unknown; absent in older cursors)."""

    w: TaskWalkState | None = Field(default_factory=TaskWalkState)
    t: list[str] = Field(default_factory=list)
    c: ListPos = Field(default_factory=ListPos)
    v: list[str] = Field(default_factory=list)


SECTIONS = CursorCodec(VENDOR, ListPos)
LABELS = CursorCodec(VENDOR, LabelsCursor)
TASKS = CursorCodec(VENDOR, TaskWalkState)
CHILDREN = CursorCodec(VENDOR, ChildrenCursor)


class AsanaReader:
    """Reads projects, sections, labels (tags), tasks, comments and attachments."""

    def __init__(self, client: AsanaClient, *, capabilities: Capabilities | None = None):
        self.client = client
        self.capabilities = capabilities or asana_capabilities()
        self._labels: dict[str, list[AsanaTag]] = {}
        self._scope_ws: dict[str, str] = {}
        self._people: dict[str, dict[str, AsanaUser]] = {}
        self._memo = WalkMemo(client.pacer.clock)
        #: attachment gid → (download_url, when listed) of the last attachment page
        self._links: dict[str, tuple[str, float]] = {}

    async def whoami(self) -> UserRef:
        return await account.whoami(self.client)

    async def list_containers(self) -> list[Container]:
        return await account.list_containers(self.client)

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """Users of a workspace or members of a project (``PeopleLister``), fetched fresh."""
        return await people_of.list_people(self.client, scope)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _workspace_of(self, scope: str) -> str:
        if scope not in self._scope_ws:
            raw = await self.client.get(f"/projects/{scope}", opt_fields="workspace")
            self._scope_ws[scope] = str(raw["workspace"]["gid"])
        return self._scope_ws[scope]

    async def people(self, scope: str) -> dict[str, AsanaUser]:
        """Users of the scope's workspace by gid (nested users carry no e-mail)."""
        ws = await self._workspace_of(scope)
        if ws not in self._people:
            users = await self.client.get(f"/workspaces/{ws}/users", opt_fields=USER_FIELDS)
            self._people[ws] = {u["gid"]: AsanaUser.model_validate(u) for u in users or []}
        return self._people[ws]

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Up to ``limit`` records of ``kind`` in project ``scope`` (cursor from last page)."""
        limit = max(1, limit)
        if kind is Kind.PROJECT:
            raw = AsanaProject.model_validate(await self.client.get(f"/projects/{scope}", opt_fields=PROJECT_FIELDS))
            if raw.workspace is not None:  # no second GET for it later
                self._scope_ws[scope] = raw.workspace.gid
            project = project_to_record(raw, await self.people(scope))
            return Page(records=(project,))
        if kind is Kind.SECTION:
            return await self._sections(scope, cursor, limit)
        if kind is Kind.LABEL:
            return await self._labels_page(scope, cursor, limit)
        if kind is Kind.TASK:
            return await self._tasks(scope, cursor, limit)
        return await self._children(kind, scope, cursor, limit, None)

    async def read_changed(self, kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents) -> Page:
        """``read``; attachments (``SKIPPED_WHEN_UNCHANGED``) are not listed under a task
        whose ``modified_at`` is the one ``listed`` answers (``ChildSkipReader``)."""
        if kind not in SKIPPED_WHEN_UNCHANGED:
            return await self.read(kind, scope, cursor, limit)
        return await self._children(kind, scope, cursor, max(1, limit), listed)

    async def _sections(self, scope: str, cursor: str | None, limit: int) -> Page:
        pos = SECTIONS.load(cursor)
        taken, after = await fetch(self.client, f"/projects/{scope}/sections", {"opt_fields": "name"}, pos, limit)
        records = tuple(
            section_to_record(AsanaSection.model_validate(s), scope, pos.p + i) for i, s in enumerate(taken)
        )
        return Page(records=records, next_cursor=SECTIONS.encode(after))

    async def _labels_page(self, scope: str, cursor: str | None, limit: int) -> Page:
        # Tags used by the project's tasks: one scan when the phase starts (every run), then
        # sliced. The scan's steps are kept for the comments and attachments phases.
        if cursor is None or scope not in self._labels:
            self._memo.forget(scope)
            used: list[str] = []
            st = TaskWalkState()
            while not st.done():
                taken, st = await shared_step(self._memo, self.client, scope, st)
                for raw in taken:
                    used.extend(t.gid for t in AsanaTask.model_validate(raw).tags if t.gid not in used)
            ws = await self._workspace_of(scope)
            known = {
                t["gid"]: AsanaTag.model_validate(t)
                for t in await self.client.all(f"/workspaces/{ws}/tags", opt_fields=TAG_FIELDS)
            }
            self._labels[scope] = [known[g] for g in used if g in known]
        start = LABELS.load(cursor).i
        tags = self._labels[scope][start : start + limit]
        end = start + len(tags)
        nxt = LABELS.encode(LabelsCursor(i=end)) if end < len(self._labels[scope]) else None
        return Page(records=tuple(tag_to_label(t, scope) for t in tags), next_cursor=nxt)

    async def _tasks(self, scope: str, cursor: str | None, limit: int) -> Page:
        st = TASKS.load(cursor)
        walk = TaskWalk(self.client, scope, TASK_FIELDS)
        people = await self.people(scope)
        records: list[AnyRecord] = []
        for _ in range(MAX_CALLS_PER_READ):
            if st.done() or len(records) >= limit:
                break
            first = st.n
            taken = await walk.step(st, limit - len(records))
            records.extend(
                task_to_record(AsanaTask.model_validate(t), scope, first + i, people) for i, t in enumerate(taken)
            )
        return Page(records=tuple(records), next_cursor=None if st.done() else TASKS.encode(st))

    async def _children(
        self, kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents | None
    ) -> Page:
        """Comments or attachments: walk the tasks, list each task's children. With
        ``listed`` (attachments in a delta) a task whose ``modified_at`` token is the one the
        engine answers is left out; a task whose listing ends here is reported with the
        token the walk read before it was listed."""
        state = CHILDREN.load(cursor)
        walk_state, pending, pos = state.w, state.t, state.c
        versioned = kind in SKIPPED_WHEN_UNCHANGED
        tokens = state.v if versioned and len(state.v) == len(pending) else [""] * len(pending)
        people = await self.people(scope)
        records: list[AnyRecord] = []
        unchanged: list[str] = []
        complete: dict[str, str] = {}
        for _ in range(MAX_CALLS_PER_READ):
            if len(records) >= limit:
                break
            if not pending:
                if walk_state is None or walk_state.done():
                    walk_state = None
                    break
                taken, walk_state = await shared_step(self._memo, self.client, scope, walk_state)
                pending, tokens = await self._to_list(taken, versioned, listed, unchanged)
                if walk_state.done():
                    walk_state = None
                continue
            task = pending[0]
            path, params = self._child_listing(kind, task)
            page, after = await fetch(self.client, path, params, pos, limit - len(records))
            for raw in page:  # one raw item gives at most one record: the page always fits
                rec = self._child_record(kind, raw, scope, task, people)
                if rec is not None:
                    records.append(rec)
            if after is None:
                pending.pop(0)
                if token := tokens.pop(0):
                    complete[task] = token
                pos = ListPos()
            else:
                pos = after
        found = {"records": tuple(records), "unchanged_parents": tuple(unchanged), "listed_parents": complete}
        if walk_state is None and not pending:
            return Page(**found)
        nxt = ChildrenCursor(w=walk_state, t=pending, c=pos, v=tokens if versioned else [])
        return Page(**found, next_cursor=CHILDREN.encode(nxt))

    @staticmethod
    async def _to_list(
        taken: list[dict[str, Any]], versioned: bool, listed: ListedParents | None, unchanged: list[str]
    ) -> tuple[list[str], list[str]]:
        """The tasks of a walk step whose children must be listed, with their tokens; the
        others (their token is the engine's) go to ``unchanged``."""
        gids = [str(t["gid"]) for t in taken]
        tokens = [(modified_token(t.get("modified_at")) or "") if versioned else "" for t in taken]
        if listed is None or not gids:
            return gids, tokens
        answer = await listed([g for g, tok in zip(gids, tokens, strict=True) if tok])
        keep: list[tuple[str, str]] = []
        for gid, token in zip(gids, tokens, strict=True):
            if token and answer.get(gid) == token:
                unchanged.append(gid)
            else:
                keep.append((gid, token))
        return [g for g, _ in keep], [tok for _, tok in keep]

    @staticmethod
    def _child_listing(kind: Kind, task: str) -> tuple[str, dict[str, Any]]:
        if kind is Kind.COMMENT:
            return f"/tasks/{task}/stories", {"opt_fields": STORY_FIELDS}
        if kind is Kind.ATTACHMENT:
            return "/attachments", {"parent": task, "opt_fields": ATTACHMENT_FIELDS}
        raise SkippableItemError(f"asana reader cannot read {kind}", status=400)

    def _child_record(
        self, kind: Kind, raw: dict[str, Any], scope: str, task: str, people: dict[str, AsanaUser]
    ) -> Comment | Attachment | None:
        if kind is Kind.COMMENT:
            return story_to_comment(AsanaStory.model_validate(raw), scope, task, people)
        att = AsanaAttachment.model_validate(raw)
        if att.download_url:
            self._links[att.gid] = (att.download_url, self.client.pacer.clock.monotonic())
        return attachment_to_record(att, scope, task)

    def _fresh_link(self, gid: str) -> str | None:
        """The listed ``download_url`` of ``gid`` while it is fresh (each is used once)."""
        now = self.client.pacer.clock.monotonic()
        for stale in [g for g, (_, at) in self._links.items() if now - at > FRESH_LINK_S]:
            del self._links[stale]
        link = self._links.pop(gid, None)
        return link[0] if link else None

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream a file from its presigned ``download_url`` (valid ~2 minutes): the one the
        listing gave while it is fresh, else (or when that one is refused) a new one."""
        if attachment.is_link:
            raise SkippableItemError("a link attachment has no body", status=400)
        listed = self._fresh_link(attachment.source_id)
        if listed is not None:
            stream = self.client.download(listed)
            try:
                first = await anext(stream)
            except StopAsyncIteration:
                return  # an empty file
            except (SkippableItemError, NotFoundError):
                pass  # expired or gone meanwhile (the stream ended with it): ask Asana again
            else:
                yield first
                async for chunk in stream:
                    yield chunk
                return
        meta = AsanaAttachment.model_validate(
            await self.client.get(f"/attachments/{attachment.source_id}", opt_fields="download_url,host,size")
        )
        if not meta.download_url:
            raise SkippableItemError(
                f"attachment {attachment.source_id} has no download link (host {meta.host})", status=404
            )
        async for chunk in self.client.download(meta.download_url):
            yield chunk
