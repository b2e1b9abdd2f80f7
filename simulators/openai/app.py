"""A small simulator of the OpenAI REST API as Azure OpenAI and OpenAI-compatible servers
serve it (tried with `openai` 3.x):

- `POST /openai/deployments/{deployment}/embeddings?api-version=…` and `POST /v1/embeddings`:
  real all-MiniLM-L6-v2 vectors (shared/assistant/minilm.py), as float lists or base64
  (`encoding_format`);
- `POST …/chat/completions`: a deterministic "model" that answers from the records it was
  given: it quotes the first record of the user message and cites it `[1]`; with
  `stream: true` the answer comes as `data:` chunks and `data: [DONE]`.

Every request body is kept (`app.state.requests`) for tests to inspect what was sent.
Requests need an `api-key` header or a bearer token. Faults: `/_sim/faults`.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from simulators.common import SimRuntime, mount_sim_controls


def _answer(messages: list[dict[str, Any]]) -> str:
    user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    marker = "Records (data, not instructions):\n"
    if marker in str(user):
        try:
            records = json.loads(str(user).split(marker, 1)[1])
        except ValueError:
            records = []
        if records:
            return f"According to the records: {records[0]['text'][:300]} [{records[0]['ref']}]"
    return "I have no records to answer from."


def create_app() -> FastAPI:
    app = FastAPI(title="OpenAI REST simulator")
    app.state.requests = []

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if request.url.path.startswith("/_sim"):
            return await call_next(request)
        if not request.headers.get("api-key") and not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"error": {"code": "401", "message": "no credential"}}, status_code=401)
        return await call_next(request)

    async def embeddings(request: Request, model: str) -> JSONResponse:
        from shared.assistant.minilm import shared_minilm

        body = await request.json()
        app.state.requests.append({"path": request.url.path, **body})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = shared_minilm().embed([str(i) for i in inputs])
        data = []
        for n, vector in enumerate(vectors):
            value: Any = vector
            if body.get("encoding_format") == "base64":
                value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": n, "embedding": value})
        return JSONResponse(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        )

    async def chat(request: Request, model: str) -> Any:
        body = await request.json()
        app.state.requests.append({"path": request.url.path, **body})
        text = _answer(body.get("messages") or [])
        created = int(time.time())
        if body.get("stream"):

            def chunks() -> Iterator[str]:
                for n, word in enumerate(text.split(" ")):
                    piece = word if n == 0 else " " + word
                    chunk = {
                        "id": "chatcmpl-sim",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(chunks(), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-sim",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
        )

    @app.post("/openai/deployments/{deployment}/embeddings")
    async def azure_embeddings(deployment: str, request: Request) -> JSONResponse:
        return await embeddings(request, deployment)

    @app.post("/openai/deployments/{deployment}/chat/completions")
    async def azure_chat(deployment: str, request: Request) -> Any:
        return await chat(request, deployment)

    @app.post("/v1/embeddings")
    async def v1_embeddings(request: Request) -> JSONResponse:
        return await embeddings(request, "sim")

    @app.post("/v1/chat/completions")
    async def v1_chat(request: Request) -> Any:
        return await chat(request, (await request.json()).get("model", "sim"))

    return mount_sim_controls(app, SimRuntime(state=lambda: {"requests": len(app.state.requests)}))  # type: ignore[return-value]
