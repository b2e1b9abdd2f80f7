"""Attachments: list, link or multipart upload, metadata, delete, and the download route
(302 to a signed file-host URL, as Trello does since 2021)."""

from __future__ import annotations

import hashlib
import hmac
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from simulators.common import blob_response
from simulators.trello import render
from simulators.trello.access import card_for, require_text, store_of
from simulators.trello.auth import NOT_FOUND, TrelloError, current_member, params
from simulators.trello.ids import is_object_id
from simulators.trello.routes_cards import _base
from simulators.trello.store import Attachment, Card

SIGNING_KEY = b"ferry-trello-simulator"


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
        sink, size, digest = await _spool(upload, state.config.max_upload_bytes)
        file_name = name or upload.filename or "upload"
        mime = str(p.get("mimeType") or upload.content_type or "application/octet-stream")
        att = store.add_attachment(
            card, me, name or file_name, mime_type=mime, file_name=file_name, data=sink, size=size, sha256=digest
        )
    elif p.get("url"):
        url = str(p["url"])
        if not url.startswith(("http://", "https://")):
            raise TrelloError(400, "invalid value for url")
        att = store.add_attachment(card, me, name or url, link_url=url, mime_type=str(p.get("mimeType", "")))
    else:
        raise TrelloError(400, "must specify either file or url")
    if str(p.get("setCover", "false")).lower() == "true":
        card.id_attachment_cover = att.id
    return JSONResponse(render.attachment(att, _base(request)))


async def _spool(upload: UploadFile, max_bytes: int) -> tuple[Any, int, str]:
    sink = tempfile.SpooledTemporaryFile(max_size=8 << 20)
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
    store_of(request).remove_attachment(att.id)
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
    if att is None or not hmac.compare_digest(request.query_params.get("signature", ""), _signature(att.id)):
        return Response("Access Denied", status_code=403)
    media = att.mime_type or "application/octet-stream"
    if att.blob is not None:
        return blob_response(
            att.blob, media_type=media, filename=att.file_name, range_header=request.headers.get("range")
        )
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

    return StreamingResponse(chunks(), media_type=media, headers={"content-length": str(att.size or 0)})


routes = [
    Route("/1/cards/{id}/attachments", list_attachments, methods=["GET"]),
    Route("/1/cards/{id}/attachments", create_attachment, methods=["POST"]),
    Route("/1/cards/{id}/attachments/{idAttachment}", get_attachment, methods=["GET"]),
    Route("/1/cards/{id}/attachments/{idAttachment}", delete_attachment, methods=["DELETE"]),
    Route("/1/cards/{id}/attachments/{idAttachment}/download/{fileName:path}", download_attachment, methods=["GET"]),
    Route("/files/{idAttachment}/download", serve_file, methods=["GET"]),
]
