"""Resumable walks over Asana listings, with cursors small enough for a queue message.

A position in a listing is the offset token that continues it (``ListPos.o``) plus the
absolute index it stands for (``ListPos.p``). Asana offset tokens expire
(https://developers.asana.com/docs/pagination); when one is refused, the walk re-reads the
listing from the start in pages of 100 up to index ``p`` and carries on from there, so a
checkpoint taken hours ago still resumes without repeating or skipping items. Each page is
one call of the kit's paginator (``AsanaClient.page``).

:class:`TaskWalk` visits every task of a project: top-level tasks in list order, then the
subtasks of each task after it (breadth first), so a parent always comes before its
subtasks, as the connector contract requires.

The positions are pydantic models so that the reader's ``CursorCodec`` validates a cursor
coming back (anything else is ``InvalidCursor``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.asana.client import PAGE_MAX, AsanaClient, OffsetExpiredError
from shared.contract.clock import Clock


class CursorState(BaseModel):
    """Base of the cursor models: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ListPos(CursorState):
    """Token ``o`` continuing a listing at absolute index ``p`` (None: from the start)."""

    o: str | None = None
    p: int = Field(default=0, ge=0)


async def fetch(
    client: AsanaClient, path: str, params: dict[str, Any], pos: ListPos, room: int
) -> tuple[list[dict[str, Any]], ListPos | None]:
    """Up to ``room`` items at ``pos`` and the position after them (None at the end)."""
    room = max(1, min(PAGE_MAX, room))
    if pos.o is not None or pos.p == 0:
        try:
            items, nxt = await client.page(path, params, pos.o, room)
            return items, (ListPos(o=nxt, p=pos.p + len(items)) if nxt else None)
        except OffsetExpiredError:
            pass
    token: str | None = None
    index = 0
    while True:  # re-walk from the start up to index p with fresh tokens
        items, nxt = await client.page(path, params, token, PAGE_MAX)
        if index + len(items) > pos.p:
            part = items[pos.p - index : pos.p - index + room]
            end = pos.p + len(part)
            if end < index + len(items):
                return part, ListPos(p=end)
            return part, (ListPos(o=nxt, p=end) if nxt else None)
        if nxt is None:
            return [], None
        token, index = nxt, index + len(items)


class TaskWalkState(CursorState):
    top: ListPos | None = Field(default_factory=ListPos)  # None: top-level list done
    queue: list[str] = Field(default_factory=list)  # tasks whose subtasks come next
    sub: ListPos = Field(default_factory=ListPos)  # position in queue[0]'s subtasks
    n: int = Field(default=0, ge=0)  # tasks emitted so far (their position)

    def done(self) -> bool:
        return self.top is None and not self.queue


#: At most this many tasks per listing call in a walk: the gids of tasks with subtasks wait
#: in the cursor, which must stay well under the queue message's 4 KiB cursor limit.
WALK_ROOM = 50


class TaskWalk:
    """Yields a project's tasks (raw dicts) in parent-first order, ``room`` at a time."""

    def __init__(self, client: AsanaClient, project_gid: str, opt_fields: str) -> None:
        self.client = client
        self.project = project_gid
        self.fields = opt_fields if "num_subtasks" in opt_fields else opt_fields + ",num_subtasks"

    async def step(self, st: TaskWalkState, room: int) -> list[dict[str, Any]]:
        """Take up to ``room`` tasks from one listing call (mutates ``st``)."""
        params = {"opt_fields": self.fields}
        room = min(room, WALK_ROOM)
        if st.queue:
            taken, after = await fetch(self.client, f"/tasks/{st.queue[0]}/subtasks", params, st.sub, room)
            if after is None:
                st.queue.pop(0)
                st.sub = ListPos()
            else:
                st.sub = after
        elif st.top is not None:
            taken, st.top = await fetch(self.client, f"/projects/{self.project}/tasks", params, st.top, room)
        else:
            return []
        st.queue.extend(t["gid"] for t in taken if t.get("num_subtasks"))
        st.n += len(taken)
        return taken


#: what the shared walk asks for: the tags feed the labels, the gids the comments and
#: attachments, ``modified_at`` the attachments a delta may skip (the walk adds
#: ``num_subtasks``)
SHARED_WALK_FIELDS = "tags,modified_at"


class WalkMemo:
    """The steps of one scope's task walk, kept by a reader for the phases after it.

    The labels scan, the comments and the attachments each walk the whole project (every
    top-level listing page and every subtask listing) in the same steps. A reader instance
    lives as long as its worker's runtime, so when one worker reads those phases of a scope
    it replays the labels scan's steps instead of listing again. A step is keyed by the
    cursor state it starts from, so a chunk resumed elsewhere simply walks (and its offset
    tokens, which differ, never match). Entries live for one run at most: the labels phase
    starts every run and ``forget``s the scope, and ``ttl_s`` bounds a run that skips it
    (a retry of some kinds only).
    """

    def __init__(self, clock: Clock, *, ttl_s: float = 900.0) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._steps: dict[str, tuple[float, dict[str, tuple[list[dict[str, Any]], str]]]] = {}

    def forget(self, scope: str) -> None:
        self._steps.pop(scope, None)

    def recall(self, scope: str, before: str) -> tuple[list[dict[str, Any]], TaskWalkState] | None:
        entry = self._steps.get(scope)
        if entry is None or self.clock.monotonic() - entry[0] > self.ttl_s:
            self._steps.pop(scope, None)
            return None
        step = entry[1].get(before)
        if step is None:
            return None
        return step[0], TaskWalkState.model_validate_json(step[1])

    def keep(self, scope: str, before: str, taken: list[dict[str, Any]], after: TaskWalkState) -> None:
        entry = self._steps.setdefault(scope, (self.clock.monotonic(), {}))
        entry[1][before] = (taken, after.model_dump_json())


async def shared_step(
    memo: WalkMemo, client: AsanaClient, scope: str, st: TaskWalkState
) -> tuple[list[dict[str, Any]], TaskWalkState]:
    """One ``WALK_ROOM`` step of the shared walk from ``st``: replayed when this reader took
    it before in this run, else listed (and kept). ``st`` is not changed."""
    before = st.model_dump_json()
    hit = memo.recall(scope, before)
    if hit is not None:
        return hit
    after = st.model_copy(deep=True)
    taken = await TaskWalk(client, scope, SHARED_WALK_FIELDS).step(after, WALK_ROOM)
    memo.keep(scope, before, taken, after)
    return taken, after
