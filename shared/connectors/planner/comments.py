"""Comments of the Planner writer: posts in the group thread a task points at.

Planner has no comments: a task's ``conversationThreadId`` names a thread of the plan's
Microsoft 365 group (https://learn.microsoft.com/graph/api/resources/conversationthread). The
first comment makes the thread and links the task to it; later ones reply. Graph answers a
reply with 202 and no body, so the new post's id is read from the thread — in the same
``$batch`` as the reply. The task's thread is remembered, so a comment is one call once its
task has a thread.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.connectors.kit.errors import status_of
from shared.connectors.kit.markers import find_marker, with_footer
from shared.connectors.planner.api_types import GroupPost, PlannerTask
from shared.connectors.planner.client import ITEM_ERRORS, PlannerClient, Sub
from shared.connectors.planner.directory import Directory
from shared.connectors.planner.mapping import html_to_text, text_to_html
from shared.connectors.planner.placement import KeyedLocks, need, remember
from shared.contract.connector import DestRefs
from shared.contract.model import Comment
from shared.errors import NotFoundError, SkippableItemError


class Comments:
    """``create``, ``link`` (update) and ``find`` of comments; one comment per task at a
    time (see ``create``)."""

    def __init__(self, client: PlannerClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory
        self._locks = KeyedLocks()
        #: task id → title of a task this writer created without a comment thread
        self._threadless: dict[str, str] = {}
        #: task id → (group, thread) of the task's comments, as written or read
        self._threads: dict[str, tuple[str, str]] = {}

    def task_created(self, task_id: str, answer: dict[str, Any]) -> None:
        """Note a task the writer just created (its create answer): without a thread, its
        first comment can make one without reading the task first."""
        if not answer.get("conversationThreadId") and answer.get("title"):
            remember(self._threadless, task_id, str(answer["title"]))

    async def create(self, record: Comment, refs: DestRefs, marker: str) -> str:
        """A post in the task's thread (the thread made with the task's first comment).

        A reply and the read of the thread that finds the new post's id go in one ``$batch``;
        the thread of a task is remembered, so later comments need nothing else."""
        task_id = need(refs.task, "task")
        content = text_to_html(with_footer(record.text, marker))
        post = {"body": {"contentType": "html", "content": content}}
        # One comment per task at a time: comments written at once would each see no
        # conversationThreadId, each start a thread, and only the last set would be read back.
        async with self._locks(f"comments|{task_id}"):
            known = self._threads.get(task_id)
            if known is not None:
                try:
                    return await self._reply(*known, post, marker)
                except NotFoundError:
                    del self._threads[task_id]  # the thread was deleted: look at the task
            title = self._threadless.pop(task_id, None)
            if title is not None and refs.project:
                return await self._first_comment(task_id, title, refs.project, post, marker)
            task = await self.directory.task(task_id)
            group = await self.directory.group_of(task.plan_id)
            if task.conversation_thread_id:
                remember(self._threads, task_id, (group, task.conversation_thread_id))
                return await self._reply(group, task.conversation_thread_id, post, marker)
            return await self._start_thread(task, group, post, marker)

    async def _reply(self, group: str, thread: str, post: dict[str, Any], marker: str) -> str:
        _, posts = await self.client.chain(
            [
                Sub("POST", f"/groups/{group}/threads/{thread}/reply", {"post": post}),
                Sub("GET", f"/groups/{group}/threads/{thread}/posts"),
            ],
            idempotent=False,
        )
        return await self._new_post(group, thread, marker, posts)

    async def _start_thread(self, task: PlannerTask, group: str, post: dict[str, Any], marker: str) -> str:
        """A new thread for the task's first comment, linked to the task (under the etag of
        the task as just read) in one ``$batch`` with the read that finds the post."""
        created = await self.client.post(
            f"/groups/{group}/threads", {"topic": thread_topic(task.title), "posts": [post]}
        )
        return await self._link_new(task, group, str(created["id"]), marker)

    async def _first_comment(self, task_id: str, title: str, plan: str, post: dict[str, Any], marker: str) -> str:
        """The first comment of a task this writer created without a thread: the thread is
        made and the task read (for its etag, and to see that nobody started a thread since)
        in one ``$batch``, then linked as ``_start_thread`` does."""
        group = await self.directory.group_of(plan)
        made, read = await self.client.chain(
            [
                Sub("POST", f"/groups/{group}/threads", {"topic": thread_topic(title), "posts": [post]}),
                Sub("GET", f"/planner/tasks/{task_id}"),
            ],
            idempotent=False,
        )
        thread = str(made.json()["id"])
        if read.status_code == 404:  # the task is gone, and with it the use of its thread
            await self.client.api.delete(f"/groups/{group}/threads/{thread}")
            self.client.api.errors.check(read)
        task = PlannerTask.model_validate(read.json()) if read.status_code < 400 else await self.directory.task(task_id)
        if task.conversation_thread_id and task.conversation_thread_id != thread:
            # someone started the task's thread since this writer created the task: the
            # comment goes there, and the thread made here is removed
            await self.client.api.delete(f"/groups/{group}/threads/{thread}")
            remember(self._threads, task_id, (group, task.conversation_thread_id))
            return await self._reply(group, task.conversation_thread_id, post, marker)
        return await self._link_new(task, group, thread, marker)

    async def _link_new(self, task: PlannerTask, group: str, thread: str, marker: str) -> str:
        """Point the task at its new thread (under the etag of the task as read) in one
        ``$batch`` with the read that finds the post."""
        link = {"conversationThreadId": thread}
        posts: httpx.Response | None
        try:
            _, posts = await self.client.chain(
                [
                    Sub("PATCH", f"/planner/tasks/{task.id}", link, {"If-Match": task.etag}),
                    Sub("GET", f"/groups/{group}/threads/{thread}/posts"),
                ],
                idempotent=True,
            )
        except ITEM_ERRORS as exc:
            if status_of(exc) not in (409, 412):
                raise
            # the task changed since it was read: read it again and link (one try left)
            await self.client.patch_etag(f"/planner/tasks/{task.id}", link, attempts=2)
            posts = None
        remember(self._threads, task.id, (group, thread))
        return await self._new_post(group, thread, marker, posts)

    async def _new_post(self, group: str, thread: str, marker: str, posts: httpx.Response | None) -> str:
        """The id of the post carrying ``marker``: from the batched read of the thread when
        it answered and holds it, else read again (all pages)."""
        found = None
        if posts is not None and posts.status_code < 400:
            found = _post_with(posts.json().get("value", []), group, thread, marker)
        if found is None:
            found = await self.find_post(group, thread, marker)
        if found is None:
            raise SkippableItemError("the new comment was not found in its thread")
        return found

    async def link(self, task_id: str, comment_id: str) -> None:
        """Point a task without a comment thread at the thread of one of its comments."""
        thread = comment_id.split("|")[1] if comment_id.count("|") == 2 else ""
        async with self._locks(f"comments|{task_id}"):
            task = await self.directory.task(task_id)
            if thread and not task.conversation_thread_id:
                await self.client.patch_known(f"/planner/tasks/{task_id}", {"conversationThreadId": thread}, task.etag)
                remember(self._threads, task_id, (comment_id.split("|")[0], thread))

    async def find_post(self, group: str, thread: str, marker: str) -> str | None:
        try:
            raw = await self.client.get_all(f"/groups/{group}/threads/{thread}/posts")
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise
        return _post_with(raw, group, thread, marker)

    async def find(self, task_id: str, marker: str) -> str | None:
        """The comment carrying ``marker`` among the task's posts (or, when the task was not
        linked to its thread, in the group's thread of the task's topic)."""
        task = await self._task_or_none(task_id)
        if task is None:
            return None
        group = await self.directory.group_of(task.plan_id)
        if task.conversation_thread_id:
            return await self.find_post(group, task.conversation_thread_id, marker)
        # a thread made for the task's first comment whose link to the task was not
        # written: found by its topic (update then links it)
        for thread in await self.client.get_all(f"/groups/{group}/threads"):
            if thread.get("topic") == thread_topic(task.title):
                found = await self.find_post(group, str(thread["id"]), marker)
                if found is not None:
                    return found
        return None

    async def _task_or_none(self, task_id: str) -> PlannerTask | None:
        try:
            return await self.directory.task(task_id)
        except ITEM_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise


def _post_with(raw: list[dict[str, Any]], group: str, thread: str, marker: str) -> str | None:
    """The comment id of the post in ``raw`` whose text ends with ``marker``'s footer."""
    for post in (GroupPost.model_validate(p) for p in raw):
        if find_marker(html_to_text(post.body.content, post.body.content_type)) == marker:
            return f"{group}|{thread}|{post.id}"
    return None


def thread_topic(title: str) -> str:
    """The topic of the group thread that holds a task's comments."""
    return f'Comments on task "{title[:200]}"'
