"""The request-body limit answers 413 problem+json, for a declared and for a chunked body."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI

from functions.http_api.body_limit import BodyLimitMiddleware


def _app(limit: int) -> Any:
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    return BodyLimitMiddleware(app, max_bytes=limit)


async def _post(app: Any, content: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post(
            "/echo", content=content, headers={"content-type": "application/json", **(headers or {})}
        )


async def test_a_body_within_the_limit_passes() -> None:
    r = await _post(_app(1024), json.dumps({"a": "x" * 100}))
    assert r.status_code == 200 and r.json() == {"keys": 1}


async def test_a_declared_oversized_body_is_413_problem() -> None:
    r = await _post(_app(1024), json.dumps({"secret": "x" * 10_000}))
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:ferry:problem:payload-too-large" and r.json()["limit"] == 1024


async def test_a_chunked_oversized_body_is_413_problem() -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b'{"a":"' + b"x" * 200 + b'",'
        yield b'"b":1}'

    r = await _post(_app(1024), chunks())
    assert r.status_code == 413 and r.json()["status"] == 413
