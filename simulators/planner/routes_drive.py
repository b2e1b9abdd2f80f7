"""The group's SharePoint document library: where files behind Planner references live.

Upload: `PUT .../root:/{path}:/content` (simple upload, up to 4 MB here) or
`POST .../root:/{path}:/createUploadSession` then `PUT {uploadUrl}` with `Content-Range` chunks
(multiples of 320 KiB, at most 60 MiB each). Download: `GET .../items/{id}/content` answers 302
to a pre-authenticated URL (https://learn.microsoft.com/graph/api/driveitem-get-content).
`GET /shares/{u!base64url(webUrl)}/driveItem` resolves a reference URL to its file.
"""

from __future__ import annotations

import base64
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, BinaryIO

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from simulators.common import blob_response, make_blob
from simulators.planner.auth import graph_principal
from simulators.planner.errors import GraphError, bad_request, directory_not_found
from simulators.planner.state import SimState, sim_state
from simulators.planner.store import (
    BlobSource,
    DriveItem,
    Group,
    Principal,
    UploadSession,
    iso,
)
from simulators.planner.views import download_url, drive_item_json

router = APIRouter()
Caller = Depends(graph_principal)
CHUNK_MULTIPLE = 320 * 1024
MAX_CHUNK = 60 * 1024 * 1024
_file_locks: dict[int, threading.Lock] = {}


def item_not_found() -> GraphError:
    return GraphError(404, "itemNotFound", "The resource could not be found.")


def _drive_group(state: SimState, drive_id: str, who: Principal) -> Group:
    group = state.store.group_of_drive(drive_id)
    if group is None:
        raise item_not_found()
    if who.user_id is not None and who.user_id not in group.members:
        raise GraphError(403, "accessDenied", "Access denied")
    return group


def _group(state: SimState, group_id: str, who: Principal) -> Group:
    group = state.store.groups.get(group_id)
    if group is None:
        raise directory_not_found(group_id)
    return _drive_group(state, group.drive_id, who)


