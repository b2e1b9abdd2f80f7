"""Work item tracking routes: types and states, classification nodes, work items (create and
update by JSON Patch, get, list by ids, batch get, delete), WIQL and tags."""

from __future__ import annotations

import copy
import functools
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from simulators.azure_devops.auth import caller
from simulators.azure_devops.errors import AdoError, not_found_work_item
from simulators.azure_devops.fields import CHILD, FIELDS, MAX_BATCH, MAX_WIQL, PARENT, RANK_FIELDS
from simulators.azure_devops.routes_core import get_project
from simulators.azure_devops.state import SimState, origin, sim_state
from simulators.azure_devops.store import Identity, Node, Project, WorkItem, new_guid
from simulators.azure_devops.wiql import matches, parse
from simulators.azure_devops.workitems import (
    PatchContext,
    load,
    render,
    work_item_id_of,
    work_item_url,
)

router = APIRouter()
_NODE_BAD = re.compile(r"[\\/$?*:\"&<>#%|+\x00-\x1f]")
_STRUCTURES = {"areas": "area", "area": "area", "iterations": "iteration", "iteration": "iteration"}
_EXPANDS = {"none", "relations", "fields", "links", "all"}


def _collection(value: list[Any]) -> JSONResponse:
    return JSONResponse({"count": len(value), "value": value})


# --- types and states --------------------------------------------------------------------


def _type_fields(state: SimState, base: str, project: Project) -> list[dict[str, Any]]:
    """The fields of a type (``WorkItemTypeFieldInstance``): every field the simulator knows
    but the order field of the other processes."""
    rank = state.store.process_of(project).rank_field
    return [
        {
            "alwaysRequired": f.reference == "System.Title",
            "referenceName": f.reference,
            "name": f.name,
            "url": f"{base}/{state.store.organization}/_apis/wit/fields/{f.reference}",
        }
        for f in FIELDS.values()
        if f.reference not in RANK_FIELDS or f.reference == rank
    ]


def _type_body(state: SimState, base: str, project: Project, name: str) -> dict[str, Any]:
    wit = state.store.process_of(project).type(name)
    if wit is None:
        raise AdoError(404, f"VS402323: Work item type {name} does not exist.", "WorkItemTypeNotFoundException")
    return {
        "name": wit.name,
        "referenceName": wit.reference_name,
        "color": wit.color,
        "description": "",
        "isDisabled": False,
        "states": [{"name": s.name, "color": s.color, "category": s.category} for s in wit.states],
        "fields": _type_fields(state, base, project),
        "url": f"{base}/{state.store.organization}/{project.id}/_apis/wit/workItemTypes/{wit.name}",
    }


