"""Custom Fields: board-level definitions and their values on cards.

Served as documented (https://developer.atlassian.com/cloud/trello/rest/api-group-customfields/
and the "Getting started with Custom Fields" guide):

* ``POST /1/customFields`` {idModel (a board), modelType "board", name, type (checkbox, list,
  number, text, date), pos, display_cardFront} → the definition;
  ``GET /1/boards/{id}/customFields``; ``GET|PUT|DELETE /1/customFields/{id}``;
  ``GET|POST /1/customFields/{id}/options`` ({value: {text}, color, pos}) and
  ``DELETE /1/customFields/{id}/options/{idOption}`` for list fields.
* ``PUT /1/cards/{idCard}/customField/{idCustomField}/item`` with ``{"value": {"text"|
  "number"|"date"|"checked": …}}`` or ``{"idValue": option id}``; an empty ``value`` or
  ``idValue`` ("") clears it. Numbers, dates and checkboxes travel as strings
  (``{"number": "2154"}``, ``{"checked": "true"}``), as Trello writes them.
* ``GET /1/cards/{id}/customFieldItems``, and ``customFieldItems=true`` on card reads.

Trello allows 50 custom fields per board; more is a 400 as at Trello.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.trello.access import as_bool, as_pos, board_for, card_for, require_text, store_of
from simulators.trello.auth import NOT_FOUND, TrelloError, params
from simulators.trello.ids import is_object_id, iso, parse_time
from simulators.trello.store import LABEL_COLORS, TrelloStore

TYPES = ("checkbox", "list", "number", "text", "date")
MAX_PER_BOARD = 50


@dataclass
class FieldOption:
    id: str
    text: str
    color: str
    pos: float


@dataclass
class CustomField:
    id: str
    id_board: str
    name: str
    type: str
    pos: float
    card_front: bool = True
    options: list[FieldOption] = field(default_factory=list)


@dataclass
class FieldItem:
    id: str
    id_card: str
    id_field: str
    value: dict[str, str] | None = None  # text / number / date / checked, as strings
    id_value: str | None = None  # list fields: the option id


def seed_custom_fields(store: TrelloStore, board_id: str, cards: list[Any], tick: Any) -> None:
    """One field of each type on the board and values on most cards, chosen by the card's
    place (a seed without custom fields is the same as before they existed)."""
    made: dict[str, CustomField] = {}
    for n, (name, kind) in enumerate(
        (
            ("Estimate", "number"),
            ("Ticket", "text"),
            ("Priority", "list"),
            ("Reviewed", "checkbox"),
            ("Deadline", "date"),
        )
    ):
        f = CustomField(store.ids.new(tick()), board_id, name, kind, float((n + 1) * 16384))
        store.custom_fields[f.id] = f
        made[kind] = f
    for k, (text, color) in enumerate((("High", "red"), ("Low", "green"))):
        made["list"].options.append(FieldOption(store.ids.new(tick()), text, color, float((k + 1) * 16384)))
    for n, card in enumerate(cards):
        values: dict[str, dict[str, str] | str] = {}
        if n % 2 == 0:
            values["number"] = {"number": str(n * 1.5)}
        if n % 3 != 2:
            values["text"] = {"text": f"T-{1000 + n}"}
        if n % 4 != 3:
            values["list"] = made["list"].options[n % 2].id
        if n % 5 == 1:
            values["checkbox"] = {"checked": "true"}
        if n % 6 == 0:
            values["date"] = {"date": iso(card.last_activity + 86_400.0 * (n + 1)) or ""}
        for kind, value in values.items():
            item = FieldItem(store.ids.new(tick()), card.id, made[kind].id)
            if isinstance(value, str):
                item.id_value = value
            else:
                item.value = value
            store.custom_field_items[(card.id, item.id_field)] = item


def render_option(f: CustomField, o: FieldOption) -> dict[str, Any]:
    return {"id": o.id, "idCustomField": f.id, "value": {"text": o.text}, "color": o.color, "pos": o.pos}


def render_field(f: CustomField) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "idModel": f.id_board,
        "modelType": "board",
        "fieldGroup": f"group-{f.id}",
        "display": {"cardFront": f.card_front},
        "name": f.name,
        "pos": f.pos,
        "type": f.type,
        "isSuggestedField": False,
    }
    if f.type == "list":
        out["options"] = [render_option(f, o) for o in f.options]
    return out


def render_item(item: FieldItem) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "idCustomField": item.id_field, "idModel": item.id_card, "modelType": "card"}
    if item.id_value is not None:
        out["idValue"] = item.id_value
    else:
        out["value"] = dict(item.value or {})
    return out


def card_items(store: TrelloStore, card_id: str) -> list[dict[str, Any]]:
    """The card's custom field values (``customFieldItems=true`` and the items route)."""
    return [render_item(i) for (cid, _), i in store.custom_field_items.items() if cid == card_id]


def _field_for(request: Request, field_id: str) -> CustomField:
    store = store_of(request)
    if not is_object_id(field_id):
        raise TrelloError(400, "invalid id")
    f = store.custom_fields.get(field_id)
    if f is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, f.id_board)
    return f


async def board_fields(request: Request) -> Response:
    store = store_of(request)
    board = board_for(request, request.path_params["id"])
    return JSONResponse([render_field(f) for f in store.custom_fields.values() if f.id_board == board.id])


