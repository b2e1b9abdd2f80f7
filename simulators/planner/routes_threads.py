"""Group conversations: where Planner keeps task comments.

Planner has no comment resource: a task's `conversationThreadId` points at a thread of the
plan's Microsoft 365 group (https://learn.microsoft.com/graph/api/resources/conversationthread).
Creating a comment = create a thread (first comment) and set the task's conversationThreadId,
or reply to the existing thread. Posts are authored by the signed-in user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from simulators.planner.auth import graph_principal
from simulators.planner.errors import GraphError, bad_request, directory_not_found
from simulators.planner.odata import collection
from simulators.planner.state import SimState, sim_state
from simulators.planner.store import GRAPH_ROOT, Group, Post, Principal, Thread

router = APIRouter(prefix="/v1.0")
Caller = Depends(graph_principal)


def _group_for(state: SimState, group_id: str, who: Principal) -> Group:
    group = state.store.groups.get(group_id)
    if group is None:
        raise directory_not_found(group_id)
    if who.user_id is not None and who.user_id not in group.members:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return group


def _thread(state: SimState, group: Group, thread_id: str) -> Thread:
    thread = state.store.threads.get(thread_id)
    if thread is None or thread.group_id != group.id:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return thread


def _post_body(raw: Any) -> tuple[str, str]:
    if not isinstance(raw, dict) or not isinstance(raw.get("body"), dict):
        raise bad_request("A post needs a 'body' with 'contentType' and 'content'.", code="ErrorInvalidRequest")
    body = raw["body"]
    content_type = str(body.get("contentType", "html"))
    if content_type.lower() not in ("html", "text"):
        raise bad_request(f"Invalid contentType '{content_type}'.", code="ErrorInvalidRequest")
    content = body.get("content")
    if not isinstance(content, str):
        raise bad_request("The post body needs 'content'.", code="ErrorInvalidRequest")
    return content, content_type.lower()


def _new_post(state: SimState, thread: Thread, raw: Any, who: Principal) -> Post:
    content, content_type = _post_body(raw)
    post = Post(state.store.ids.planner(), thread.id, content, content_type, who.user_id, state.now())
    thread.posts.append(post)
    return post


@router.get("/groups/{group_id}/threads")
async def list_threads(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    group = _group_for(state, group_id, who)
    threads = [t for t in state.store.threads.values() if t.group_id == group.id]
    threads.sort(key=lambda t: t.posts[-1].created if t.posts else state.now(), reverse=True)
    items = [t.to_graph(state.store) for t in threads]
    return JSONResponse(collection(request, state, items, f"groups('{group_id}')/threads"))


@router.post("/groups/{group_id}/threads")
async def create_thread(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    group = _group_for(state, group_id, who)
    body = await request.json()
    topic = body.get("topic") if isinstance(body, dict) else None
    posts = body.get("posts") if isinstance(body, dict) else None
    if not isinstance(topic, str) or not isinstance(posts, list) or len(posts) != 1:
        raise bad_request("A new thread needs a 'topic' and exactly one post.", code="ErrorInvalidRequest")
    store = state.store
    thread = Thread(store.ids.planner(), group.id, topic, store.ids.planner())
    _new_post(state, thread, posts[0], who)
    store.threads[thread.id] = thread
    return JSONResponse(
        {"@odata.context": f"{GRAPH_ROOT}/$metadata#groups('{group_id}')/threads/$entity", **thread.to_graph(store)},
        status_code=201,
    )


@router.get("/groups/{group_id}/threads/{thread_id}")
async def get_thread(group_id: str, thread_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    thread = _thread(state, _group_for(state, group_id, who), thread_id)
    return JSONResponse(thread.to_graph(state.store))


@router.get("/groups/{group_id}/threads/{thread_id}/posts")
async def list_posts(group_id: str, thread_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    thread = _thread(state, _group_for(state, group_id, who), thread_id)
    items = [p.to_graph(state.store, thread.conversation_id) for p in thread.posts]
    context = f"groups('{group_id}')/threads('{thread_id}')/posts"
    return JSONResponse(collection(request, state, items, context))


@router.post("/groups/{group_id}/threads/{thread_id}/reply")
async def reply(group_id: str, thread_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    thread = _thread(state, _group_for(state, group_id, who), thread_id)
    body = await request.json()
    _new_post(state, thread, body.get("post") if isinstance(body, dict) else None, who)
    return Response(status_code=202)


@router.delete("/groups/{group_id}/threads/{thread_id}")
async def delete_thread(group_id: str, thread_id: str, request: Request, who: Principal = Caller) -> Response:
    """https://learn.microsoft.com/graph/api/conversationthread-delete: 204, its posts gone."""
    state = sim_state(request)
    thread = _thread(state, _group_for(state, group_id, who), thread_id)
    del state.store.threads[thread.id]
    return Response(status_code=204)
