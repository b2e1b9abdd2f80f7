"""A log stream ends when its credential stops holding: at token expiry at once, after a
revocation within one re-check interval. Fake clocks only; nothing sleeps."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from functions.http_api.logs import sse_events
from shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from shared.logs.reader import Cursor, RunLogReader
from shared.logs.stream_auth import StreamAuthorisation


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recheck:
    """Counts re-checks; raises `refusal` once it is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.refusal: Exception | None = None

    async def __call__(self) -> None:
        self.calls += 1
        if self.refusal is not None:
            raise self.refusal


async def test_rechecks_only_when_due_and_ends_on_refusal() -> None:
    clock, recheck = Clock(), Recheck()
    guard = StreamAuthorisation(recheck, expires_at=None, interval_s=30, clock=clock)
    for _ in range(5):
        assert await guard.ended() is None
    assert recheck.calls == 0  # nothing is due before the interval: no store read per event
    clock.now += 30
    assert await guard.ended() is None and recheck.calls == 1
    recheck.refusal = AuthenticationError("this API key was revoked")
    clock.now += 29
    assert await guard.ended() is None and recheck.calls == 1
    clock.now += 1
    assert await guard.ended() == "access ended: this API key was revoked"
    assert await guard.ended() == "access ended: this API key was revoked" and recheck.calls == 2  # sticky


@pytest.mark.parametrize(
    "refusal",
    [
        PermissionDeniedError("your membership of this organisation is deactivated"),
        NotFoundError("organisation not found"),
    ],
)
async def test_deactivated_removed_or_deleted_ends_the_stream(refusal: Exception) -> None:
    clock, recheck = Clock(), Recheck()
    guard = StreamAuthorisation(recheck, expires_at=None, interval_s=30, clock=clock)
    recheck.refusal = refusal
    clock.now += 30
    assert (await guard.ended() or "").startswith("access ended:")


async def test_token_expiry_ends_the_stream_at_once_without_a_store_read() -> None:
    clock, recheck = Clock(), Recheck()
    guard = StreamAuthorisation(recheck, expires_at=clock.now + 10, interval_s=30, clock=clock)
    clock.now += 9.9
    assert await guard.ended() is None
    clock.now += 0.1
    assert await guard.ended() == "credentials expired" and recheck.calls == 0


async def test_a_check_that_cannot_run_is_retried_not_taken_for_a_refusal() -> None:
    clock, recheck = Clock(), Recheck()
    guard = StreamAuthorisation(recheck, expires_at=None, interval_s=30, clock=clock)
    recheck.refusal = ConnectionError("storage hiccup")
    clock.now += 30
    assert await guard.ended() is None
    recheck.refusal = None
    clock.now += 5
    assert await guard.ended() is None and recheck.calls == 2


class _Reader:
    """Yields one line per step, or None (an empty poll); moves the clock each step."""

    def __init__(self, clock: Clock, steps: list[dict[str, Any] | None]) -> None:
        self.clock, self.steps = clock, steps

    async def follow(self, after: Cursor, **kwargs: Any) -> AsyncIterator[dict[str, Any] | None]:
        for step in self.steps:
            self.clock.now += 10
            yield step


class _Request:
    async def is_disconnected(self) -> bool:
        return False


async def test_the_stream_sends_nothing_after_revocation() -> None:
    clock, recheck = Clock(), Recheck()
    guard = StreamAuthorisation(recheck, expires_at=None, interval_s=30, clock=clock)
    steps: list[dict[str, Any] | None] = [{"id": f"0.{i}", "event": "item.created"} for i in range(1, 11)]
    reader = _Reader(clock, steps)

    async def finished() -> bool:
        return False

    sent: list[str] = []
    async for chunk in sse_events(
        cast(Any, _Request()),
        "run_1",
        cast(RunLogReader, reader),
        Cursor(0, 0),
        None,
        540.0,
        finished=finished,
        guard=guard,
    ):
        sent.append(chunk)
        if len(sent) == 3:  # two lines out: the key is revoked now
            recheck.refusal = AuthenticationError("this API key was revoked")
    lines = [c for c in sent if c.startswith("id: ")]
    end = sent[-1]
    assert end.startswith("event: end\n")
    assert json.loads(end.split("data: ", 1)[1]) == {"reason": "access ended: this API key was revoked"}
    # Revoked after the 2nd line; the next due re-check (every 30 s, one step = 10 s) stops it.
    assert 2 <= len(lines) <= 5 and len(lines) < len(steps)
