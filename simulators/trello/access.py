"""Lookups with Trello's error semantics: malformed id → 400 ``invalid id``; unknown id →
404; object on a board the token's member cannot see → 401 ``unauthorized permission
requested``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from simulators.trello.auth import NOT_FOUND, TrelloError, current_member
from simulators.trello.ids import is_object_id, parse_time
from simulators.trello.store import Board, Card, Checklist, TList, TrelloStore

UNAUTHORIZED = "unauthorized permission requested"


def store_of(request: Request) -> TrelloStore:
    return request.app.state.trello.store


def _check_id(value: str) -> None:
    if not is_object_id(value):
        raise TrelloError(400, "invalid id")


def board_for(request: Request, board_id: str) -> Board:
    """The board, if it exists and the caller may see it."""
    store = store_of(request)
    _check_id(board_id)
    board = store.boards.get(board_id)
    if board is None:
        raise TrelloError(404, NOT_FOUND)
    if not store.can_see_board(current_member(request).id, board):
        raise TrelloError(401, UNAUTHORIZED)
    return board


def card_for(request: Request, card_id: str) -> Card:
    store = store_of(request)
    _check_id(card_id)
    card = store.cards.get(card_id)
    if card is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, card.id_board)
    return card


def list_for(request: Request, list_id: str) -> TList:
    store = store_of(request)
    _check_id(list_id)
    lst = store.lists.get(list_id)
    if lst is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, lst.id_board)
    return lst


def checklist_for(request: Request, checklist_id: str) -> Checklist:
    store = store_of(request)
    _check_id(checklist_id)
    cl = store.checklists.get(checklist_id)
    if cl is None:
        raise TrelloError(404, NOT_FOUND)
    board_for(request, cl.id_board)
    return cl


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise TrelloError(400, f"invalid value for {name}")


def as_time(value: Any, name: str) -> float | None:
    """Dates: ISO strings; empty / "null" clears."""
    if value is None or str(value) in ("", "null"):
        return None
    parsed = parse_time(str(value))
    if parsed is None:
        raise TrelloError(400, f"invalid value for {name}")
    return parsed


def as_id_list(value: Any, name: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    ids = [str(i).strip() for i in items if str(i).strip()]
    if not all(is_object_id(i) for i in ids):
        raise TrelloError(400, f"invalid value for {name}")
    return ids


def as_pos(value: Any) -> Any:
    if value in (None, "", "top", "bottom"):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise TrelloError(400, "invalid value for pos") from exc
    if number < 0:
        raise TrelloError(400, "invalid value for pos")
    return number


def require_text(value: Any, name: str, max_len: int = 16_384) -> str:
    text = "" if value is None else str(value)
    if len(text) > max_len:
        raise TrelloError(400, f"invalid value for {name}")
    return text