def _mime(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/v1.0/groups/{group_id}/drive")
async def group_drive(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    group = _group(state, group_id, who)
    return JSONResponse(
        {
            "id": group.drive_id,
            "driveType": "documentLibrary",
            "name": "Documents",
            "webUrl": f"https://{state.store.sharepoint_host}/sites/{group.mail_nickname}/Shared%20Documents",
            "owner": {"group": {"id": group.id, "displayName": group.display_name}},
        }
    )


_PATH_OP = re.compile(r"^(?P<path>.+?):(?:/(?P<op>content|createUploadSession))?/?$")


def _split(rest: str) -> tuple[str, str | None]:
    match = _PATH_OP.match(rest)
    if not match:
        raise bad_request("The path is not valid.", code="invalidRequest")
    path = match.group("path").strip("/")
    if not path or any(part in ("", ".", "..") for part in path.split("/")):
        raise bad_request("The path is not valid.", code="invalidRequest")
    # SharePoint refuses these characters in file and folder names.
    if any(ch in '"*:<>?\\|' for ch in path) or any(part != part.strip(" ") for part in path.split("/")):
        raise bad_request("The provided name contains invalid characters.", code="invalidRequest")
    return path, match.group("op")


async def _path_route(state: SimState, request: Request, group: Group, rest: str, who: Principal) -> Response:
    path, op = _split(rest)
    method = request.method
    if op is None and method == "GET":
        item = state.store.find_item_by_path(group.drive_id, path)
        if item is None:
            raise item_not_found()
        return JSONResponse(drive_item_json(state.store, item, _base(request)))
    if op == "content" and method == "GET":
        item = state.store.find_item_by_path(group.drive_id, path)
        if item is None:
            raise item_not_found()
        return RedirectResponse(download_url(state.store, item, _base(request)), status_code=302)
    if op == "content" and method == "PUT":
        return await _simple_upload(state, request, group, path, who)
    if op == "createUploadSession" and method == "POST":
        return await _create_session(state, request, group, path, who)
    raise GraphError(405, "invalidRequest", "The method is not allowed for this resource.")


_PATH_METHODS = ["GET", "PUT", "POST"]


@router.api_route("/v1.0/groups/{group_id}/drive/root:/{rest:path}", methods=_PATH_METHODS)
@router.api_route("/v1.0/groups/{group_id}/drive/items/root:/{rest:path}", methods=_PATH_METHODS)
async def group_path(group_id: str, rest: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    return await _path_route(state, request, _group(state, group_id, who), rest, who)


@router.api_route("/v1.0/drives/{drive_id}/root:/{rest:path}", methods=_PATH_METHODS)
@router.api_route("/v1.0/drives/{drive_id}/items/root:/{rest:path}", methods=_PATH_METHODS)
async def drive_path(drive_id: str, rest: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    return await _path_route(state, request, _drive_group(state, drive_id, who), rest, who)


def _item(state: SimState, drive_id: str, item_id: str, who: Principal) -> DriveItem:
    _drive_group(state, drive_id, who)
    item = state.store.drive_items.get(item_id)
    if item is None or item.drive_id != drive_id:
        raise item_not_found()
    return item


@router.get("/v1.0/drives/{drive_id}/items/{item_id}")
async def get_item(drive_id: str, item_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    item = _item(state, drive_id, item_id, who)
    return JSONResponse(drive_item_json(state.store, item, _base(request)))


@router.get("/v1.0/drives/{drive_id}/items/{item_id}/content")
async def get_item_content(drive_id: str, item_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    item = _item(state, drive_id, item_id, who)
    return RedirectResponse(download_url(state.store, item, _base(request)), status_code=302)


def _shared_item(state: SimState, share_id: str, who: Principal) -> DriveItem:
    # Sharing URLs are encoded as "u!" + unpadded base64url of the URL
    # (https://learn.microsoft.com/graph/api/shares-get).
    if not share_id.startswith("u!"):
        raise bad_request("The sharing token is not valid.", code="invalidRequest")
    encoded = share_id[2:]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The sharing token is not valid.", code="invalidRequest") from exc
    item = state.store.find_item_by_web_url(url)
    if item is None:
        raise item_not_found()
    _drive_group(state, item.drive_id, who)
    return item


@router.get("/v1.0/shares/{share_id}/driveItem")
async def shared_item(share_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    item = _shared_item(state, share_id, who)
    return JSONResponse(drive_item_json(state.store, item, _base(request)))


@router.get("/v1.0/shares/{share_id}/driveItem/content")
async def shared_content(share_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    item = _shared_item(state, share_id, who)
    return RedirectResponse(download_url(state.store, item, _base(request)), status_code=302)


@router.get("/_layouts/15/download.aspx")
async def download(request: Request) -> Response:
    """The pre-authenticated download URL (no Authorization header needed)."""
    state = sim_state(request)
    item_id = state.store.download_tokens.get(request.query_params.get("tempauth", ""))
    item = state.store.drive_items.get(item_id or "")
    if item is None or item.id != request.query_params.get("UniqueId"):
        return Response(status_code=401)
    headers = {"ETag": f'"{{{item.id}}},{item.version}"'}
    if isinstance(item.content, BlobSource):
        blob = make_blob(item.content.size, item.content.seed)
        return blob_response(
            blob,
            media_type=item.mime_type,
            filename=item.name,
            range_header=request.headers.get("range"),
            headers=headers,
        )
    headers["content-length"] = str(item.size)
    return StreamingResponse(_iter_file(item.content, item.size), media_type=item.mime_type, headers=headers)


def _iter_file(handle: BinaryIO, size: int) -> Iterator[bytes]:
    lock = _file_locks.setdefault(id(handle), threading.Lock())
    pos = 0
    while pos < size:
        with lock:
            handle.seek(pos)
            chunk = handle.read(min(65536, size - pos))
        if not chunk:
            return
        pos += len(chunk)
        yield chunk


async def _spool(request: Request, limit: int) -> tuple[BinaryIO, int]:
    # The spool outlives this function: it becomes the stored file's content.
    spool: BinaryIO = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # type: ignore[assignment]
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            raise GraphError(413, "invalidRequest", "The request body is too large for this upload method.")
        spool.write(chunk)
    return spool, size


def _commit(
    state: SimState, group: Group, path: str, content: BinaryIO, size: int, conflict: str, who: Principal
) -> tuple[DriveItem, bool]:
    """Store a file at `path`; returns (item, created)."""
    store = state.store
    parent, _, name = path.rpartition("/")
    existing = store.find_item_by_path(group.drive_id, path)
    if existing is not None and conflict == "fail":
        raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
    if existing is not None and conflict == "rename":
        stem, dot, ext = name.rpartition(".")
        base, suffix = (stem, f".{ext}") if dot else (name, "")
        n = 1
        while store.find_item_by_path(group.drive_id, f"{parent}/{base} {n}{suffix}".strip("/")):
            n += 1
        name, existing = f"{base} {n}{suffix}", None
    now = state.now()
    if existing is not None:
        existing.content, existing.size, existing.modified = content, size, now
        existing.version += 1
        return existing, False
    item = DriveItem(
        store.ids.planner(), group.drive_id, group.id, name, parent, size, _mime(name), now, now, who.identity, content
    )
    store.drive_items[item.id] = item
    return item, True


async def _simple_upload(state: SimState, request: Request, group: Group, path: str, who: Principal) -> Response:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > state.simple_upload_max:
        raise GraphError(413, "invalidRequest", "The file is too large for a simple upload; use an upload session.")
    content, size = await _spool(request, state.simple_upload_max)
    conflict = request.query_params.get("@microsoft.graph.conflictBehavior", "replace")
    item, created = _commit(state, group, path, content, size, conflict, who)
    return JSONResponse(drive_item_json(state.store, item, _base(request)), status_code=201 if created else 200)


async def _create_session(state: SimState, request: Request, group: Group, path: str, who: Principal) -> Response:
    raw = await request.body()
    body: dict[str, Any] = {}
    if raw.strip():
        body = await request.json()
    item_props = body.get("item") or {}
    conflict = item_props.get("@microsoft.graph.conflictBehavior", "replace")
    if conflict not in ("fail", "replace", "rename"):
        raise bad_request(f"Invalid conflictBehavior '{conflict}'.", code="invalidRequest")
    if conflict == "fail" and state.store.find_item_by_path(group.drive_id, path):
        raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
    session = UploadSession(
        secrets.token_hex(16), group.drive_id, group.id, path, conflict, state.now() + timedelta(days=1), who.identity
    )
    state.store.upload_sessions[session.id] = session
    upload_url = (
        f"{_base(request)}/_api/v2.0/drives/{group.drive_id}/uploadSession"
        f"?guid={session.id}&tempauth={secrets.token_urlsafe(16)}"
    )
    return JSONResponse(
        {"uploadUrl": upload_url, "expirationDateTime": iso(session.expires), "nextExpectedRanges": ["0-"]}
    )


_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


@router.api_route("/_api/v2.0/drives/{drive_id}/uploadSession", methods=["PUT", "GET", "DELETE"])
async def upload_chunk(drive_id: str, request: Request) -> Response:
    """The upload URL: pre-authenticated, so no Authorization header is required."""
    state = sim_state(request)
    session = state.store.upload_sessions.get(request.query_params.get("guid", ""))
    if session is None or session.drive_id != drive_id:
        raise item_not_found()
    status = {"expirationDateTime": iso(session.expires), "nextExpectedRanges": [f"{session.received}-"]}
    if request.method == "GET":
        return JSONResponse(status)
    if request.method == "DELETE":
        state.store.upload_sessions.pop(session.id, None)
        return Response(status_code=204)
    match = _RANGE.match(request.headers.get("content-range", ""))
    if not match:
        raise bad_request("The Content-Range header is missing or malformed.", code="invalidRequest")
    start, end, total = (int(g) for g in match.groups())
    length = end - start + 1
    if (
        start != session.received
        or end < start
        or end >= total
        or (session.total is not None and total != session.total)
    ):
        raise GraphError(
            416,
            "invalidRange",
            f"The uploaded fragment overlaps or is out of order; expected {session.received}-.",
            inner={"nextExpectedRanges": [f"{session.received}-"]},
        )
    if length > MAX_CHUNK:
        raise GraphError(413, "invalidRequest", "The fragment is larger than 60 MiB.")
    if end + 1 < total and length % CHUNK_MULTIPLE:
        raise bad_request("Fragments other than the last must be a multiple of 320 KiB.", code="invalidRequest")
    session.total = total
    written = 0
    session.buffer.seek(start)
    async for chunk in request.stream():
        written += len(chunk)
        if written > length:
            break
        session.buffer.write(chunk)
    if written != length:
        session.buffer.seek(start)
        session.buffer.truncate(start)  # a failed fragment leaves nothing behind
        raise bad_request("The body length does not match the Content-Range.", code="invalidRequest")
    session.received = end + 1
    if session.received < total:
        return JSONResponse(
            {"expirationDateTime": iso(session.expires), "nextExpectedRanges": [f"{session.received}-"]},
            status_code=202,
        )
    state.store.upload_sessions.pop(session.id, None)
    group = state.store.groups[session.group_id]
    who = Principal(app_id="", user_id=None)
    item, created = _commit(state, group, session.path, session.buffer, total, session.conflict_behavior, who)
    item.created_by = session.created_by
    return JSONResponse(drive_item_json(state.store, item, _base(request)), status_code=201 if created else 200)
