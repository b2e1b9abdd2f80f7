"""Cards, comments (``commentCard`` actions), attachments, checklists and check items."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from simulators.common import blob_response
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
from simulators.trello.ids import is_object_id, parse_time
from simulators.trello.store import Action, Attachment, Board, Card, TrelloStore

MAX_TEXT = 16_384               # Trello's limit for card names, descriptions and comments
SIGNING_KEY = b"ferry-trello-simulator"


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
    page = int(q.get("page", "0") or 0)
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
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.card(c, store), fields) for c in cards])


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
        if any(store.labels.get(i) is None or store.labels[i].id_board != card.id_board
               for i in ids):
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
    card = store.add_card(lst.id, name, pos=as_pos(p.get("pos")),
                          creator=current_member(request).id)
    try:
        _apply_card_fields(store, card, {k: v for k, v in p.items() if k != "name"})
    except TrelloError:
        store.delete_card(card.id)
        raise
    return JSONResponse(render.card(card, store))


async def get_card(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    return JSONResponse(render.pick(render.card(card, store), request.query_params.get("fields")))


async def update_card(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    if "idList" in p:
        lst = list_for(request, str(p["idList"]))
        card.id_list, card.id_board = lst.id, lst.id_board
    if "pos" in p:
        siblings = [c.pos for c in store.cards.values()
                    if c.id_list == card.id_list and c.id != card.id]
        card.pos = store.next_pos(siblings, as_pos(p["pos"]))
    _apply_card_fields(store, card, p)
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
    raw = request.query_params.get("filter", "commentCard,updateCard:idList")
    types = {t.strip() for t in raw.split(",") if t.strip()}
    limit, before, since, page = _paging(request)
    limit = 50 if limit is None else limit
    if page < 0 or page * limit >= 1000 and page:
        raise TrelloError(400, "invalid value for page")
    acts = [a for a in store.card_actions(card.id)
            if ("all" in types or a.type in types) and _cursor_ok(a.id, a.date, before, since)]
    acts.sort(key=lambda a: a.id, reverse=True)
    acts = acts[page * limit:(page + 1) * limit]
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
    store_of(request).actions.pop(act.id, None)
    return JSONResponse({"limits": {}})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def list_attachments(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    atts = sorted(store.card_attachments(card.id), key=lambda a: a.pos)
    if request.query_params.get("filter") == "cover":
        atts = [a for a in atts if a.id == card.id_attachment_cover]
    fields = request.query_params.get("fields")
    return JSONResponse([render.pick(render.attachment(a, _base(request)), fields) for a in atts])


async def create_attachment(request: Request) -> Response:
    """Multipart ``file`` upload or a ``url`` link; answers the single attachment object
    (the spec says an array, the real API returns one object)."""
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    me = current_member(request).id
    upload = p.get("file")
    name = require_text(p.get("name", ""), "name", 256)
    if isinstance(upload, UploadFile):
        state = request.app.state.trello
        sink, size, digest = await _spool(upload, state.max_upload_bytes)
        file_name = name or upload.filename or "upload"
        mime = str(p.get("mimeType") or upload.content_type or "application/octet-stream")
        att = store.add_attachment(card, me, name or file_name, mime_type=mime,
                                   file_name=file_name, data=sink, size=size, sha256=digest)
    elif p.get("url"):
        url = str(p["url"])
        if not url.startswith(("http://", "https://")):
            raise TrelloError(400, "invalid value for url")
        att = store.add_attachment(card, me, name or url, link_url=url,
                                   mime_type=str(p.get("mimeType", "")))
    else:
        raise TrelloError(400, "must specify either file or url")
    if str(p.get("setCover", "false")).lower() == "true":
        card.id_attachment_cover = att.id
    return JSONResponse(render.attachment(att, _base(request)))


async def _spool(upload: UploadFile, max_bytes: int) -> tuple[Any, int, str]:
    import tempfile
    sink = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - kept as state
    digest = hashlib.sha256()
    size = 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > max_bytes:
            sink.close()
            raise TrelloError(413, "request entity too large")
        sink.write(chunk)
        digest.update(chunk)
    sink.seek(0)
    return sink, size, digest.hexdigest()


def _attachment_for(request: Request) -> tuple[Card, Attachment]:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    att_id = request.path_params["idAttachment"]
    if not is_object_id(att_id):
        raise TrelloError(400, "invalid id")
    att = store.attachments.get(att_id)
    if att is None or att.id_card != card.id:
        raise TrelloError(404, NOT_FOUND)
    return card, att


async def get_attachment(request: Request) -> Response:
    _, att = _attachment_for(request)
    out = render.attachment(att, _base(request))
    return JSONResponse(render.pick(out, request.query_params.get("fields")))


async def delete_attachment(request: Request) -> Response:
    card, att = _attachment_for(request)
    store_of(request).attachments.pop(att.id, None)
    if card.id_attachment_cover == att.id:
        card.id_attachment_cover = None
    return JSONResponse({"limits": {}})


def _signature(att_id: str) -> str:
    return hmac.new(SIGNING_KEY, att_id.encode(), hashlib.sha256).hexdigest()[:32]


async def download_attachment(request: Request) -> Response:
    """Like Trello: the authorised ``/download/`` route answers 302 to the file host."""
    _, att = _attachment_for(request)
    if not att.is_upload or request.path_params["fileName"] != att.file_name:
        raise TrelloError(404, NOT_FOUND)
    target = f"{_base(request)}/files/{att.id}/download?signature={_signature(att.id)}"
    return RedirectResponse(target, status_code=302)


async def serve_file(request: Request) -> Response:
    """The simulated attachment host (stands in for Trello's S3); needs the signature."""
    store = store_of(request)
    att = store.attachments.get(request.path_params["idAttachment"])
    if att is None or not hmac.compare_digest(request.query_params.get("signature", ""),
                                              _signature(att.id)):
        return Response("Access Denied", status_code=403)
    media = att.mime_type or "application/octet-stream"
    if att.blob is not None:
        return blob_response(att.blob, media_type=media, filename=att.file_name,
                             range_header=request.headers.get("range"))
    data = att.data
    assert data is not None

    async def chunks() -> AsyncIterator[bytes]:
        pos = 0
        while True:
            data.seek(pos)
            chunk = data.read(1 << 16)
            if not chunk:
                return
            pos += len(chunk)
            yield chunk

    return StreamingResponse(chunks(), media_type=media,
                             headers={"content-length": str(att.size or 0)})


async def card_checklists(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    return JSONResponse([render.checklist(store.checklists[i]) for i in card.id_checklists])


async def create_checklist(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    p = await params(request)
    cl = store.add_checklist(card, require_text(p.get("name", "Checklist"), "name"),
                             as_pos(p.get("pos")))
    return JSONResponse(render.checklist(cl))


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
    item = store.add_check_item(cl, name, pos=as_pos(p.get("pos")),
                                checked=as_bool(p.get("checked", False), "checked"),
                                due=as_time(p.get("due"), "due"), id_member=member or None)
    return JSONResponse(render.check_item(item))


async def update_check_item(request: Request) -> Response:
    store = store_of(request)
    card = card_for(request, request.path_params["id"])
    item_id = request.path_params["idCheckItem"]
    item = next((i for cl_id in card.id_checklists for i in store.checklists[cl_id].items
                 if i.id == item_id), None)
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
        item.pos = float(as_pos(p["pos"]) or item.pos) if p["pos"] not in ("top", "bottom") \
            else store.next_pos([i.pos for i in store.checklists[item.id_checklist].items],
                                p["pos"])
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
    Route("/1/cards/{id}/attachments", list_attachments, methods=["GET"]),
    Route("/1/cards/{id}/attachments", create_attachment, methods=["POST"]),
    Route("/1/cards/{id}/attachments/{idAttachment}", get_attachment, methods=["GET"]),
    Route("/1/cards/{id}/attachments/{idAttachment}", delete_attachment, methods=["DELETE"]),
    Route("/1/cards/{id}/attachments/{idAttachment}/download/{fileName:path}",
          download_attachment, methods=["GET"]),
    Route("/files/{idAttachment}/download", serve_file, methods=["GET"]),
    Route("/1/cards/{id}/checklists", card_checklists, methods=["GET"]),
    Route("/1/cards/{id}/checklists", create_checklist, methods=["POST"]),
    Route("/1/checklists/{id}", get_checklist, methods=["GET"]),
    Route("/1/checklists/{id}/checkItems", create_check_item, methods=["POST"]),
    Route("/1/cards/{id}/checkItem/{idCheckItem}", update_check_item, methods=["PUT"]),
    Route("/1/cards/{id}/idLabels", add_card_label, methods=["POST"]),
    Route("/1/cards/{id}/idMembers", add_card_member, methods=["POST"]),
]
