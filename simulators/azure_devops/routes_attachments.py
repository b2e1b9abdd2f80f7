"""Attachments: upload (``uploadType=Simple`` in one body, or ``Chunked``: create, then ``PUT``
``Content-Range`` chunks in order) and download; a file is linked to a work item by adding
an ``AttachedFile`` relation with the answered ``url`` (``workitems.py``)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from simulators.azure_devops.auth import caller
from simulators.azure_devops.errors import AdoError
from simulators.azure_devops.fields import MAX_SIMPLE_UPLOAD
from simulators.azure_devops.routes_core import get_project
from simulators.azure_devops.state import origin, sim_state
from simulators.azure_devops.store import Attachment, Identity, new_guid
from simulators.azure_devops.workitems import attachment_url
from simulators.common import blob_response, content_disposition

router = APIRouter()
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
#: the largest chunked upload the simulator accepts (the service's documented maximum)
MAX_CHUNKED_UPLOAD = 2 * 1024 * 1024 * 1024


def _too_large(limit: int) -> AdoError:
    return AdoError(
        413, f"VS403300: The attachment is larger than the {limit} bytes allowed.", "AttachmentSizeExceededException"
    )


def _file_name(request: Request) -> str:
    name = request.query_params.get("fileName") or ""
    if not name.strip() or len(name) > 255 or any(ch in name for ch in '\\/:*?"<>|'):
        raise AdoError(400, "VS403297: fileName is required and must be a valid file name.", "ArgumentException")
    return name


@router.post("/{organization}/{project}/_apis/wit/attachments")
async def create_attachment(project: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    name = _file_name(request)
    upload_type = (request.query_params.get("uploadType") or "simple").lower()
    att = Attachment(id=new_guid(), project_id=proj.id, name=name, data=bytearray())
    if upload_type == "chunked":
        att.complete = False
    elif upload_type == "simple":
        declared = request.headers.get("content-length")
        if declared and int(declared) > MAX_SIMPLE_UPLOAD:
            raise _too_large(MAX_SIMPLE_UPLOAD)
        assert att.data is not None
        async for chunk in request.stream():
            att.data.extend(chunk)
            if len(att.data) > MAX_SIMPLE_UPLOAD:
                raise _too_large(MAX_SIMPLE_UPLOAD)
    else:
        raise AdoError(400, f"VS403298: uploadType '{upload_type}' is not Simple or Chunked.", "ArgumentException")
    with state.store.lock:
        state.store.attachments[att.id] = att
    return JSONResponse(
        {"id": att.id, "url": attachment_url(origin(request), state.store.organization, proj.id, att.id)},
        status_code=201,
    )


@router.put("/{organization}/{project}/_apis/wit/attachments/{att_id}")
async def upload_chunk(
    project: str, att_id: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    proj = get_project(state, project)
    att = state.store.attachments.get(att_id.lower())
    if att is None or att.complete:
        raise AdoError(404, f"VS403299: The chunked upload {att_id} does not exist.", "AttachmentNotFoundException")
    found = _RANGE.fullmatch(request.headers.get("content-range", "").strip())
    if found is None:
        raise AdoError(400, "VS403301: A chunk needs a Content-Range: bytes a-b/total header.", "ArgumentException")
    start, end, total = (int(g) for g in found.groups())
    assert att.data is not None
    if total > MAX_CHUNKED_UPLOAD:
        raise _too_large(MAX_CHUNKED_UPLOAD)
    if start != len(att.data) or end < start or end >= total or (att.expected is not None and total != att.expected):
        raise AdoError(
            400,
            f"VS403302: The chunk {start}-{end}/{total} does not follow the {len(att.data)} bytes received.",
            "ArgumentException",
        )
    att.expected = total
    body = await request.body()
    if len(body) != end - start + 1:
        raise AdoError(400, "VS403303: The chunk's length does not match its Content-Range.", "ArgumentException")
    att.data.extend(body)
    if len(att.data) == total:
        att.complete = True
    return JSONResponse(
        {"id": att.id, "url": attachment_url(origin(request), state.store.organization, proj.id, att.id)},
        status_code=201,
    )


@router.get("/{organization}/{project}/_apis/wit/attachments/{att_id}")
async def get_attachment(
    project: str, att_id: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> Response:
    state = sim_state(request)
    get_project(state, project)
    att = state.store.attachments.get(att_id.lower())
    if att is None or not att.complete:
        raise AdoError(404, f"VS403299: The attachment {att_id} does not exist.", "AttachmentNotFoundException")
    name = request.query_params.get("fileName") or att.name
    download = request.query_params.get("download", "").lower() == "true"
    if att.blob is not None:
        return blob_response(att.blob, filename=name if download else None, range_header=request.headers.get("range"))
    headers = {"content-disposition": content_disposition(name)} if download else {}
    return Response(bytes(att.data or b""), media_type="application/octet-stream", headers=headers)
