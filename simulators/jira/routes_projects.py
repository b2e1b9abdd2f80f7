"""Users, projects, their workflow statuses, components, priorities and issue types."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from simulators.jira import views
from simulators.jira.api import API, CtxDep, int_param, json_body
from simulators.jira.store import CATEGORY_BY_CREATE_NAME, Component, JiraError

router = APIRouter(prefix=API)
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9]{1,9}")


def _page(ctx: CtxDep, path: str, values: list[Any], start: int, size: int) -> dict[str, Any]:
    """A PageBean: ``values`` sliced at ``start`` with ``nextPage`` while more remain."""
    part = values[start : start + size]
    out: dict[str, Any] = {
        "self": f"{ctx.base}{API}{path}?startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": len(values),
        "isLast": start + len(part) >= len(values),
        "values": part,
    }
    if not out["isLast"]:
        out["nextPage"] = f"{ctx.base}{API}{path}?startAt={start + size}&maxResults={size}"
    return out


@router.get("/field")
async def fields(ctx: CtxDep) -> JSONResponse:
    """The site's fields (system and custom), as ``GET /field`` lists them."""
    return JSONResponse(views.fields())


@router.get("/myself")
async def myself(ctx: CtxDep) -> JSONResponse:
    return JSONResponse(views.user(ctx.base, ctx.me))


def _users(ctx: CtxDep, request: Request) -> JSONResponse:
    query = (request.query_params.get("query") or "").strip().lower()
    account = request.query_params.get("accountId")
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 50, low=1, high=1000)
    with ctx.store.lock:
        found = [
            u
            for u in ctx.store.users.values()
            if u.active
            and (account is None or u.account_id == account)
            and (not query or query in u.email.lower() or query in u.display_name.lower())
        ]
        return JSONResponse([views.user(ctx.base, u) for u in found[start : start + size]])


@router.get("/user/search")
async def user_search(ctx: CtxDep, request: Request) -> JSONResponse:
    """Users whose e-mail or display name contains ``query``, or the one ``accountId``."""
    if not request.query_params.get("query") and not request.query_params.get("accountId"):
        raise JiraError(400, "One of 'query' or 'accountId' query parameters must be provided.")
    return _users(ctx, request)


@router.get("/user/assignable/search")
async def assignable(ctx: CtxDep, request: Request) -> JSONResponse:
    """Every active user may be assigned in this simulator's projects."""
    if not (
        request.query_params.get("project")
        or request.query_params.get("issueKey")
        or request.query_params.get("issueId")
    ):
        raise JiraError(400, "A project, issue key or issue id is required.")
    if request.query_params.get("project"):
        with ctx.store.lock:
            ctx.store.project(request.query_params["project"])
    return _users(ctx, request)


@router.get("/project/search")
async def project_search(ctx: CtxDep, request: Request) -> JSONResponse:
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 50, low=1, high=100)
    query = (request.query_params.get("query") or "").lower()
    keys = set(request.query_params.getlist("keys"))
    with ctx.store.lock:
        found = [
            views.project(ctx.base, ctx.store, p)
            for p in ctx.store.projects.values()
            if (not query or query in p.name.lower() or query in p.key.lower())
            and (not keys or p.key in keys or p.id in keys)
        ]
        return JSONResponse(_page(ctx, "/project/search", found, start, size))


@router.post("/project")
async def create_project(ctx: CtxDep, request: Request) -> JSONResponse:
    body = await json_body(request)
    key, name = str(body.get("key") or ""), str(body.get("name") or "").strip()
    errors: dict[str, str] = {}
    if not _PROJECT_KEY.fullmatch(key):
        errors["projectKey"] = (
            "Project keys must start with an uppercase letter, followed by "
            "one or more uppercase alphanumeric characters."
        )
    if not name:
        errors["projectName"] = "You must specify a valid project name."
    lead = body.get("leadAccountId") or ctx.account
    with ctx.store.lock:
        if lead not in ctx.store.users:
            errors["projectLead"] = "The project lead specified does not exist."
        if any(p.name.lower() == name.lower() for p in ctx.store.projects.values()):
            errors["projectName"] = "A project with that name already exists."
        if errors:
            raise JiraError(400, errors=errors)
        project = ctx.store.add_project(key, name, lead, str(body.get("description") or ""))
        return JSONResponse(
            {"self": f"{ctx.base}{API}/project/{project.id}", "id": int(project.id), "key": project.key},
            status_code=201,
        )


@router.get("/project/{id_or_key}")
async def get_project(ctx: CtxDep, id_or_key: str) -> JSONResponse:
    with ctx.store.lock:
        return JSONResponse(views.project(ctx.base, ctx.store, ctx.store.project(id_or_key)))


