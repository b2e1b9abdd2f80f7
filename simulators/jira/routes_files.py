"""Attachments: multipart upload (``X-Atlassian-Token: no-check``), metadata, content with
``Range`` and the media redirect, delete.

https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-attachments/ :
the upload is ``multipart/form-data`` with one or more parts named ``file``, and the
request must carry ``X-Atlassian-Token: no-check`` or Jira blocks it as a possible XSRF
(403). ``GET /attachment/content/{id}`` answers 303 to the media store unless
``redirect=false``, in which case it streams the bytes itself (206 for a ``Range``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import UploadFile

from simulators.common import Blob, blob_response
from simulators.jira import views
from simulators.jira.api import API, CtxDep
from simulators.jira.store import Attachment, JiraError, JiraStore

router = APIRouter(prefix=API)
media = APIRouter()
XSRF_FAILED = "XSRF check failed"
UPLOAD_CHUNK = 1024 * 1024


def _attachment(store: JiraStore, aid: str) -> Attachment:
    found = store.attachments.get(aid)
    if found is None:
        raise JiraError(404, f"The attachment with id '{aid}' does not exist")
    return found


def media_token(store: JiraStore, aid: str) -> str:
    """A signature standing in for the media store's short-lived download token."""
    return hmac.new(store.cloud_id.encode(), aid.encode(), hashlib.sha256).hexdigest()[:32]


@router.post("/issue/{id_or_key}/attachments")
async def upload(ctx: CtxDep, id_or_key: str, request: Request) -> JSONResponse:
    if request.headers.get("x-atlassian-token", "").lower() != "no-check":
        raise JiraError(403, XSRF_FAILED)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise JiraError(415, "The request must be multipart/form-data.")
    with ctx.store.lock:
        issue = ctx.store.issue(id_or_key)
    form = await request.form(max_part_size=ctx.store.max_attachment_bytes)
    files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
    if not files:
        raise JiraError(400, "No file was attached: send one or more parts named 'file'.")
    created: list[Attachment] = []
    for part in files:
        data = bytearray()
        while chunk := await part.read(UPLOAD_CHUNK):
            data += chunk
            if len(data) > ctx.store.max_attachment_bytes:
                raise JiraError(413, "The attachment is larger than the site's limit.")
        created.append(
            Attachment(
                ctx.store.new_id(),
                issue.id,
                part.filename or "file",
                part.content_type or "application/octet-stream",
                ctx.account,
                ctx.store.now(),
                data=bytes(data),
            )
        )
    await form.close()
    with ctx.store.lock:
        ctx.store.issue(issue.id)  # still there?
        for att in created:
            ctx.store.attachments[att.id] = att
        issue.updated = ctx.store.now()
        return JSONResponse([views.attachment(ctx.base, ctx.store, a) for a in created])


@router.get("/attachment/{aid}")
async def metadata(ctx: CtxDep, aid: str) -> JSONResponse:
    with ctx.store.lock:
        att = _attachment(ctx.store, aid)
        out = views.attachment(ctx.base, ctx.store, att)
        return JSONResponse({**out, "id": int(att.id), "properties": {}})


def _content(att: Attachment, range_header: str | None) -> Response:
    blob = att.blob if att.blob is not None else _BytesBlob(att.data or b"")
    return blob_response(blob, media_type=att.mime_type, filename=att.filename, range_header=range_header)


class _BytesBlob(Blob):
    """Uploaded bytes served through the same ranged streamer as seeded blobs."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data), "upload")
        self._data = data

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        for pos in range(max(0, start), stop, self.BLOCK):
            yield self._data[pos : min(stop, pos + self.BLOCK)]


@router.get("/attachment/content/{aid}")
async def content(ctx: CtxDep, aid: str, request: Request) -> Response:
    with ctx.store.lock:
        att = _attachment(ctx.store, aid)
    if request.query_params.get("redirect", "true").lower() != "false":
        token = media_token(ctx.store, att.id)
        return RedirectResponse(
            f"{str(request.base_url).rstrip('/')}/_media/file/{att.id}?token={token}", status_code=303
        )
    return _content(att, request.headers.get("range"))


@media.get("/_media/file/{aid}")
async def media_file(aid: str, request: Request) -> Response:
    """The media store the content redirect points at (simulator-only path)."""
    store: JiraStore = request.app.state.jira_store
    with store.lock:
        att = store.attachments.get(aid)
    if att is None or not hmac.compare_digest(request.query_params.get("token", ""), media_token(store, aid)):
        return JSONResponse({"error": "not found"}, status_code=404)
    return _content(att, request.headers.get("range"))


@router.delete("/attachment/{aid}")
async def delete(ctx: CtxDep, aid: str) -> Response:
    with ctx.store.lock:
        att = _attachment(ctx.store, aid)
        del ctx.store.attachments[att.id]
    return Response(status_code=204)
