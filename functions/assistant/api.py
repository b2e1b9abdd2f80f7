"""`POST /api/orgs/{orgId}/assistant/ask`: a member's question about the org's migrations.

Any member may ask (and any API key: the records are the run logs every caller of the
org may read); what a caller may see is the search filter built from their permissions,
so an external member never retrieves a record kind they could not read through the API.
`Accept: text/event-stream` streams the answer: `event: query`, `event: delta`…,
`event: citations`, `event: end`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from functions.http_api.deps import authorize
from shared.identity.access import Action, allowed_actions
from shared.store.stores import get_stores
from shared.tenancy.auth import OrgAccess

router = APIRouter(prefix="/orgs/{orgId}/assistant", tags=["assistant"])
Asker = Annotated[OrgAccess, Depends(authorize(Action.ASSISTANT_ASK))]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=1000, description="the question, in any words")


class Citation(BaseModel):
    ref: int
    type: str = Field(description="run, item or doc")
    runId: str | None = None
    kind: str | None = None
    sourceId: str | None = None
    sourceIds: list[str] | None = Field(default=None, description="the items of a grouped record")
    section: str | None = None


class AskAnswer(BaseModel):
    answer: str
    citations: list[Citation]
    query: dict[str, Any] = Field(description="what was searched: text, filter, mode, region, records retrieved")
    model: str = Field(description="the chat model, or `extractive`")


def _assistant(region: str) -> Any:
    from shared.assistant.backends import Role, backends_for
    from shared.assistant.service import Assistant

    return Assistant(backends_for(get_stores().settings, region, Role.ANSWER))


@router.post(
    "/ask",
    response_model=AskAnswer,
    summary="Ask the assistant about this organisation's migrations",
    responses={200: {"content": {"application/json": {}, "text/event-stream": {}}}},
)
async def ask(body: AskRequest, access: Asker, request: Request) -> Any:
    assistant = _assistant(access.ctx.region)
    allowed = allowed_actions(access.caller)
    if "text/event-stream" in request.headers.get("accept", ""):
        events = assistant.ask_stream(access.ctx.tenant_id, allowed, body.question)
        first = await anext(events)  # retrieval errors (a blank question…) still answer as problems
        return StreamingResponse(
            _sse(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = await assistant.ask(access.ctx.tenant_id, allowed, body.question)
    return answer.to_json()


async def _sse(first: tuple[str, Any], events: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[str]:
    async def all_events() -> AsyncIterator[tuple[str, Any]]:
        yield first
        async for event in events:
            yield event

    try:
        async for name, data in all_events():
            if name == "done":
                yield f"event: end\ndata: {json.dumps(data)}\n\n"
            else:
                yield f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    except Exception as exc:
        yield f"event: error\ndata: {json.dumps({'type': type(exc).__name__})}\n\n"
