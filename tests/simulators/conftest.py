"""Fixtures shared by the simulator tests (all vendors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.types import ASGIApp

from simulators.common import FakeClock

ResponseHook = Callable[[httpx.Response], Awaitable[None]]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that only moves when the test calls ``advance()``."""
    return FakeClock()


@pytest.fixture
def asgi_client() -> Callable[..., httpx.AsyncClient]:
    """Factory: ``asgi_client(app, base_url=..., on_response=hook)`` — an in-process client.

    ``on_response`` runs on every response after its body is read (spec validation hooks).
    """

    def make(
        app: ASGIApp, *, base_url: str = "http://sim", on_response: ResponseHook | None = None
    ) -> httpx.AsyncClient:
        hooks: dict[str, list[ResponseHook]] = {"response": []}
        if on_response is not None:

            async def run(response: httpx.Response) -> None:
                await response.aread()
                await on_response(response)

            hooks["response"].append(run)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=base_url, event_hooks=hooks, timeout=30
        )

    return make
