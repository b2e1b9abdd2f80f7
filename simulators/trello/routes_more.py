"""Less central endpoints: board actions, a member's boards, label and checklist edits,
board deletion, removing a label from a card."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.trello import render
from simulators.trello.access import board_for, card_for, checklist_for, require_text, store_of
from simulators.trello.auth import NOT_FOUND, TrelloError, current_member, params
from simulators.trello.ids import is_object_id
from simulators.trello.routes_cards import actions_page
from simulators.trello.store import LABEL_COLORS, Label


async def board_actions(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["boardId"])
    acts = [a for a in store.actions.values() if a.id_board == board.id]
    return actions_page(request, acts, "all")


async def member_boards(request: Request) -> Response:
    store = store_of(request)
    me = current_member(request)
    m = store.member_by_ref(request.path_params["id"], me)
    if m is None:
        raise TrelloError(404, "model not found")
    flt = request.query_params.get("filter", "all")
    boards = [b for b in store.boards.values() if m.id in b.members and (flt == "all" or (flt == "open") != b.closed)]
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.board(b, store), fields) for b in boards])


def _label_for(request: Request) -> Label:
    store = store_of(request)
    label_id = request.path_params["id"]
    if not is_object_id(label_id):
        raise TrelloError(400, "invalid id")
    label = store.labels.get(label_id)
    if label is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, label.id_board)
    return label


async def get_label(request: Request) -> Response:
    return JSONResponse(render.label(_label_for(request)))


async def update_label(request: Request) -> Response:
    label = _label_for(request)
    p = await params(request)
    if "name" in p:
        label.name = require_text(p["name"], "name")
    if "color" in p:
        color = None if p["color"] in (None, "", "null") else str(p["color"])
        if color is not None and color not in LABEL_COLORS:
            raise TrelloError(400, "invalid value for color")
        label.color = color
    return JSONResponse(render.label(label))


async def delete_label(request: Request) -> Response:
    store = store_of(request)
    label = _label_for(request)
    store.labels.pop(label.id, None)
    for card in store.board_cards(label.id_board):
        if label.id in card.id_labels:
            card.id_labels.remove(label.id)
    return JSONResponse({"limits": {}})


async def delete_checklist(request: Request) -> Response:
    store = store_of(request)
    cl = checklist_for(request, request.path_params["id"])
    store.checklists.pop(cl.id, None)
    card = store.cards.get(cl.id_card)
    if card is not None and cl.id in card.id_checklists:
        card.id_checklists.remove(cl.id)
    return JSONResponse({"limits": {}})


async def delete_board(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    if store.boards[board.id].members.get(current_member(request).id) != "admin":
        raise TrelloError(401, "unauthorized permission requested")
    for card in store.board_cards(board.id):
        store.delete_card(card.id)
    for table in (store.lists, store.labels, store.custom_fields):
        for key in [k for k, v in table.items() if v.id_board == board.id]:
            del table[key]
    del store.boards[board.id]
    return JSONResponse({"_value": None})


async def remove_card_label(request: Request) -> Response:
    card = card_for(request, request.path_params["id"])
    label_id = request.path_params["idLabel"]
    if label_id not in card.id_labels:
        raise TrelloError(404, NOT_FOUND)
    card.id_labels.remove(label_id)
    return JSONResponse({"_value": None})


routes = [
    Route("/1/boards/{boardId}/actions", board_actions, methods=["GET"]),
    Route("/1/members/{id}/boards", member_boards, methods=["GET"]),
    Route("/1/labels/{id}", get_label, methods=["GET"]),
    Route("/1/labels/{id}", update_label, methods=["PUT"]),
    Route("/1/labels/{id}", delete_label, methods=["DELETE"]),
    Route("/1/checklists/{id}", delete_checklist, methods=["DELETE"]),
    Route("/1/boards/{id}", delete_board, methods=["DELETE"]),
    Route("/1/cards/{id}/idLabels/{idLabel}", remove_card_label, methods=["DELETE"]),
]