@router.put("/project/{id_or_key}")
async def update_project(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    body = await json_body(request)
    with ctx.store.lock:
        project = ctx.store.project(id_or_key)
        if "name" in body:
            name = str(body["name"] or "").strip()
            if not name:
                raise JiraError(400, errors={"projectName": "You must specify a valid project name."})
            project.name = name
        if "description" in body:
            project.description = str(body["description"] or "")
        return JSONResponse(views.project(ctx.base, ctx.store, project))


@router.delete("/project/{id_or_key}")
async def delete_project(ctx: CtxDep, id_or_key: str) -> Response:
    with ctx.store.lock:
        ctx.store.delete_project(ctx.store.project(id_or_key))
    return Response(status_code=204)


@router.get("/project/{id_or_key}/statuses")
async def project_statuses(ctx: CtxDep, id_or_key: str) -> JSONResponse:
    """Every issue type of the project with the statuses of its workflow (board order)."""
    with ctx.store.lock:
        project = ctx.store.project(id_or_key)
        statuses = [views.status(ctx.base, ctx.store.statuses[s]) for s in project.statuses]
        return JSONResponse(
            [
                {
                    "self": f"{ctx.base}{API}/issuetype/{t.id}",
                    "id": t.id,
                    "name": t.name,
                    "subtask": t.subtask,
                    "statuses": statuses,
                }
                for t in ctx.store.issue_types.values()
            ]
        )


@router.get("/project/{id_or_key}/components")
async def project_components(ctx: CtxDep, id_or_key: str) -> JSONResponse:
    with ctx.store.lock:
        project = ctx.store.project(id_or_key)
        return JSONResponse(
            [views.component(ctx.base, c) for c in ctx.store.components.values() if c.project_id == project.id]
        )


@router.post("/component")
async def create_component(ctx: CtxDep, request: Request) -> JSONResponse:
    body = await json_body(request)
    name = str(body.get("name") or "").strip()
    if not name:
        raise JiraError(400, errors={"name": "The component name must not be empty."})
    with ctx.store.lock:
        project = ctx.store.project(str(body.get("project") or ""))
        if any(c.project_id == project.id and c.name.lower() == name.lower() for c in ctx.store.components.values()):
            raise JiraError(400, errors={"name": f"A component with the name {name} already exists in this project."})
        comp = Component(ctx.store.new_id(), project.id, name, str(body.get("description") or ""))
        ctx.store.components[comp.id] = comp
        return JSONResponse(views.component(ctx.base, comp), status_code=201)


@router.get("/component/{cid}")
async def get_component(ctx: CtxDep, cid: str) -> JSONResponse:
    with ctx.store.lock:
        comp = ctx.store.components.get(cid)
        if comp is None:
            raise JiraError(404, f"The component with id {cid} does not exist.")
        return JSONResponse(views.component(ctx.base, comp))


@router.delete("/component/{cid}")
async def delete_component(ctx: CtxDep, cid: str) -> Response:
    with ctx.store.lock:
        if ctx.store.components.pop(cid, None) is None:
            raise JiraError(404, f"The component with id {cid} does not exist.")
        for issue in ctx.store.issues.values():
            if cid in issue.components:
                issue.components.remove(cid)
    return Response(status_code=204)


@router.post("/statuses")
async def create_statuses(ctx: CtxDep, request: Request) -> JSONResponse:
    """Project-scoped statuses (team-managed projects): each joins the project's board as a
    column any issue may move to (a global transition), as adding a column does."""
    body = await json_body(request)
    scope = body.get("scope") or {}
    wanted = body.get("statuses")
    if scope.get("type") != "PROJECT" or not isinstance(wanted, list) or not wanted:
        raise JiraError(400, "Only PROJECT-scoped statuses with a project can be created here.")
    with ctx.store.lock:
        project = ctx.store.project(str((scope.get("project") or {}).get("id") or ""))
        created = []
        for item in wanted:
            name = str((item or {}).get("name") or "").strip()
            category = CATEGORY_BY_CREATE_NAME.get(str((item or {}).get("statusCategory")))
            if not name or category is None:
                raise JiraError(400, "A status needs a name and a statusCategory of TODO, IN_PROGRESS or DONE.")
            if len(name) > 255:
                raise JiraError(400, "The name is too long, maxSize=255")
            if any(ctx.store.statuses[s].name.lower() == name.lower() for s in project.statuses):
                raise JiraError(409, f"A status with the name '{name}' already exists in this project.")
            st = ctx.store.add_status(name, category, project.id)
            st.description = str(item.get("description") or "")
            project.statuses.append(st.id)
            created.append(
                {
                    "id": st.id,
                    "name": st.name,
                    "description": st.description,
                    "statusCategory": str(item["statusCategory"]),
                    "scope": {"type": "PROJECT", "project": {"id": project.id}},
                }
            )
        return JSONResponse(created)


@router.get("/priority/search")
async def priorities(ctx: CtxDep, request: Request) -> JSONResponse:
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 50, low=1, high=50)
    with ctx.store.lock:
        values = [views.priority(ctx.base, p) for p in ctx.store.priorities.values()]
    return JSONResponse(_page(ctx, "/priority/search", values, start, size))


@router.get("/issuetype/project")
async def issue_types(ctx: CtxDep, request: Request) -> JSONResponse:
    with ctx.store.lock:
        ctx.store.project(request.query_params.get("projectId") or "")
        return JSONResponse([views.issue_type(ctx.base, t) for t in ctx.store.issue_types.values()])
