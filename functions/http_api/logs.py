"""A run's log: pages by cursor (with an optional long-poll wait), a live server-sent-event
stream, a failures-only view, and deletion on request.

Streaming: the HTTP trigger uses the Functions HTTP streaming extension (`front_door`), so
in Azure as under the local runner each line reaches the client when it is written. A stream
ends by itself after `maxSeconds` (within the function timeout) and the client reconnects
with `Last-Event-ID`, losing and repeating nothing. A stream never outlives its credential:
at the token's expiry, and within 30 s of a key's revocation or a member's deactivation or
removal, it sends `event: end` with the reason and closes (stream_auth.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from starlette.responses import StreamingResponse

from functions.http_api.deps import authorize, credentials, get_authenticator
from functions.http_api.ids import RunId
from shared.errors import NotFoundError
from shared.identity.access import Action
from shared.logs.model import LogLevel
from shared.logs.reader import Cursor, RunLogReader
from shared.logs.runs import delete_run_logs, run_document, run_finished
from shared.logs.stream_auth import StreamAuthorisation
from shared.tenancy import audit
from shared.tenancy.auth import OrgAccess

router = APIRouter(prefix="/orgs/{orgId}/runs/{runId}/logs", tags=["logs"])
Read = Annotated[OrgAccess, Depends(authorize(Action.LOGS_READ))]
Delete = Annotated[OrgAccess, Depends(authorize(Action.LOGS_DELETE))]
After = Annotated[str | None, Query(description="cursor: the `id` of the last line seen (or a page's `cursor`)")]
Limit = Annotated[int, Query(ge=1, le=1000, description="lines per page")]
HEARTBEAT_POLLS = 30  # an SSE comment every ~15 s of silence keeps proxies from closing
POLL_S = 0.5
SSE_DEFAULT_S = 300  # well inside the 10-minute function timeout; clients reconnect after it


async def _require_run(access: OrgAccess, run_id: str, reader: RunLogReader) -> None:
    if await reader.exists() or await run_document(access.ctx, run_id) is not None:
        return
    raise NotFoundError("run not found")


def _page_body(page: Any) -> dict[str, Any]:
    return {"items": page.items, "cursor": str(page.cursor), "more": page.more}


@router.get(
    "",
    summary="Log lines after a cursor; `Accept: text/event-stream` streams them live",
    responses={200: {"content": {"application/json": {}, "text/event-stream": {}}}},
)
async def get_logs(
    runId: RunId,
    request: Request,
    access: Read,
    after: After = None,
    level: Annotated[LogLevel | None, Query(description="minimum level")] = None,
    limit: Limit = 200,
    wait: Annotated[float, Query(ge=0, le=25, description="long-poll: seconds to wait for a line")] = 0,
    maxSeconds: Annotated[int | None, Query(ge=1, le=540, description="SSE: end the stream after")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Any:
    reader = RunLogReader(access.ctx, runId)
    await _require_run(access, runId, reader)
    if "text/event-stream" in request.headers.get("accept", ""):
        start = Cursor.parse(last_event_id, field_name="Last-Event-ID") if last_event_id else Cursor.parse(after)
        cred = credentials(request)
        guard = StreamAuthorisation(
            lambda: get_authenticator().reauthorise(access, cred, Action.LOGS_READ), expires_at=access.expires_at
        )

        async def finished() -> bool:
            return await run_finished(access.ctx, runId)

        events = sse_events(
            request, runId, reader, start, level, float(maxSeconds or SSE_DEFAULT_S), finished=finished, guard=guard
        )
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
    cursor = Cursor.parse(after)
    if wait:
        page = await reader.wait_page(cursor, wait_s=wait, limit=limit, min_level=level)
    else:
        page = await reader.page(cursor, limit=limit, min_level=level)
    return _page_body(page)


async def sse_events(
    request: Request,
    run_id: str,
    reader: RunLogReader,
    start: Cursor,
    level: LogLevel | None,
    max_seconds: float,
    *,
    finished: Callable[[], Awaitable[bool]],
    guard: StreamAuthorisation,
) -> AsyncIterator[str]:
    """`id:`/`event: log`/`data:` per line; `event: end` once the run has finished and
    every line was sent, or as soon as the caller's credential stops holding (`guard`);
    comments as heartbeats; ends after `max_seconds`."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    polls = 0

    yield f"retry: 2000\n: stream of run {run_id}\n\n"
    async for item in reader.follow(start, min_level=level, poll_s=POLL_S, stop=finished):
        reason = await guard.ended()
        if reason is not None:
            # Nothing more for this caller; a reconnect authenticates afresh (and fails).
            yield f"event: end\ndata: {json.dumps({'reason': reason})}\n\n"
            return
        if item is not None:
            yield f"id: {item['id']}\nevent: log\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
            continue
        polls += 1
        if await request.is_disconnected() or loop.time() >= deadline:
            return
        if polls % HEARTBEAT_POLLS == 0:
            yield ": keep-alive\n\n"
    yield 'event: end\ndata: {"reason":"run finished"}\n\n'


@router.get("/failures", summary="Failed items only, with counts by kind, code and error")
async def get_failures(runId: RunId, access: Read, after: After = None, limit: Limit = 200) -> dict[str, Any]:
    reader = RunLogReader(access.ctx, runId)
    await _require_run(access, runId, reader)
    page = await reader.page(Cursor.parse(after), limit=limit, min_level=LogLevel.ERROR)
    by_kind = Counter(i.get("kind") or "run" for i in page.items)
    by_code = Counter(i.get("code") or (i.get("error") or {}).get("slug") or "unspecified" for i in page.items)
    by_error = Counter((i.get("error") or {}).get("type") or "none" for i in page.items)
    return {
        **_page_body(page),
        "summary": {
            "failures": len(page.items),
            "byKind": dict(by_kind),
            "byCode": dict(by_code),
            "byError": dict(by_error),
        },
    }


@router.delete("", status_code=204, summary="Delete the run's log now (audited)")
async def delete_logs(runId: RunId, access: Delete) -> Response:
    deleted = await delete_run_logs(access.ctx, runId)
    if not deleted and await run_document(access.ctx, runId) is None:
        raise NotFoundError("run not found")
    await audit.record(
        access.ctx,
        "logs.deleted",
        actor=access.caller.actor,
        target=runId,
        request=access.request,
        detail={"blobs": deleted},
    )
    return Response(status_code=204)
