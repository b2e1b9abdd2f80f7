"""Users, workspaces, projects, sections and tags (paths as in asana_oas.yaml)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.asana.api import CtxDep, body_data, bool_param
from simulators.asana.models import bad_request

router = APIRouter()


# --- users and workspaces --------------------------------------------------------------------


@router.get("/users/{user_gid}")
async def get_user(user_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("user", ctx.store.user(user_gid, me=ctx.me))


@router.get("/users")
async def get_users(ctx: CtxDep) -> JSONResponse:
    ws = ctx.query.get("workspace")
    users = list(ctx.store.users.values())
    if ws:
        users = [ctx.store.users[u] for u in ctx.store.workspace(ws).user_gids]
    return ctx.page("user", users)


@router.get("/workspaces")
async def get_workspaces(ctx: CtxDep) -> JSONResponse:
    mine = ctx.store.users[ctx.me].workspace_gids
    return ctx.page("workspace", [ctx.store.workspaces[w] for w in mine])


@router.get("/workspaces/{workspace_gid}")
async def get_workspace(workspace_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("workspace", ctx.store.workspace(workspace_gid))


@router.get("/workspaces/{workspace_gid}/users")
async def get_workspace_users(workspace_gid: str, ctx: CtxDep) -> JSONResponse:
    # The spec gives this endpoint no `limit` and no `next_page`: it answers all users.
    ws = ctx.store.workspace(workspace_gid)
    users = [ctx.store.users[u] for u in ws.user_gids]
    return JSONResponse({"data": ctx.view.many("user", users, ctx.opt_fields)})


# --- projects --------------------------------------------------------------------------------


@router.get("/projects")
async def get_projects(ctx: CtxDep) -> JSONResponse:
    ws = ctx.query.get("workspace")
    if not ws:
        raise bad_request("workspace: Missing input")
    archived = bool_param(ctx.query.get("archived"), "archived")
    return ctx.page("project", ctx.store.projects_of(ws, archived))


@router.get("/workspaces/{workspace_gid}/projects")
async def get_workspace_projects(workspace_gid: str, ctx: CtxDep) -> JSONResponse:
    archived = bool_param(ctx.query.get("archived"), "archived")
    return ctx.page("project", ctx.store.projects_of(workspace_gid, archived))


@router.post("/projects")
async def create_project(request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        proj = ctx.store.create_project(ctx.me, data, None)
    return ctx.one("project", proj, 201)


@router.post("/workspaces/{workspace_gid}/projects")
async def create_workspace_project(workspace_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        proj = ctx.store.create_project(ctx.me, data, workspace_gid)
    return ctx.one("project", proj, 201)


@router.get("/projects/{project_gid}")
async def get_project(project_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("project", ctx.store.project(project_gid))


@router.put("/projects/{project_gid}")
async def update_project(project_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        proj = ctx.store.update_project(ctx.me, project_gid, data)
    return ctx.one("project", proj)


@router.delete("/projects/{project_gid}")
async def delete_project(project_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        ctx.store.delete_project(project_gid)
    return ctx.empty()


# --- sections --------------------------------------------------------------------------------


@router.get("/projects/{project_gid}/sections")
async def get_sections(project_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.page("section", ctx.store.live_sections(project_gid))


@router.post("/projects/{project_gid}/sections")
async def create_section(project_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        sec = ctx.store.create_section(project_gid, data)
    return ctx.one("section", sec, 201)


@router.get("/sections/{section_gid}")
async def get_section(section_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("section", ctx.store.section(section_gid))


@router.put("/sections/{section_gid}")
async def update_section(section_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        sec = ctx.store.update_section(section_gid, data)
    return ctx.one("section", sec)


@router.delete("/sections/{section_gid}")
async def delete_section(section_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        ctx.store.delete_section(section_gid)
    return ctx.empty()


# --- tags ------------------------------------------------------------------------------------


@router.get("/workspaces/{workspace_gid}/tags")
async def get_workspace_tags(workspace_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.page("tag", ctx.store.tags_of(workspace_gid))


@router.get("/tags")
async def get_tags(ctx: CtxDep) -> JSONResponse:
    ws = ctx.query.get("workspace")
    if not ws:
        raise bad_request("workspace: Missing input")
    return ctx.page("tag", ctx.store.tags_of(ws))


@router.post("/workspaces/{workspace_gid}/tags")
async def create_workspace_tag(workspace_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        tag = ctx.store.create_tag(ctx.me, data, workspace_gid)
    return ctx.one("tag", tag, 201)


@router.post("/tags")
async def create_tag(request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        tag = ctx.store.create_tag(ctx.me, data, None)
    return ctx.one("tag", tag, 201)


@router.get("/tags/{tag_gid}")
async def get_tag(tag_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("tag", ctx.store.tag(tag_gid))


@router.put("/tags/{tag_gid}")
async def update_tag(tag_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        tag = ctx.store.update_tag(tag_gid, data)
    return ctx.one("tag", tag)


@router.delete("/tags/{tag_gid}")
async def delete_tag(tag_gid: str, ctx: CtxDep) -> JSONResponse:
    with ctx.store.lock:
        ctx.store.tag(tag_gid).deleted = True
    return ctx.empty()
