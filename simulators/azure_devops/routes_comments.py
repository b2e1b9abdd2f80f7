"""Work item comments (``…/workItems/{id}/comments``, api-version ``7.1-preview.4``).

Listing pages with ``$top`` (at most 200) and ``continuationToken``; the answer is a
``CommentList`` with ``totalCount``, ``count``, ``comments`` and, when more follow,
``continuationToken`` and ``nextPage``. A comment is written by the caller at the time of
the call (``createdBy``/``createdDate`` cannot be set). ``ids=`` returns those comments.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from simulators.azure_devops.auth import preview_caller
from simulators.azure_devops.errors import AdoError
from simulators.azure_devops.routes_core import get_project
from simulators.azure_devops.state import SimState, origin, sim_state
from simulators.azure_devops.store import Comment, Identity, Project
from simulators.azure_devops.workitems import add_comment, load

router = APIRouter()
PAGE_MAX = 200
#: the service's limit on one comment's text (characters)
TEXT_MAX = 150_000
_PATH = "/{organization}/{project}/_apis/wit/workitems/{wid}/comments"


def comment_body(state: SimState, base: str, project: Project, c: Comment) -> dict[str, Any]:
    org = f"{base}/{state.store.organization}"
    author = state.store.identities.get(c.created_by)
    ref = author.ref(org) if author else None
    return {
        "workItemId": c.work_item_id,
        "id": c.id,
        "version": c.version,
        "text": c.text,
        "createdBy": ref,
        "createdDate": c.created,
        "modifiedBy": ref,
        "modifiedDate": c.modified,
        "isDeleted": c.deleted,
        "format": c.format,
        "renderedText": c.text,
        "mentions": [],
        "reactions": [],
        "url": f"{org}/{project.id}/_apis/wit/workItems/{c.work_item_id}/comments/{c.id}",
    }


def _text(body: Any) -> str:
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise AdoError(400, "VS403648: The comment text cannot be empty.", "ArgumentException")
    if len(text) > TEXT_MAX:
        raise AdoError(400, f"VS403649: The comment text exceeds {TEXT_MAX} characters.", "ArgumentException")
    return text


@router.get(_PATH)
async def list_comments(
    project: str, wid: int, request: Request, _: Annotated[Identity, Depends(preview_caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    wi = load(state, proj, wid)
    params = request.query_params
    include_deleted = params.get("includeDeleted", "").lower() == "true"
    every = [c for c in state.store.comments.get(wi.id, []) if include_deleted or not c.deleted]
    base = origin(request)
    if params.get("ids"):
        wanted = {int(i) for i in params["ids"].split(",") if i.strip().isdigit()}
        picked = [c for c in every if c.id in wanted]
        return JSONResponse(
            {
                "totalCount": len(every),
                "count": len(picked),
                "comments": [comment_body(state, base, proj, c) for c in picked],
            }
        )
    top = min(PAGE_MAX, max(1, int(params.get("$top") or PAGE_MAX)))
    if params.get("order", "asc").lower() == "desc":
        every = list(reversed(every))
    start = int(params.get("continuationToken") or 0)
    page = every[start : start + top]
    body: dict[str, Any] = {
        "totalCount": len(every),
        "count": len(page),
        "comments": [comment_body(state, base, proj, c) for c in page],
        "url": f"{base}{request.url.path}",
    }
    if start + top < len(every):
        token = str(start + top)
        body["continuationToken"] = token
        body["nextPage"] = (
            f"{base}{request.url.path}?continuationToken={token}&$top={top}&api-version={params.get('api-version')}"
        )
    return JSONResponse(body)


@router.post(_PATH)
async def create_comment(
    project: str, wid: int, request: Request, who: Annotated[Identity, Depends(preview_caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    text = _text(await request.json())
    fmt = (request.query_params.get("format") or "html").lower()
    if fmt not in ("html", "markdown"):
        raise AdoError(400, f"VS403650: '{fmt}' is not a comment format (html, markdown).", "ArgumentException")
    with state.store.lock:
        wi = load(state, proj, wid)
        comment = add_comment(state, wi, text, who, fmt)
        wi.rev += 1
    return JSONResponse(comment_body(state, origin(request), proj, comment))


def _find(state: SimState, wid: int, cid: int) -> Comment:
    found = next((c for c in state.store.comments.get(wid, []) if c.id == cid and not c.deleted), None)
    if found is None:
        raise AdoError(404, f"VS402625: Comment {cid} of work item {wid} does not exist.", "CommentNotFoundException")
    return found


@router.get(_PATH + "/{cid}")
async def get_comment(
    project: str, wid: int, cid: int, request: Request, _: Annotated[Identity, Depends(preview_caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    load(state, proj, wid)
    return JSONResponse(comment_body(state, origin(request), proj, _find(state, wid, cid)))


@router.patch(_PATH + "/{cid}")
async def update_comment(
    project: str, wid: int, cid: int, request: Request, _: Annotated[Identity, Depends(preview_caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    text = _text(await request.json())
    with state.store.lock:
        load(state, proj, wid)
        comment = _find(state, wid, cid)
        comment.text = text
        comment.version += 1
        comment.modified = state.now()
    return JSONResponse(comment_body(state, origin(request), proj, comment))


@router.delete(_PATH + "/{cid}")
async def delete_comment(
    project: str, wid: int, cid: int, request: Request, _: Annotated[Identity, Depends(preview_caller)]
) -> Response:
    state = sim_state(request)
    proj = get_project(state, project)
    with state.store.lock:
        wi = load(state, proj, wid)
        _find(state, wid, cid).deleted = True
        wi.fields["System.CommentCount"] = sum(1 for c in state.store.comments.get(wid, []) if not c.deleted)
    return Response(status_code=204)
