"""Cards, comments (``commentCard`` actions), checklists and check items."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.trello import render
from simulators.trello.access import (
    as_bool,
    as_id_list,
    as_pos,
    as_time,
    board_for,
    card_for,
    checklist_for,
    list_for,
    require_text,
    store_of,
)
from simulators.trello.auth import NOT_FOUND, TrelloError, current_member, params
from simulators.trello.custom_fields import card_items
from simulators.trello.ids import is_object_id, parse_time
from simulators.trello.store import Action, Board, Card, TrelloStore

MAX_TEXT = 16_384  # Trello's limit for card names, descriptions and comments


def _paging(request: Request) -> tuple[int | None, str | None, str | None, int]:
    q = request.query_params
    limit = None
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError as exc:
            raise TrelloError(400, "invalid value for limit") from exc
        if not 0 <= limit <= 1000:
            raise TrelloError(400, "invalid value for limit")
    try:
        page = int(q.get("page", "0") or 0)
    except ValueError as exc:
        raise TrelloError(400, "invalid value for page") from exc
    return limit, q.get("before"), q.get("since"), page


def _cursor_ok(obj_id: str, date: float, before: str | None, since: str | None) -> bool:
    """``before``/``since`` take an id (compared as ObjectIds) or an ISO date."""
    for bound, is_before in ((before, True), (since, False)):
        if not bound:
            continue
        if is_object_id(bound):
            ok = obj_id < bound.lower() if is_before else obj_id > bound.lower()
        else:
            t = parse_time(bound)
            if t is None:
                raise TrelloError(400, f"invalid value for {'before' if is_before else 'since'}")
            ok = date < t if is_before else date > t
        if not ok:
            return False
    return True


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def cards_page(request: Request, board: Board, flt: str) -> Response:
    """``GET /boards/{id}/cards[/{filter}]``; with limit/before/since: newest ids first."""
    store = store_of(request)
    cards = store.board_cards(board.id)
    if flt == "visible":
        cards = [c for c in cards if not c.closed and not store.lists[c.id_list].closed]
    elif flt == "open":
        cards = [c for c in cards if not c.closed]
    elif flt == "closed":
        cards = [c for c in cards if c.closed]
    elif flt != "all":
        raise TrelloError(400, "invalid value for filter")
    limit, before, since, _ = _paging(request)
    if limit is None and not before and not since:
        cards.sort(key=lambda c: (store.lists[c.id_list].pos, c.pos))
    else:
        cards = [c for c in cards if _cursor_ok(c.id, c.last_activity, before, since)]
        cards.sort(key=lambda c: c.id, reverse=True)
        cards = cards[: 1000 if limit is None else limit]
    return JSONResponse([_with_nested(request, store, c) for c in cards])


def _apply_card_fields(store: TrelloStore, card: Card, p: dict[str, Any]) -> None:
    if "name" in p:
        card.name = require_text(p["name"], "name", MAX_TEXT)
    if "desc" in p:
        card.desc = require_text(p["desc"], "desc", MAX_TEXT)
    if "closed" in p:
        card.closed = as_bool(p["closed"], "closed")
    if "due" in p:
        card.due = as_time(p["due"], "due")
    if "start" in p:
        card.start = as_time(p["start"], "start")
    if "dueComplete" in p:
        card.due_complete = as_bool(p["dueComplete"], "dueComplete")
    if "idMembers" in p:
        ids = as_id_list(p["idMembers"], "idMembers")
        if any(i not in store.boards[card.id_board].members for i in ids):
            raise TrelloError(400, "invalid value for idMembers")
        card.id_members = list(dict.fromkeys(ids))
    if "idLabels" in p:
        ids = as_id_list(p["idLabels"], "idLabels")
        if any(store.labels.get(i) is None or store.labels[i].id_board != card.id_board for i in ids):
            raise TrelloError(400, "invalid value for idLabels")
        card.id_labels = list(dict.fromkeys(ids))
    if "idAttachmentCover" in p:
        card.id_attachment_cover = p["idAttachmentCover"] or None


async def create_card(request: Request) -> Response:
    store = store_of(request)
    p = await params(request)
    list_id = str(p.get("idList", ""))
    if not is_object_id(list_id) or list_id not in store.lists:
        raise TrelloError(400, "invalid value for idList")
    lst = list_for(request, list_id)
    name = require_text(p.get("name", ""), "name", MAX_TEXT)
    card = store.add_card(lst.id, name, pos=as_pos(p.get("pos")), creator=current_member(request).id)
    try:
        _apply_card_fields(store, card, {k: v for k, v in p.items() if k != "name"})
    except TrelloError:
        store.delete_card(card.id)
        raise
    return JSONResponse(render.card(card, store))


async def get_card(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    return JSONResponse(_with_nested(request, store, card))


def _with_nested(request: Request, store: TrelloStore, c: Card) -> dict[str, Any]:
    """A card with Trello's nested resources ``checklists=all`` / ``attachments=true``
    (https://developer.atlassian.com/cloud/trello/guides/rest-api/nested-resources/)."""
    item = render.pick(render.card(c, store), request.query_params.get("fields"))
    if request.query_params.get("checklists", "none") == "all":
        item["checklists"] = [render.checklist(store.checklists[i]) for i in c.id_checklists]
    if request.query_params.get("attachments", "false") == "true":
        item["attachments"] = [
            render.attachment(a, _base(request)) for a in sorted(store.card_attachments(c.id), key=lambda a: a.pos)
        ]
    if request.query_params.get("customFieldItems", "false") == "true":
        item["customFieldItems"] = card_items(store, c.id)
    return item


async def update_card(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    if "idList" in p:
        lst = list_for(request, str(p["idList"]))
        card.id_list, card.id_board = lst.id, lst.id_board
    if "pos" in p:
        siblings = [c.pos for c in store.cards.values() if c.id_list == card.id_list and c.id != card.id]
        card.pos = store.next_pos(siblings, as_pos(p["pos"]))
    _apply_card_fields(store, card, p)
    store.note_pos(card.id_list, card.pos)
    store._touch(card)
    return JSONResponse(render.card(card, store))


async def delete_card(request: Request) -> Response:
    card = card_for(request, request.path_params["id"])
    store_of(request).delete_card(card.id)
    return JSONResponse({"limits": {}})


async def card_actions(request: Request) -> Response:
    """Newest first; ``filter`` (default as Trello), ``limit`` (50), ``page``, ``before``,
    ``since``."""
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    return actions_page(request, store.card_actions(card.id), "commentCard,updateCard:idList")


def actions_page(request: Request, actions: list[Action], default_filter: str) -> Response:
    """Filter and page actions the way Trello does for cards and boards."""
    store = store_of(request)
    raw = request.query_params.get("filter") or default_filter
    types = {t.strip() for t in raw.split(",") if t.strip()}
    limit, before, since, page = _paging(request)
    limit = 50 if limit is None else limit
    if page < 0 or page * limit >= 1000 and page:
        raise TrelloError(400, "invalid value for page")
    acts = [a for a in actions if ("all" in types or a.type in types) and _cursor_ok(a.id, a.date, before, since)]
    acts.sort(key=lambda a: a.id, reverse=True)
    acts = acts[page * limit : (page + 1) * limit]
    return JSONResponse([render.action(a, store) for a in acts])


def _action_for(request: Request) -> Action:
    store = store_of(request)
    action_id = request.path_params["id"]
    if not is_object_id(action_id):
        raise TrelloError(400, "invalid id")
    act = store.actions.get(action_id)
    if act is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, act.id_board)
    return act


async def add_comment(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    text = require_text(p.get("text"), "text", MAX_TEXT)
    if not text.strip():
        raise TrelloError(400, "invalid value for text")
    act = store.add_action(card, "commentCard", current_member(request).id, text)
    return JSONResponse(render.action(act, store))


async def get_action(request: Request) -> Response:
    return JSONResponse(render.action(_action_for(request), store_of(request)))


async def update_action(request: Request) -> Response:
    act = _action_for(request)
    if act.id_member_creator != current_member(request).id:
        raise TrelloError(401, "unauthorized permission requested")
    p = await params(request)
    act.text = require_text(p.get("text"), "text", MAX_TEXT)
    act.date_last_edited = store_of(request).now()
    return JSONResponse(render.action(act, store_of(request)))


async def delete_action(request: Request) -> Response:
    act = _action_for(request)
    store_of(request).remove_action(act.id)
    return JSONResponse({"limits": {}})


async def card_checklists(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    return JSONResponse([render.checklist(store.checklists[i]) for i in card.id_checklists])


def _new_checklist(request: Request, card: Card, p: dict[str, Any], name: str) -> Response:
    """Create a checklist on ``card``, copying the items of ``idChecklistSource`` if given
    (both create routes document that parameter)."""
    store = store_of(request)
    source = None
    if p.get("idChecklistSource") not in (None, ""):
        source_id = str(p["idChecklistSource"])
        if not is_object_id(source_id):
            raise TrelloError(400, "invalid value for idChecklistSource")
        source = checklist_for(request, source_id)
    cl = store.add_checklist(card, name, as_pos(p.get("pos")))
    for item in sorted(source.items, key=lambda i: i.pos) if source else ():
        store.add_check_item(cl, item.name, checked=item.state == "complete", due=item.due, id_member=item.id_member)
    return JSONResponse(render.checklist(cl))


async def create_checklist(request: Request) -> Response:
    """``POST /1/cards/{id}/checklists``."""
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    return _new_checklist(request, card, p, require_text(p.get("name", "Checklist"), "name"))


async def create_checklist_for_card(request: Request) -> Response:
    """``POST /1/checklists?idCard=…`` (operation post-checklists): ``idCard`` is required;
    ``name`` must be 1 to 16,384 characters when given (the card route has no lower bound)."""
    p = await params(request)
    card_id = p.get("idCard")
    if not isinstance(card_id, str) or not is_object_id(card_id):
        raise TrelloError(400, "invalid value for idCard")
    card = card_for(request, card_id)
    name = require_text(p.get("name", "Checklist"), "name", MAX_TEXT)
    if not name:
        raise TrelloError(400, "invalid value for name")
    return _new_checklist(request, card, p, name)


async def get_checklist(request: Request) -> Response:
    return JSONResponse(render.checklist(checklist_for(request, request.path_params["id"])))


async def create_check_item(request: Request) -> Response:
    store = store_of(request)
    cl = checklist_for(request, request.path_params["id"])
    p = await params(request)
    name = require_text(p.get("name"), "name", MAX_TEXT)
    if not name.strip():
        raise TrelloError(400, "invalid value for name")
    member = p.get("idMember")
    if member and member not in store.members:
        raise TrelloError(400, "invalid value for idMember")
    item = store.add_check_item(
        cl,
        name,
        pos=as_pos(p.get("pos")),
        checked=as_bool(p.get("checked", False), "checked"),
        due=as_time(p.get("due"), "due"),
        id_member=member or None,
    )
    return JSONResponse(render.check_item(item))


async def update_check_item(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    item_id = request.path_params["idCheckItem"]
    item = next((i for cl_id in card.id_checklists for i in store.checklists[cl_id].items if i.id == item_id), None)
    if item is None:
        raise TrelloError(404, NOT_FOUND)
    p = await params(request)
    if "state" in p:
        if p["state"] not in ("complete", "incomplete", "true", "false"):
            raise TrelloError(400, "invalid value for state")
        item.state = "complete" if p["state"] in ("complete", "true") else "incomplete"
    if "name" in p:
        item.name = require_text(p["name"], "name", MAX_TEXT)
    if "pos" in p:
        item.pos = (
            float(as_pos(p["pos"]) or item.pos)
            if p["pos"] not in ("top", "bottom")
            else store.next_pos([i.pos for i in store.checklists[item.id_checklist].items], p["pos"])
        )
    if "due" in p:
        item.due = as_time(p["due"], "due")
    store._touch(card)
    return JSONResponse(render.check_item(item))


async def add_card_label(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    label_id = str(p.get("value", ""))
    label = store.labels.get(label_id)
    if label is None or label.id_board != card.id_board:
        raise TrelloError(400, "invalid value for value")
    if label_id in card.id_labels:
        raise TrelloError(400, "that label is already on the card")
    card.id_labels.append(label_id)
    store._touch(card)
    return JSONResponse(list(card.id_labels))


async def add_card_member(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    member_id = str(p.get("value", ""))
    if member_id not in store.boards[card.id_board].members:
        raise TrelloError(400, "invalid value for value")
    if member_id not in card.id_members:
        card.id_members.append(member_id)
    store._touch(card)
    return JSONResponse([render.member_brief(store.members[i]) for i in card.id_members])


routes = [
    Route("/1/cards", create_card, methods=["POST"]),
    Route("/1/cards/{id}", get_card, methods=["GET"]),
    Route("/1/cards/{id}", update_card, methods=["PUT"]),
    Route("/1/cards/{id}", delete_card, methods=["DELETE"]),
    Route("/1/cards/{id}/actions", card_actions, methods=["GET"]),
    Route("/1/cards/{id}/actions/comments", add_comment, methods=["POST"]),
    Route("/1/actions/{id}", get_action, methods=["GET"]),
    Route("/1/actions/{id}", update_action, methods=["PUT"]),
    Route("/1/actions/{id}", delete_action, methods=["DELETE"]),
    Route("/1/cards/{id}/checklists", card_checklists, methods=["GET"]),
    Route("/1/cards/{id}/checklists", create_checklist, methods=["POST"]),
    Route("/1/checklists", create_checklist_for_card, methods=["POST"]),
    Route("/1/checklists/{id}", get_checklist, methods=["GET"]),
    Route("/1/checklists/{id}/checkItems", create_check_item, methods=["POST"]),
    Route("/1/cards/{id}/checkItem/{idCheckItem}", update_check_item, methods=["PUT"]),
    Route("/1/cards/{id}/idLabels", add_card_label, methods=["POST"]),
    Route("/1/cards/{id}/idMembers", add_card_member, methods=["POST"]),
]
