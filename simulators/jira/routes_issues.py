"""Issues: search (``/search/jql`` with ``nextPageToken``), create/read/edit/delete,
transitions, comments and remote links."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from simulators.jira import jql, views
from simulators.jira.api import API, CtxDep, check_adf, int_param, json_body
from simulators.jira.issues import apply_fields, issue_type_for, project_of, transition
from simulators.jira.store import Comment, Issue, JiraError, RemoteLink

router = APIRouter(prefix=API)
BAD_TOKEN = "The provided next page token is invalid or expired."


def _fields_param(request: Request) -> list[str]:
    return request.query_params.getlist("fields")


def _search(
    ctx: CtxDep, query_text: str, token: str | None, max_results: int, fields: list[str] | None
) -> JSONResponse:
    query = jql.parse(query_text)
    if not query.clauses:
        raise JiraError(400, jql.UNBOUNDED)
    size = max(1, min(max_results, ctx.store.max_results_cap))
    wanted = views.wanted_fields(fields, ("id",))
    with ctx.store.lock:
        after: str | None = None
        if token is not None:
            held = ctx.store.search_tokens.get(token)
            if held is None or held[0] != query_text:
                raise JiraError(400, BAD_TOKEN)
            after = held[1]
        match = jql.matcher(ctx.store, query)

        def order(i: Issue) -> tuple[str, int]:
            return jql.key_order(i.key) if query.by_key else ("", int(i.id))

        ordered = sorted((i for i in ctx.store.issues.values() if match(i)), key=order, reverse=query.descending)
        if after is not None:  # resume after the last issue served (stable under inserts)
            last = ctx.store.issues.get(after)
            mark = order(last) if last is not None else ("", int(after))
            ordered = [i for i in ordered if (order(i) < mark if query.descending else order(i) > mark)]
        page = ordered[:size]
        body: dict[str, Any] = {
            "issues": [views.issue(ctx.base, ctx.store, i, wanted) for i in page],
            "isLast": len(ordered) <= size,
        }
        if not body["isLast"]:
            nxt = secrets.token_urlsafe(24)
            ctx.store.search_tokens[nxt] = (query_text, page[-1].id)
            body["nextPageToken"] = nxt
    return JSONResponse(body)


@router.get("/search/jql")
async def search_get(ctx: CtxDep, request: Request) -> JSONResponse:
    return _search(
        ctx,
        request.query_params.get("jql") or "",
        request.query_params.get("nextPageToken"),
        int_param(request, "maxResults", 50, low=1),
        _fields_param(request),
    )


@router.post("/search/jql")
async def search_post(ctx: CtxDep, request: Request) -> JSONResponse:
    body = await json_body(request)
    fields = body.get("fields")
    return _search(
        ctx,
        str(body.get("jql") or ""),
        body.get("nextPageToken"),
        int(body.get("maxResults") or 50),
        [str(f) for f in fields] if isinstance(fields, list) else None,
    )


@router.post("/issue")
async def create_issue(ctx: CtxDep, request: Request) -> JSONResponse:
    body = await json_body(request)
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise JiraError(400, "The fields must be an object.")
    with ctx.store.lock:
        project = project_of(ctx.store, fields.get("project"))
        type_id = issue_type_for(ctx.store, fields.get("issuetype"))
        if "summary" not in fields:
            raise JiraError(400, errors={"summary": "You must specify a summary of the issue."})
        now = ctx.store.now()
        issue = Issue(
            id=ctx.store.new_id(),
            key=f"{project.key}-{project.next_number}",
            project_id=project.id,
            type_id=type_id,
            summary="",
            status_id=project.statuses[0],
            priority_id=ctx.store.default_priority().id,
            reporter=ctx.account,
            created=now,
            updated=now,
        )
        apply_fields(
            ctx.store,
            issue,
            {k: v for k, v in fields.items() if k != "project" and k != "issuetype"},
            body.get("update"),
            creating=True,
        )
        if body.get("transition"):
            transition(ctx.store, issue, str((body["transition"] or {}).get("id") or ""))
        project.next_number += 1
        ctx.store.issues[issue.id] = issue
    return JSONResponse(
        {"id": issue.id, "key": issue.key, "self": f"{ctx.base}{API}/issue/{issue.id}"}, status_code=201
    )


@router.get("/issue/{id_or_key}")
async def get_issue(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        wanted = views.wanted_fields(_fields_param(request), views.ISSUE_FIELDS)
        return JSONResponse(views.issue(ctx.base, ctx.store, issue, wanted))


@router.put("/issue/{id_or_key}")
async def edit_issue(ctx: CtxDep, id_or_key: str, request: Request) -> Response:
    body = await json_body(request)
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        apply_fields(ctx.store, issue, body.get("fields") or {}, body.get("update"))
        if body.get("transition"):
            transition(ctx.store, issue, str((body["transition"] or {}).get("id") or ""))
        issue.updated = ctx.store.now()
        if request.query_params.get("returnIssue") == "true":
            return JSONResponse(views.issue(ctx.base, ctx.store, issue, set(views.ISSUE_FIELDS)))
    return Response(status_code=204)


@router.delete("/issue/{id_or_key}")
async def delete_issue(ctx: CtxDep, id_or_key: str, request: Request) -> Response:
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        if ctx.store.subtasks_of(issue.id) and request.query_params.get("deleteSubtasks") != "true":
            raise JiraError(400, "The issue has subtasks. To delete the issue, set deleteSubtasks to true.")
        ctx.store.delete_issue(issue)
    return Response(status_code=204)


# --- transitions ------------------------------------------------------------------------------


@router.get("/issue/{id_or_key}/transitions")
async def get_transitions(ctx: CtxDep, id_or_key: str) -> JSONResponse:
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        project = ctx.store.projects[issue.project_id]
        return JSONResponse(
            {
                "expand": "transitions",
                "transitions": [
                    {
                        "id": tid,
                        "name": st.name,
                        "to": views.status(ctx.base, st),
                        "hasScreen": False,
                        "isGlobal": True,
                        "isInitial": False,
                        "isAvailable": True,
                        "isConditional": False,
                        "isLooped": False,
                    }
                    for tid, st in ctx.store.transitions(project)
                ],
            }
        )


@router.post("/issue/{id_or_key}/transitions")
async def do_transition(ctx: CtxDep, id_or_key: str, request: Request) -> Response:
    body = await json_body(request)
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        tid = str((body.get("transition") or {}).get("id") or "")
        if not tid:
            raise JiraError(400, "Missing 'transition' identifier")
        transition(ctx.store, issue, tid)
        if body.get("fields"):
            apply_fields(ctx.store, issue, body["fields"], body.get("update"))
        issue.updated = ctx.store.now()
    return Response(status_code=204)


# --- comments ---------------------------------------------------------------------------------


def _comment(ctx: CtxDep, issue: Issue, cid: str) -> Comment:
    found = ctx.store.comments.get(cid)
    if found is None or found.issue_id != issue.id:
        raise JiraError(404, "Can not find a comment for the id: " + cid + ".")
    return found


@router.get("/issue/{id_or_key}/comment")
async def list_comments(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 100, low=1, high=100)
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        comments = sorted(
            (c for c in ctx.store.comments.values() if c.issue_id == issue.id),
            key=lambda c: (c.created, int(c.id)),
            reverse=request.query_params.get("orderBy") == "-created",
        )
        part = comments[start : start + size]
        return JSONResponse(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(comments),
                "comments": [views.comment(ctx.base, ctx.store, c) for c in part],
            }
        )


@router.post("/issue/{id_or_key}/comment")
async def add_comment(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    body = await json_body(request)
    doc = check_adf(body.get("body"), "comment")
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        now = ctx.store.now()
        c = Comment(ctx.store.new_id(), issue.id, doc, ctx.account, now, now)
        ctx.store.comments[c.id] = c
        issue.updated = now
        return JSONResponse(views.comment(ctx.base, ctx.store, c), status_code=201)


@router.get("/issue/{id_or_key}/comment/{cid}")
async def get_comment(ctx: CtxDep, id_or_key: str, cid: str) -> JSONResponse:
    with ctx.store.lock:
        return JSONResponse(views.comment(ctx.base, ctx.store, _comment(ctx, ctx.store.issue(id_or_key), cid)))


@router.put("/issue/{id_or_key}/comment/{cid}")
async def edit_comment(ctx: CtxDep, id_or_key: str, cid: str, request: Request) -> JSONResponse:
    body = await json_body(request)
    doc = check_adf(body.get("body"), "comment")
    with ctx.store.lock:
        c = _comment(ctx, ctx.store.issue(id_or_key), cid)
        c.body, c.updated = doc, ctx.store.now()
        return JSONResponse(views.comment(ctx.base, ctx.store, c))


@router.delete("/issue/{id_or_key}/comment/{cid}")
async def delete_comment(ctx: CtxDep, id_or_key: str, cid: str) -> Response:
    with ctx.store.lock:
        c = _comment(ctx, ctx.store.issue(id_or_key), cid)
        del ctx.store.comments[c.id]
    return Response(status_code=204)


# --- remote links (web links on an issue) -----------------------------------------------------


@router.get("/issue/{id_or_key}/remotelink")
async def list_links(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    global_id = request.query_params.get("globalId")
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        links = [
            views.remote_link(ctx.base, rl)
            for rl in ctx.store.remote_links.values()
            if rl.issue_id == issue.id and (global_id is None or rl.global_id == global_id)
        ]
    return JSONResponse(links)


@router.post("/issue/{id_or_key}/remotelink")
async def upsert_link(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    """Create a remote link, or update the issue's link with the same ``globalId``."""
    body = await json_body(request)
    obj = body.get("object") or {}
    url, title = obj.get("url"), obj.get("title")
    if not isinstance(url, str) or not url or not isinstance(title, str) or not title:
        raise JiraError(
            400,
            errors={"title": "Link title must be provided."} if not title else {"url": "Link URL must be provided."},
        )
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
        gid = body.get("globalId")
        link = next(
            (
                rl
                for rl in ctx.store.remote_links.values()
                if gid is not None and rl.issue_id == issue.id and rl.global_id == gid
            ),
            None,
        )
        status = 200
        if link is None:
            link = RemoteLink(ctx.store.new_id(), issue.id, url, title, gid)
            ctx.store.remote_links[link.id] = link
            status = 201
        link.url, link.title, link.relationship = url, title, body.get("relationship")
        issue.updated = ctx.store.now()
        return JSONResponse(
            {"id": int(link.id), "self": f"{ctx.base}{API}/issue/{issue.id}/remotelink/{link.id}"}, status_code=status
        )


def _link(ctx: CtxDep, issue: Issue, link_id: str) -> RemoteLink:
    link = ctx.store.remote_links.get(link_id)
    if link is None or link.issue_id != issue.id:
        raise JiraError(404, "No remote link with the given id.")
    return link


@router.get("/issue/{id_or_key}/remotelink/{link_id}")
async def get_link(ctx: CtxDep, id_or_key: str, link_id: str) -> JSONResponse:
    with ctx.store.lock:
        return JSONResponse(views.remote_link(ctx.base, _link(ctx, ctx.store.issue(id_or_key), link_id)))


@router.delete("/issue/{id_or_key}/remotelink/{link_id}")
async def delete_link(ctx: CtxDep, id_or_key: str, link_id: str) -> Response:
    with ctx.store.lock:
        del ctx.store.remote_links[_link(ctx, ctx.store.issue(id_or_key), link_id).id]
    return Response(status_code=204)
