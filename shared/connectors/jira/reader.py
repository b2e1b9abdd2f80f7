"""``JiraReader``: canonical records out of one Jira project, page by page.

Scopes are project ids. Sections are the statuses of the project's workflow in board order;
labels are the labels and components its issues use; tasks are its issues — standard types
first, then sub-task types, each in key order, so a parent always comes before its
sub-tasks. Comments and attachments (files and web links) are read issue by issue.

Positions are issue keys, not page tokens: a cursor says "after FER-41" (``key > "FER-41"``
in JQL, which compares keys by number), so a checkpoint stays valid for as long as the
project exists — ``nextPageToken``'s lifetime is not documented, and a chunk may resume
hours later. Page tokens walk the listings read whole in one call (labels, markers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.jira import people
from shared.connectors.jira.capabilities import jira_capabilities
from shared.connectors.jira.client import COMMENTS, PAGE_BEANS, JiraClient
from shared.connectors.jira.mapping import (
    TASK_FIELDS,
    attachment_to_record,
    comment_to_record,
    issue_labels,
    issue_to_task,
    label_record,
    link_to_record,
    project_to_record,
    status_to_section,
    user_ref,
)
from shared.connectors.kit.cursor import CursorCodec
from shared.contract.connector import Capabilities, Page
from shared.contract.model import AnyRecord, Attachment, Container, ContainerKind, Kind, UserRef
from shared.errors import SkippableItemError

#: issues asked for per search while walking comments or attachments
WALK_BATCH = 50
#: API calls one ``read`` may make while filling a page (keeps a chunk short)
MAX_CALLS_PER_READ = 20


class IndexCursor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    i: int = 0


class IssueCursor(BaseModel):
    """``p``: 0 standard issue types, 1 sub-task types; ``k``: last issue key done;
    ``s``: records of the next issue already given; ``n``: tasks given (their position)."""

    model_config = ConfigDict(extra="forbid")
    p: int = Field(default=0, ge=0, le=2)
    #: an issue key only: it goes into JQL
    k: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$")
    s: int = Field(default=0, ge=0)
    n: int = Field(default=0, ge=0)


INDEX = CursorCodec("Jira", IndexCursor)
ISSUES = CursorCodec("Jira", IssueCursor)


class JiraBase:
    """``whoami`` and ``list_containers``, shared by reader and writer."""

    def __init__(self, client: JiraClient, *, capabilities: Capabilities | None = None) -> None:
        self.client = client
        self.capabilities = capabilities or jira_capabilities()
        self._types: dict[str, tuple[list[str], list[str]]] = {}

    @property
    def site(self) -> str:
        """The workspace id: the site's host (one Jira site is one workspace)."""
        return self.client.site.split("://", 1)[-1]

    async def whoami(self) -> UserRef:
        ref = user_ref(await self.client.get("/myself"))
        if ref is None:
            raise SkippableItemError("Jira answered no account for the credential", status=500)
        return ref

    async def list_containers(self) -> list[Container]:
        """The site, and every project the account can browse in it."""
        out = [Container(id=self.site, name=self.site, kind=ContainerKind.WORKSPACE)]
        for p in await self.client.all(PAGE_BEANS, "/project/search", size=50):
            out.append(
                Container(
                    id=str(p["id"]),
                    name=str(p.get("name") or p.get("key")),
                    kind=ContainerKind.PROJECT,
                    parent_id=self.site,
                )
            )
        return out

    async def list_people(self, scope: str | None) -> list[UserRef]:
        """People assignable in a project or on the site (``PeopleLister``), fetched fresh."""
        return await people.list_people(self.client, self.site, scope)

    async def issue_types(self, project: str) -> tuple[list[str], list[str]]:
        """(standard type ids, sub-task type ids) of a project."""
        if project not in self._types:
            types = await self.client.get("/issuetype/project", projectId=project)
            self._types[project] = (
                [str(t["id"]) for t in types if not t.get("subtask")],
                [str(t["id"]) for t in types if t.get("subtask")],
            )
        return self._types[project]

    async def aclose(self) -> None:
        await self.client.aclose()


def _jql(project: str, types: list[str], after: str | None) -> str:
    clause = f"project = {project} AND issuetype in ({', '.join(types)})"
    if after:
        clause += f' AND key > "{after}"'
    return clause + " ORDER BY key ASC"


