"""Custom fields and their settings on projects (paths as in asana_oas.yaml).

* ``GET /workspaces/{gid}/custom_fields`` (compact, paginated), ``POST /custom_fields``
  (``workspace``, ``name``, ``resource_subtype`` text/number/enum/date, ``enum_options``,
  ``precision``), ``GET /custom_fields/{gid}``, ``POST /custom_fields/{gid}/enum_options``.
  As documented: "A custom field's name must be unique within a workspace" — a second field
  of a name is a 400. ``multi_enum`` and ``people`` fields are not simulated (400).
* ``POST /projects/{gid}/addCustomFieldSetting`` (``custom_field``) and
  ``GET /projects/{gid}/custom_field_settings``. Adding a field the project already has is a
  400 here (the description does not say; the simulator refuses rather than duplicates).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.asana.api import CtxDep, body_data
from simulators.asana.custom_fields import add_custom_field
from simulators.asana.models import CustomField, bad_request, unknown_object

router = APIRouter()
SUBTYPES = ("text", "number", "enum", "date")
ENUM_COLORS = (
    "none",
    "red",
    "orange",
    "yellow-orange",
    "yellow",
    "yellow-green",
    "green",
    "blue-green",
    "aqua",
    "blue",
    "indigo",
    "purple",
    "magenta",
    "hot-pink",
    "pink",
    "cool-gray",
)


def _field(ctx: CtxDep, gid: str) -> CustomField:
    cf = ctx.store.custom_fields.get(gid)
    if cf is None or cf.workspace not in ctx.store.users[ctx.me].workspace_gids:
        raise unknown_object("custom_field", gid)
    return cf


@router.get("/workspaces/{workspace_gid}/custom_fields")
async def get_workspace_custom_fields(workspace_gid: str, ctx: CtxDep) -> JSONResponse:
    ctx.store.workspace(workspace_gid)
    return ctx.page("custom_field", [cf for cf in ctx.store.custom_fields.values() if cf.workspace == workspace_gid])


@router.post("/custom_fields")
async def create_custom_field(request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    workspace, name = str(data.get("workspace") or ""), str(data.get("name") or "").strip()
    subtype = data.get("resource_subtype") or data.get("type")
    if not workspace:
        raise bad_request("workspace: Missing input")
    ctx.store.workspace(workspace)
    if not name:
        raise bad_request("name: Missing input")
    if subtype not in SUBTYPES:
        raise bad_request(f"resource_subtype: {subtype!r} is not one of {', '.join(SUBTYPES)}")
    options = data.get("enum_options") or []
    if subtype == "enum" and not all(isinstance(o, dict) and str(o.get("name") or "").strip() for o in options):
        raise bad_request("enum_options: each option needs a name")
    with ctx.store.lock:
        if any(
            cf.workspace == workspace and cf.name.casefold() == name.casefold()
            for cf in ctx.store.custom_fields.values()
        ):
            raise bad_request(f"name: A custom field named {name!r} already exists in this workspace")
        cf = add_custom_field(
            ctx.store,
            workspace,
            name,
            subtype,
            options=[(str(o["name"]), str(o.get("color") or "none")) for o in options],
            precision=int(data.get("precision") or 0),
        )
    return ctx.one("custom_field", cf, 201)


@router.get("/custom_fields/{custom_field_gid}")
async def get_custom_field(custom_field_gid: str, ctx: CtxDep) -> JSONResponse:
    return ctx.one("custom_field", _field(ctx, custom_field_gid))


@router.post("/custom_fields/{custom_field_gid}/enum_options")
async def create_enum_option(custom_field_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    name, color = str(data.get("name") or "").strip(), str(data.get("color") or "none")
    with ctx.store.lock:
        cf = _field(ctx, custom_field_gid)
        if cf.resource_subtype != "enum":
            raise bad_request(f"custom_field: {cf.name} is not an enum field")
        if not name:
            raise bad_request("name: Missing input")
        if color not in ENUM_COLORS:
            raise bad_request(f"color: {color!r} is not a valid color")
        if len(cf.enum_options) >= 500:
            raise bad_request("enum_options: A custom field can have at most 500 enum options")
        option = (ctx.store.new_gid(), name, color)
        cf.enum_options.append(option)
    return JSONResponse({"data": ctx.view._option(option)}, status_code=201)


@router.post("/projects/{project_gid}/addCustomFieldSetting")
async def add_custom_field_setting(project_gid: str, request: Request, ctx: CtxDep) -> JSONResponse:
    data = await body_data(request)
    with ctx.store.lock:
        project = ctx.store.project(project_gid)
        cf = _field(ctx, str(data.get("custom_field") or ""))
        if cf.workspace != project.workspace:
            raise bad_request("custom_field: not a custom field of the project's workspace")
        settings = ctx.store.custom_field_settings.setdefault(project.gid, [])
        if any(f == cf.gid for _, _, f in settings):
            raise bad_request(f"custom_field: {cf.name} is already on this project")
        setting = (ctx.store.new_gid(), project.gid, cf.gid)
        settings.append(setting)
    return ctx.one("custom_field_setting", setting)


@router.get("/projects/{project_gid}/custom_field_settings")
async def get_custom_field_settings(project_gid: str, ctx: CtxDep) -> JSONResponse:
    project = ctx.store.project(project_gid)
    return ctx.page("custom_field_setting", list(ctx.store.custom_field_settings.get(project.gid, [])))
