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


class CursorState(BaseModel):
    """Base of the cursor models: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ListPos(CursorState):
    """Token ``o`` continuing a listing at absolute index ``p`` (None: from the start)."""

    o: str | None = None
    p: int = Field(default=0, ge=0)


async def fetch(client: AsanaClient, path: str, params: dict[str, Any], pos: ListPos,
                room: int) -> tuple[list[dict[str, Any]], ListPos | None]:
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
            part = items[pos.p - index:pos.p - index + room]
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
            taken, after = await fetch(self.client, f"/tasks/{st.queue[0]}/subtasks", params,
                                       st.sub, room)
            if after is None:
                st.queue.pop(0)
                st.sub = ListPos()
            else:
                st.sub = after
        elif st.top is not None:
            taken, st.top = await fetch(self.client, f"/projects/{self.project}/tasks", params,
                                        st.top, room)
        else:
            return []
        st.queue.extend(t["gid"] for t in taken if t.get("num_subtasks"))
        st.n += len(taken)
        return taken