@router.get("/{organization}/{project}/_apis/wit/workitemtypes")
async def list_types(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    return _collection([_type_body(state, origin(request), proj, t.name) for t in state.store.process_of(proj).types])


@router.get("/{organization}/{project}/_apis/wit/workitemtypes/{type_name}")
async def get_type(
    project: str, type_name: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    return JSONResponse(_type_body(state, origin(request), get_project(state, project), type_name))


@router.get("/{organization}/{project}/_apis/wit/workitemtypes/{type_name}/states")
async def list_states(
    project: str, type_name: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    body = _type_body(state, origin(request), get_project(state, project), type_name)
    return _collection(body["states"])


# --- classification nodes ----------------------------------------------------------------


def _node_body(state: SimState, base: str, project: Project, node: Node, path: str, depth: int) -> dict[str, Any]:
    structure = "areas" if node.structure == "area" else "iterations"
    body: dict[str, Any] = {
        "id": node.id,
        "identifier": node.identifier,
        "name": node.name,
        "structureType": node.structure,
        "hasChildren": bool(node.children),
        "path": f"\\{path}",
        "url": f"{base}/{state.store.organization}/{project.id}/_apis/"
        f"wit/classificationNodes/{structure}" + "".join(f"/{p}" for p in path.split("\\")[2:]),
    }
    if node.attributes:
        body["attributes"] = dict(node.attributes)
    if depth > 0 and node.children:
        body["children"] = [_node_body(state, base, project, c, f"{path}\\{c.name}", depth - 1) for c in node.children]
    return body


def _structure(group: str) -> str:
    found = _STRUCTURES.get(group.lower())
    if found is None:
        raise AdoError(
            400, f"VS402361: The structure group '{group}' is not valid: use Areas or Iterations.", "ArgumentException"
        )
    return found


def _node_at(project: Project, structure: str, path: str) -> tuple[Node, str]:
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    node = project.root(structure).find(parts)
    if node is None:
        raise AdoError(
            404, f"VS402485: The node with path '{path}' does not exist.", "ClassificationNodeDoesNotExistException"
        )
    label = "Area" if structure == "area" else "Iteration"
    return node, "\\".join([project.name, label, *parts]) if parts else f"{project.name}\\{label}"


@router.get("/{organization}/{project}/_apis/wit/classificationnodes")
async def root_nodes(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    depth = int(request.query_params.get("$depth") or 0)
    return _collection(
        [
            _node_body(state, origin(request), proj, proj.area, f"{proj.name}\\Area", depth),
            _node_body(state, origin(request), proj, proj.iteration, f"{proj.name}\\Iteration", depth),
        ]
    )


@router.get("/{organization}/{project}/_apis/wit/classificationnodes/{group}")
@router.get("/{organization}/{project}/_apis/wit/classificationnodes/{group}/{path:path}")
async def get_node(
    project: str, group: str, request: Request, _: Annotated[Identity, Depends(caller)], path: str = ""
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    node, full = _node_at(proj, _structure(group), path)
    depth = int(request.query_params.get("$depth") or 0)
    return JSONResponse(_node_body(state, origin(request), proj, node, full, depth))


def _check_node_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > 255
        or _NODE_BAD.search(name)
        or name.strip() in (".", "..")
    ):
        raise AdoError(
            400,
            f"VS402366: The classification node name '{name}' is not valid: "
            'at most 255 characters, none of \\ / $ ? * : " & > < # % | +.',
            "ClassificationNodeInvalidNameException",
        )
    return name.strip()


@router.post("/{organization}/{project}/_apis/wit/classificationnodes/{group}")
@router.post("/{organization}/{project}/_apis/wit/classificationnodes/{group}/{path:path}")
async def create_node(
    project: str, group: str, request: Request, _: Annotated[Identity, Depends(caller)], path: str = ""
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    structure = _structure(group)
    body = await request.json()
    if not isinstance(body, dict):
        raise AdoError(400, "VS402366: The body must be a classification node.", "ArgumentException")
    name = _check_node_name(body.get("name"))
    with state.store.lock:
        parent, full = _node_at(proj, structure, path)
        if any(c.name.lower() == name.lower() for c in parent.children):
            raise AdoError(
                409,
                f"VS402371: Classification node name {name} is already in use "
                f"by a different child of parent classification node "
                f"{parent.identifier}. Choose a different name and try again.",
                "ClassificationNodeDuplicateNameException",
            )
        node = Node(state.store.new_node_id(), new_guid(), name, structure, attributes=body.get("attributes") or None)
        parent.children.append(node)
    return JSONResponse(_node_body(state, origin(request), proj, node, f"{full}\\{name}", 0), status_code=201)


@router.patch("/{organization}/{project}/_apis/wit/classificationnodes/{group}/{path:path}")
async def update_node(
    project: str, group: str, path: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    structure = _structure(group)
    body = await request.json()
    with state.store.lock:
        node, full = _node_at(proj, structure, path)
        if isinstance(body, dict) and "name" in body:
            old_path = _tree_value(proj, full)
            node.name = _check_node_name(body["name"])
            full = full.rsplit("\\", 1)[0] + f"\\{node.name}"
            _retag_paths(state, proj, structure, old_path, _tree_value(proj, full))
        if isinstance(body, dict) and body.get("attributes"):
            node.attributes = dict(body["attributes"])
    return JSONResponse(_node_body(state, origin(request), proj, node, full, 0))


def _tree_value(project: Project, full: str) -> str:
    """``Proj\\Area\\A\\B`` (node path) → ``Proj\\A\\B`` (the value of System.AreaPath)."""
    parts = full.split("\\")
    return "\\".join([project.name, *parts[2:]])


def _field_of(structure: str) -> str:
    return "System.AreaPath" if structure == "area" else "System.IterationPath"


def _retag_paths(state: SimState, project: Project, structure: str, old: str, new: str) -> None:
    field = _field_of(structure)
    for wi in state.store.work_items.values():
        value = wi.fields.get(field)
        if (
            wi.project_id == project.id
            and isinstance(value, str)
            and (value.lower() == old.lower() or value.lower().startswith(old.lower() + "\\"))
        ):
            wi.fields[field] = new + value[len(old) :]


@router.delete("/{organization}/{project}/_apis/wit/classificationnodes/{group}/{path:path}")
async def delete_node(
    project: str, group: str, path: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> Response:
    state = sim_state(request)
    proj = get_project(state, project)
    structure = _structure(group)
    with state.store.lock:
        node, full = _node_at(proj, structure, path)
        parent_path = "/".join(p for p in path.replace("\\", "/").split("/") if p)
        parent, _unused = _node_at(proj, structure, parent_path.rsplit("/", 1)[0] if "/" in parent_path else "")
        old = _tree_value(proj, full)
        field = _field_of(structure)
        used = [
            wi
            for wi in state.store.work_items.values()
            if wi.project_id == proj.id
            and not wi.deleted
            and str(wi.fields.get(field, "")).lower().startswith(old.lower())
            and (len(str(wi.fields.get(field))) == len(old) or str(wi.fields.get(field))[len(old)] == "\\")
        ]
        reclassify = request.query_params.get("$reclassifyId")
        target: str | None = None
        if reclassify:
            target = _path_of_id(proj, structure, int(reclassify))
            if target is None:
                raise AdoError(
                    400, f"VS402372: The reclassification node {reclassify} does not exist.", "ArgumentException"
                )
        elif used:
            raise AdoError(
                400,
                "VS402373: The node is in use by work items: give $reclassifyId to move them.",
                "ClassificationNodeInUseException",
            )
        for wi in used:
            wi.fields[field] = target
        parent.children = [c for c in parent.children if c is not node]
    return Response(status_code=204)


def _path_of_id(project: Project, structure: str, node_id: int) -> str | None:
    def walk(node: Node, trail: list[str]) -> str | None:
        if node.id == node_id:
            return "\\".join(trail)
        for child in node.children:
            found = walk(child, [*trail, child.name])
            if found:
                return found
        return None

    return walk(project.root(structure), [project.name])


# --- work items ----------------------------------------------------------------------------


def _expand(request: Request, value: Any = None) -> str:
    mode = str(value if value is not None else request.query_params.get("$expand") or "none")
    if mode.lower() not in _EXPANDS:
        raise AdoError(
            400,
            f"VS403437: '{mode}' is not a valid value of $expand (None, Relations, Fields, Links, All).",
            "ArgumentException",
        )
    return mode.lower()


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() == "true"


async def _patch_body(request: Request) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json-patch+json":
        raise AdoError(
            415,
            f'VS403420: The request indicated a Content-Type of "{ctype}" for '
            f'method type "{request.method}" which is not supported. Valid content '
            "types for this method are: application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
        )
    try:
        return await request.json()
    except ValueError:
        raise AdoError(
            400,
            "VS403420: You must pass a valid patch document in the body of the request.",
            "VssPropertyValidationException",
        ) from None


@router.post("/{organization}/{project}/_apis/wit/workitems/${type_name}")
async def create_work_item(
    project: str, type_name: str, request: Request, who: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    wit = state.store.process_of(proj).type(type_name)
    if wit is None:
        raise AdoError(404, f"VS402323: Work item type {type_name} does not exist.", "WorkItemTypeNotFoundException")
    ops = await _patch_body(request)
    expand = _expand(request)
    base = origin(request)
    with state.store.lock:
        ctx = PatchContext(state, proj, wit, who, bypass=_flag(request, "bypassRules"))
        wi = WorkItem(id=0, project_id=proj.id, rev=1, fields={"System.WorkItemType": wit.name})
        ctx.apply(wi, ops, creating=True)
        if _flag(request, "validateOnly"):
            return JSONResponse(render(state, base, wi, expand=expand))
        wi.id = state.store.new_work_item_id()
        # links added before the id existed point back at id 0: give them the real one
        for other in ctx.touched.values():
            for rel in other.relations:
                if work_item_id_of(rel.url) == 0:
                    rel.url = work_item_url("", state.store.organization, wi)
        ctx.commit(wi, creating=True)
    return JSONResponse(render(state, base, wi, expand=expand))


@router.patch("/{organization}/{project}/_apis/wit/workitems/{wid}")
async def update_work_item(
    project: str, wid: int, request: Request, who: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    ops = await _patch_body(request)
    expand = _expand(request)
    base = origin(request)
    with state.store.lock:
        current = load(state, proj, wid)
        wit = state.store.process_of(proj).type(str(current.fields["System.WorkItemType"]))
        assert wit is not None
        ctx = PatchContext(state, proj, wit, who, bypass=_flag(request, "bypassRules"))
        wi = copy.deepcopy(current)
        ctx.apply(wi, ops, creating=False)
        if _flag(request, "validateOnly"):
            return JSONResponse(render(state, base, wi, expand=expand))
        ctx.commit(wi, creating=False)
    return JSONResponse(render(state, base, wi, expand=expand))


@router.get("/{organization}/{project}/_apis/wit/workitems/{wid}")
async def get_work_item(
    project: str, wid: int, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    wi = load(state, proj, wid)
    fields = [f for f in request.query_params.get("fields", "").split(",") if f] or None
    return JSONResponse(render(state, origin(request), wi, expand=_expand(request), fields=fields))


@router.get("/{organization}/_apis/wit/workitems/{wid}")
async def get_work_item_by_url(wid: int, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    """The organization-level URL relations point at."""
    state = sim_state(request)
    return JSONResponse(render(state, origin(request), load(state, None, wid), expand=_expand(request)))


def _many(
    state: SimState, base: str, project: Project, ids: list[Any], fields: list[str] | None, expand: str, policy: str
) -> list[Any]:
    if not ids:
        raise AdoError(400, "VS403474: At least one work item id is required.", "ArgumentException")
    if len(ids) > MAX_BATCH:
        raise AdoError(
            400,
            f"VS403474: You requested {len(ids)} work items which exceeds the limit of {MAX_BATCH}",
            "WorkItemBatchLimitExceededException",
        )
    if fields and expand != "none":
        raise AdoError(
            400, "VS403437: The expand parameter can not be used with the fields parameter.", "ArgumentException"
        )
    for name in fields or []:
        if name.lower() not in FIELDS:
            raise AdoError(400, f"TF51535: Cannot find field {name}.", "WorkItemFieldInvalidException")
    out: list[Any] = []
    for raw in ids:
        try:
            wid = int(raw)
        except (TypeError, ValueError):
            raise AdoError(400, f"VS403474: '{raw}' is not a work item id.", "ArgumentException") from None
        wi = state.store.work_items.get(wid)
        if wi is None or wi.deleted or wi.project_id != project.id:
            if policy == "omit":
                out.append(None)
                continue
            raise not_found_work_item(wid)
        out.append(render(state, base, wi, expand=expand, fields=fields))
    return out


@router.get("/{organization}/{project}/_apis/wit/workitems")
async def list_work_items(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    ids = [i for i in request.query_params.get("ids", "").split(",") if i.strip()]
    fields = [f for f in request.query_params.get("fields", "").split(",") if f] or None
    policy = (request.query_params.get("errorPolicy") or "fail").lower()
    return _collection(_many(state, origin(request), proj, ids, fields, _expand(request), policy))


@router.post("/{organization}/{project}/_apis/wit/workitemsbatch")
async def batch(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
        raise AdoError(400, "VS403474: The body must be a WorkItemBatchGetRequest with ids.", "ArgumentException")
    fields = body.get("fields") or None
    policy = str(body.get("errorPolicy") or "fail").lower()
    return _collection(
        _many(state, origin(request), proj, body["ids"], fields, _expand(request, body.get("$expand")), policy)
    )


@router.delete("/{organization}/{project}/_apis/wit/workitems/{wid}")
async def delete_work_item(
    project: str, wid: int, request: Request, who: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    base = origin(request)
    with state.store.lock:
        wi = load(state, proj, wid)
        wi.deleted = True
        for other in state.store.work_items.values():
            if any(work_item_id_of(r.url) == wi.id and r.rel in (PARENT, CHILD) for r in other.relations):
                other.relations = [r for r in other.relations if work_item_id_of(r.url) != wi.id]
                other.rev += 1
                if not any(r.rel == PARENT for r in other.relations):
                    other.fields.pop("System.Parent", None)
        if _flag(request, "destroy"):
            del state.store.work_items[wid]
            state.store.comments.pop(wid, None)
    return JSONResponse(
        {
            "id": wi.id,
            "code": 200,
            "deletedBy": who.display_name,
            "deletedDate": state.now(),
            "name": wi.fields.get("System.Title"),
            "project": proj.name,
            "type": wi.fields.get("System.WorkItemType"),
            "url": f"{base}/{state.store.organization}/{proj.id}/_apis/wit/recyclebin/{wi.id}",
        }
    )


# --- WIQL ----------------------------------------------------------------------------------


@router.post("/{organization}/{project}/_apis/wit/wiql")
@router.post("/{organization}/{project}/{team}/_apis/wit/wiql")
async def wiql(
    project: str, request: Request, who: Annotated[Identity, Depends(caller)], team: str | None = None
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    body = await request.json()
    text = body.get("query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise AdoError(400, "VS402330: The query is empty.", "WiqlSyntaxException")
    query = parse(text)
    top_raw = request.query_params.get("$top")
    top = int(top_raw) if top_raw else None
    macros: dict[str, Any] = {"@project": proj.name, "@me": who.id}
    hits: list[WorkItem] = []
    for wi in list(state.store.work_items.values()):
        if wi.deleted or wi.project_id not in state.store.projects:
            continue
        values = dict(
            wi.fields,
            **{
                "System.Id": wi.id,
                "System.Rev": wi.rev,
                "System.TeamProject": state.store.projects[wi.project_id].name,
            },
        )
        if matches(query, values, macros):
            hits.append(wi)
    hits.sort(key=lambda w: w.id)
    for name, desc in reversed(query.order):
        hits.sort(key=functools.partial(_sort_key, name=name), reverse=desc)
    if top is None and len(hits) > MAX_WIQL:
        raise AdoError(
            400,
            f"VS402337: The number of work items returned exceeds the size "
            f"limit of {MAX_WIQL}. Change the query to return fewer items.",
            "WiqlQueryLimitExceededException",
        )
    if top is not None:
        hits = hits[: max(0, top)]
    base = origin(request)
    org = state.store.organization
    columns = [
        {"referenceName": f, "name": FIELDS[f.lower()].name, "url": f"{base}/{org}/_apis/wit/fields/{f}"}
        for f in query.fields
    ]
    return JSONResponse(
        {
            "queryType": "flat",
            "queryResultType": "workItem",
            "asOf": state.now(),
            "columns": columns,
            "sortColumns": [
                {
                    "field": {
                        "referenceName": n,
                        "name": FIELDS[n.lower()].name,
                        "url": f"{base}/{org}/_apis/wit/fields/{n}",
                    },
                    "descending": d,
                }
                for n, d in query.order
            ],
            "workItems": [{"id": w.id, "url": work_item_url(base, org, w)} for w in hits],
        }
    )


def _sort_key(wi: WorkItem, name: str) -> tuple[int, Any]:
    if name == "System.Id":
        return (0, wi.id)
    value = wi.fields.get(name)
    if value is None:
        return (1, "")
    return (0, value.lower() if isinstance(value, str) else value)


# --- tags ----------------------------------------------------------------------------------


def _tags_of(state: SimState, project: Project) -> list[str]:
    names: dict[str, str] = {}
    for wi in state.store.work_items.values():
        if wi.project_id == project.id and not wi.deleted:
            for tag in str(wi.fields.get("System.Tags") or "").split(";"):
                if tag.strip():
                    names.setdefault(tag.strip().lower(), tag.strip())
    for name in names:
        project.tags.setdefault(name, new_guid())
    return sorted(names.values(), key=str.lower)


@router.get("/{organization}/{project}/_apis/wit/tags")
async def list_tags(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    base = origin(request)
    names = _tags_of(state, proj)
    return _collection(
        [
            {
                "id": proj.tags[n.lower()],
                "name": n,
                "active": True,
                "url": f"{base}/{state.store.organization}/_apis/tags/{proj.tags[n.lower()]}",
            }
            for n in names
        ]
    )


@router.delete("/{organization}/{project}/_apis/wit/tags/{tag}")
async def delete_tag(project: str, tag: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> Response:
    """Removes the tag from every work item of the project (as the service does)."""
    state = sim_state(request)
    proj = get_project(state, project)
    with state.store.lock:
        names = {n.lower(): n for n in _tags_of(state, proj)}
        by_id = {v: k for k, v in proj.tags.items()}
        key = by_id.get(tag.lower(), tag.lower())
        if key not in names:
            raise AdoError(404, f"VS402625: Tag '{tag}' does not exist.", "TagNotFoundException")
        for wi in state.store.work_items.values():
            if wi.project_id == proj.id and wi.fields.get("System.Tags"):
                kept = [
                    t.strip()
                    for t in str(wi.fields["System.Tags"]).split(";")
                    if t.strip() and t.strip().lower() != key
                ]
                if kept:
                    wi.fields["System.Tags"] = "; ".join(kept)
                else:
                    wi.fields.pop("System.Tags")
        proj.tags.pop(key, None)
        proj.tag_names.pop(key, None)
    return Response(status_code=204)