async def create_field(request: Request) -> Response:
    store = store_of(request)
    p = await params(request)
    if p.get("modelType", "board") != "board":
        raise TrelloError(400, "invalid value for modelType")
    board = board_for(request, str(p.get("idModel") or ""))
    name = require_text(p.get("name"), "name", 16_384)
    kind = str(p.get("type") or "")
    if not name.strip() or kind not in TYPES:
        raise TrelloError(400, "invalid value for " + ("type" if name.strip() else "name"))
    on_board = [f for f in store.custom_fields.values() if f.id_board == board.id]
    if len(on_board) >= MAX_PER_BOARD:
        raise TrelloError(400, "Too many custom fields on this board")
    pos = store.next_pos((f.pos for f in on_board), as_pos(p.get("pos")))
    card_front = as_bool(p.get("display_cardFront", True), "display_cardFront")
    f = CustomField(store.ids.new(store.now()), board.id, name, kind, pos, card_front)
    store.custom_fields[f.id] = f
    return JSONResponse(render_field(f))


async def get_field(request: Request) -> Response:
    return JSONResponse(render_field(_field_for(request, request.path_params["id"])))


async def update_field(request: Request) -> Response:
    f = _field_for(request, request.path_params["id"])
    p = await params(request)
    if "name" in p:
        f.name = require_text(p["name"], "name")
    if "pos" in p:
        f.pos = float(as_pos(p["pos"]) or f.pos)
    if "display/cardFront" in p:
        f.card_front = as_bool(p["display/cardFront"], "display/cardFront")
    return JSONResponse(render_field(f))


async def delete_field(request: Request) -> Response:
    store = store_of(request)
    f = _field_for(request, request.path_params["id"])
    del store.custom_fields[f.id]
    for key in [k for k in store.custom_field_items if k[1] == f.id]:
        del store.custom_field_items[key]
    return JSONResponse({})


async def field_options(request: Request) -> Response:
    f = _field_for(request, request.path_params["id"])
    return JSONResponse([render_option(f, o) for o in f.options])


async def add_option(request: Request) -> Response:
    store = store_of(request)
    f = _field_for(request, request.path_params["id"])
    if f.type != "list":
        raise TrelloError(400, "options are only for list custom fields")
    p = await params(request)
    value = p.get("value")
    text = value.get("text") if isinstance(value, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise TrelloError(400, "invalid value for value")
    color = str(p.get("color") or "none")
    if color != "none" and color not in LABEL_COLORS:
        raise TrelloError(400, "invalid value for color")
    opt = FieldOption(
        store.ids.new(store.now()), text, color, store.next_pos((o.pos for o in f.options), as_pos(p.get("pos")))
    )
    f.options.append(opt)
    return JSONResponse(render_option(f, opt))


async def delete_option(request: Request) -> Response:
    store = store_of(request)
    f = _field_for(request, request.path_params["id"])
    option = request.path_params["idOption"]
    if option not in {o.id for o in f.options}:
        raise TrelloError(404, NOT_FOUND)
    f.options = [o for o in f.options if o.id != option]
    for key in [k for k, i in store.custom_field_items.items() if i.id_value == option]:
        del store.custom_field_items[key]  # cards that held it hold nothing now
    return JSONResponse({})


def _typed(f: CustomField, value: Any) -> dict[str, str]:
    """A ``value`` object for field ``f``, checked as Trello checks it (or 400)."""
    key = {"checkbox": "checked", "number": "number", "text": "text", "date": "date"}[f.type]
    if not isinstance(value, dict) or set(value) != {key}:
        raise TrelloError(400, "Invalid custom field item value.")
    raw = value[key]
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if f.type == "number":
        try:
            float(text)
        except ValueError as exc:
            raise TrelloError(400, "Invalid custom field item value.") from exc
    elif (f.type == "date" and parse_time(text) is None) or (f.type == "checkbox" and text not in ("true", "false")):
        raise TrelloError(400, "Invalid custom field item value.")
    if f.type == "date":
        text = iso(parse_time(text)) or text
    return {key: text}


async def set_item(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["idCard"])
    f = _field_for(request, request.path_params["idCustomField"])
    if f.id_board != card.id_board:
        raise TrelloError(400, "custom field is not on the card's board")
    p = await params(request)
    key = (card.id, f.id)
    if f.type == "list" and "idValue" in p:
        option = str(p["idValue"] or "")
        if not option:
            store.custom_field_items.pop(key, None)
            return JSONResponse({})
        if option not in {o.id for o in f.options}:
            raise TrelloError(400, "Invalid custom field item value.")
        item = store.custom_field_items.get(key) or FieldItem(store.ids.new(store.now()), card.id, f.id)
        item.id_value, item.value = option, None
    elif f.type != "list" and "value" in p:
        if p["value"] in ("", None) or p["value"] == {}:
            store.custom_field_items.pop(key, None)
            return JSONResponse({})
        item = store.custom_field_items.get(key) or FieldItem(store.ids.new(store.now()), card.id, f.id)
        item.value, item.id_value = _typed(f, p["value"]), None
    else:
        raise TrelloError(400, "Invalid custom field item value.")
    store.custom_field_items[key] = item
    return JSONResponse(render_item(item))


async def get_items(request: Request) -> Response:
    card = card_for(request, request.path_params["id"])
    return JSONResponse(card_items(store_of(request), card.id))


routes = [
    Route("/1/customFields", create_field, methods=["POST"]),
    Route("/1/customFields/{id}", get_field, methods=["GET"]),
    Route("/1/customFields/{id}", update_field, methods=["PUT"]),
    Route("/1/customFields/{id}", delete_field, methods=["DELETE"]),
    Route("/1/customFields/{id}/options", field_options, methods=["GET"]),
    Route("/1/customFields/{id}/options", add_option, methods=["POST"]),
    Route("/1/customFields/{id}/options/{idOption}", delete_option, methods=["DELETE"]),
    Route("/1/boards/{id}/customFields", board_fields, methods=["GET"]),
    Route("/1/cards/{idCard}/customField/{idCustomField}/item", set_item, methods=["PUT"]),
    Route("/1/cards/{id}/customFieldItems", get_items, methods=["GET"]),
]
