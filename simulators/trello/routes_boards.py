"""Members, workspaces (organizations), boards, lists, labels and board collections."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.trello import render
from simulators.trello.access import (
    as_bool,
    as_pos,
    board_for,
    list_for,
    require_text,
    store_of,
)
from simulators.trello.auth import NOT_FOUND, TrelloError, current_member, params
from simulators.trello.ids import is_object_id
from simulators.trello.routes_cards import cards_page
from simulators.trello.store import LABEL_COLORS


def _show_email(request: Request, member_id: str) -> bool:
    return member_id == current_member(request).id or store_of(request).enterprise_managed


async def get_member(request: Request) -> Response:
    store = store_of(request)
    m = store.member_by_ref(request.path_params["id"], current_member(request))
    if m is None:
        raise TrelloError(404, "model not found")
    out = render.member(m, show_email=_show_email(request, m.id))
    out["idOrganizations"] = [o.id for o in store.orgs.values() if m.id in o.members]
    out["idBoards"] = [b.id for b in store.boards.values() if m.id in b.members]
    return JSONResponse(render.pick(out, request.query_params.get("fields")))


async def member_organizations(request: Request) -> Response:
    store = store_of(request)
    m = store.member_by_ref(request.path_params["id"], current_member(request))
    if m is None:
        raise TrelloError(404, "model not found")
    fields = request.query_params.get("fields")
    return JSONResponse(
        [render.pick(render.organization(o, store), fields) for o in store.orgs.values() if m.id in o.members]
    )


def _org(request: Request):
    store = store_of(request)
    ref = request.path_params["id"]
    org = store.orgs.get(ref) or next((o for o in store.orgs.values() if o.name == ref), None)
    if org is None:
        raise TrelloError(404, NOT_FOUND)
    if current_member(request).id not in org.members:
        raise TrelloError(401, "unauthorized organization access")
    return org


async def get_organization(request: Request) -> Response:
    return JSONResponse(render.organization(_org(request), store_of(request)))


async def organization_boards(request: Request) -> Response:
    store = store_of(request)
    org = _org(request)
    flt = request.query_params.get("filter", "all")
    me = current_member(request).id
    boards = [
        b
        for b in store.boards.values()
        if b.id_organization == org.id
        and store.can_see_board(me, b)
        and (flt in ("all", "") or (flt == "open") != b.closed)
    ]
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.board(b, store), fields) for b in boards])


async def organization_members(request: Request) -> Response:
    store = store_of(request)
    org = _org(request)
    return JSONResponse([render.member_brief(store.members[i]) for i in org.members])


async def create_board(request: Request) -> Response:
    store = store_of(request)
    p = await params(request)
    name = require_text(p.get("name"), "name")
    if not name.strip():
        raise TrelloError(400, "invalid value for name")
    me = current_member(request)
    id_org = p.get("idOrganization")
    if id_org and (id_org not in store.orgs or me.id not in store.orgs[id_org].members):
        raise TrelloError(400, "invalid value for idOrganization")
    board = store.add_board(name, me.id, id_org, desc=require_text(p.get("desc"), "desc"))
    if "prefs_permissionLevel" in p:
        board.permission_level = str(p["prefs_permissionLevel"])
    if p.get("defaultLists", True) not in (False, "false"):
        for lname in ("To Do", "Doing", "Done"):
            store.add_list(board.id, lname)
    if p.get("defaultLabels", True) not in (False, "false"):
        for color in LABEL_COLORS[:6]:
            store.add_label(board.id, "", color)
    return JSONResponse(render.board(board, store))


async def get_board(request: Request) -> Response:
    board = board_for(request, request.path_params["id"])
    out = render.board(board, store_of(request))
    return JSONResponse(render.pick(out, request.query_params.get("fields")))


async def update_board(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    p = await params(request)
    if "name" in p:
        board.name = require_text(p["name"], "name")
    if "desc" in p:
        board.desc = require_text(p["desc"], "desc")
    if "closed" in p:
        board.closed = as_bool(p["closed"], "closed")
    if "prefs/permissionLevel" in p:
        board.permission_level = str(p["prefs/permissionLevel"])
    board.last_activity = store.now()
    return JSONResponse(render.board(board, store))


async def board_lists(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    flt = request.query_params.get("filter", "open")
    lists = sorted((x for x in store.lists.values() if x.id_board == board.id), key=lambda x: x.pos)
    if flt == "open":
        lists = [x for x in lists if not x.closed]
    elif flt == "closed":
        lists = [x for x in lists if x.closed]
    elif flt != "all":
        raise TrelloError(400, "invalid value for filter")
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.tlist(x), fields) for x in lists])


async def create_list(request: Request) -> Response:
    store = store_of(request)
    p = await params(request)
    board_id = request.path_params.get("id") or str(p.get("idBoard", ""))
    if not is_object_id(board_id):
        raise TrelloError(400, "invalid value for idBoard")
    board = board_for(request, board_id)
    name = require_text(p.get("name"), "name")
    if not name.strip():
        raise TrelloError(400, "invalid value for name")
    lst = store.add_list(board.id, name, as_pos(p.get("pos")))
    return JSONResponse(render.tlist(lst))


async def get_list(request: Request) -> Response:
    return JSONResponse(render.tlist(list_for(request, request.path_params["id"])))


async def update_list(request: Request) -> Response:
    lst = list_for(request, request.path_params["id"])
    p = await params(request)
    if "name" in p:
        lst.name = require_text(p["name"], "name")
    if "closed" in p:
        lst.closed = as_bool(p["closed"], "closed")
    if "pos" in p:
        store = store_of(request)
        siblings = [x.pos for x in store.lists.values() if x.id_board == lst.id_board and x.id != lst.id]
        lst.pos = store.next_pos(siblings, as_pos(p["pos"]))
    return JSONResponse(render.tlist(lst))


async def board_labels(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    limit = int(request.query_params.get("limit", "50"))
    if not 0 <= limit <= 1000:
        raise TrelloError(400, "invalid value for limit")
    labels = [x for x in store.labels.values() if x.id_board == board.id][:limit]
    uses = {x.id: sum(1 for c in store.board_cards(board.id) if x.id in c.id_labels) for x in labels}
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.label(x, uses[x.id]), fields) for x in labels])


async def create_label(request: Request) -> Response:
    store = store_of(request)
    p = await params(request)
    board = board_for(request, request.path_params.get("id") or str(p.get("idBoard", "")))
    color = p.get("color")
    color = None if color in (None, "", "null") else str(color)
    if color is not None and color not in LABEL_COLORS:
        raise TrelloError(400, "invalid value for color")
    if "name" not in p:
        raise TrelloError(400, "invalid value for name")
    label = store.add_label(board.id, require_text(p["name"], "name"), color)
    return JSONResponse(render.label(label))


async def board_members(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    out = []
    for member_id in board.members:
        m = store.members[member_id]
        item = render.member_brief(m)
        if _show_email(request, m.id):
            item["email"] = m.email
        out.append(item)
    return JSONResponse(out)


async def board_checklists(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    return JSONResponse([render.checklist(cl) for cl in store.checklists.values() if cl.id_board == board.id])


async def board_cards(request: Request) -> Response:
    board = board_for(request, request.path_params["id"])
    flt = request.path_params.get("filter") or request.query_params.get("filter", "visible")
    return cards_page(request, board, flt)


routes = [
    Route("/1/members/{id}", get_member, methods=["GET"]),
    Route("/1/members/{id}/organizations", member_organizations, methods=["GET"]),
    Route("/1/organizations/{id}", get_organization, methods=["GET"]),
    Route("/1/organizations/{id}/boards", organization_boards, methods=["GET"]),
    Route("/1/organizations/{id}/members", organization_members, methods=["GET"]),
    Route("/1/boards", create_board, methods=["POST"]),
    Route("/1/boards/", create_board, methods=["POST"]),
    Route("/1/boards/{id}", get_board, methods=["GET"]),
    Route("/1/boards/{id}", update_board, methods=["PUT"]),
    Route("/1/boards/{id}/lists", board_lists, methods=["GET"]),
    Route("/1/boards/{id}/lists", create_list, methods=["POST"]),
    Route("/1/lists", create_list, methods=["POST"]),
    Route("/1/lists/{id}", get_list, methods=["GET"]),
    Route("/1/lists/{id}", update_list, methods=["PUT"]),
    Route("/1/boards/{id}/labels", board_labels, methods=["GET"]),
    Route("/1/boards/{id}/labels", create_label, methods=["POST"]),
    Route("/1/labels", create_label, methods=["POST"]),
    Route("/1/boards/{id}/members", board_members, methods=["GET"]),
    Route("/1/boards/{id}/checklists", board_checklists, methods=["GET"]),
    Route("/1/boards/{id}/cards", board_cards, methods=["GET"]),
    Route("/1/boards/{id}/cards/{filter}", board_cards, methods=["GET"]),
]