class JiraReader(JiraBase):
    """Reads projects, statuses (sections), labels, issues, comments and attachments."""

    def __init__(self, client: JiraClient, *, capabilities: Capabilities | None = None) -> None:
        super().__init__(client, capabilities=capabilities)
        self._labels: dict[str, list[tuple[str, str]]] = {}

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        limit = max(1, limit)
        if kind is Kind.PROJECT:
            raw = await self.client.get(f"/project/{scope}", expand="description,lead")
            return Page(records=(project_to_record(raw, self.site),))
        if kind is Kind.SECTION:
            return await self._sections(scope, cursor, limit)
        if kind is Kind.LABEL:
            return await self._label_page(scope, cursor, limit)
        if kind is Kind.TASK:
            return await self._tasks(scope, cursor, limit)
        return await self._children(kind, scope, cursor, limit)

    async def statuses(self, scope: str) -> list[dict[str, Any]]:
        """The project's workflow statuses in board order (each once)."""
        seen: dict[str, dict[str, Any]] = {}
        for issue_type in await self.client.get(f"/project/{scope}/statuses"):
            for status in issue_type.get("statuses") or []:
                seen.setdefault(str(status["id"]), status)
        return list(seen.values())

    async def _sections(self, scope: str, cursor: str | None, limit: int) -> Page:
        start = INDEX.load(cursor).i
        statuses = await self.statuses(scope)
        part = statuses[start : start + limit]
        end = start + len(part)
        return Page(
            records=tuple(status_to_section(s, scope, start + n) for n, s in enumerate(part)),
            next_cursor=INDEX.encode({"i": end}) if end < len(statuses) else None,
        )

    async def _label_page(self, scope: str, cursor: str | None, limit: int) -> Page:
        # The labels and components the project's issues use: one scan per reader, sliced.
        if scope not in self._labels:
            used: dict[str, str] = {}
            for issue in await self.client.search_all(f"project = {scope} ORDER BY key ASC", "labels,components"):
                for sid, name in issue_labels(issue.get("fields") or {}):
                    used.setdefault(sid, name)
            self._labels[scope] = list(used.items())
        start = INDEX.load(cursor).i
        part = self._labels[scope][start : start + limit]
        end = start + len(part)
        return Page(
            records=tuple(label_record(scope, sid, name) for sid, name in part),
            next_cursor=INDEX.encode({"i": end}) if end < len(self._labels[scope]) else None,
        )

    async def _tasks(self, scope: str, cursor: str | None, limit: int) -> Page:
        st = ISSUES.load(cursor)
        phases = await self.issue_types(scope)
        records: list[AnyRecord] = []
        for _ in range(MAX_CALLS_PER_READ):
            if st.p > 1 or len(records) >= limit:
                break
            if not phases[st.p]:
                st = IssueCursor(p=st.p + 1, n=st.n)
                continue
            room = limit - len(records)
            start = await self.client.start_date_field()
            wanted = f"{TASK_FIELDS},{start}" if start else TASK_FIELDS
            issues, last = await self.client.search(_jql(scope, phases[st.p], st.k), wanted, room)
            for issue in issues[:room]:
                records.append(issue_to_task(issue, scope, st.n, start))
                st.n += 1
                st.k = str(issue["key"])
            if last and len(issues) <= room:  # this phase is done
                st = IssueCursor(p=st.p + 1, n=st.n)
        done = st.p > 1
        return Page(records=tuple(records), next_cursor=None if done else ISSUES.encode(st))

    async def _children(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Comments or attachments, issue by issue (``s`` skips what a page already gave)."""
        st = ISSUES.load(cursor)
        phases = await self.issue_types(scope)
        field = "comment" if kind is Kind.COMMENT else "attachment"
        records: list[AnyRecord] = []
        calls = 0
        while st.p <= 1 and calls < MAX_CALLS_PER_READ:
            if not phases[st.p]:
                st = IssueCursor(p=st.p + 1)
                continue
            issues, last = await self.client.search(_jql(scope, phases[st.p], st.k), field, WALK_BATCH)
            calls += 1
            for issue in issues:
                items = (await self._items_of(kind, issue, scope))[st.s :]
                calls += 1 if kind is Kind.ATTACHMENT else 0
                room = limit - len(records)
                if len(items) > room:
                    records += items[:room]
                    st.s += room
                    return Page(records=tuple(records), next_cursor=ISSUES.encode(st))
                records += items
                st.k, st.s = str(issue["key"]), 0
                if len(records) == limit or calls >= MAX_CALLS_PER_READ:
                    return Page(records=tuple(records), next_cursor=ISSUES.encode(st))
            if last:
                st = IssueCursor(p=st.p + 1)
        done = st.p > 1
        return Page(records=tuple(records), next_cursor=None if done else ISSUES.encode(st))

    async def _items_of(self, kind: Kind, issue: dict[str, Any], scope: str) -> list[AnyRecord]:
        fields = issue.get("fields") or {}
        iid = str(issue["id"])
        if kind is Kind.COMMENT:
            page = fields.get("comment") or {}
            comments = list(page.get("comments") or [])
            if int(page.get("total") or 0) > len(comments):  # the embedded page is partial
                comments = await self.client.all(COMMENTS, f"/issue/{iid}/comment", orderBy="created")
            return [comment_to_record(c, scope, iid) for c in comments]
        if kind is Kind.ATTACHMENT:
            files = sorted(fields.get("attachment") or [], key=lambda a: int(a["id"]))
            links = await self.client.get(f"/issue/{iid}/remotelink")
            out: list[AnyRecord] = [attachment_to_record(a, scope, iid) for a in files]
            return out + [link_to_record(x, scope, iid) for x in links or []]
        raise SkippableItemError(f"the Jira reader cannot read {kind}", status=400)

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        if attachment.is_link:
            raise SkippableItemError("a link attachment has no body", status=400)
        async for chunk in self.client.download(attachment.source_id):
            yield chunk
