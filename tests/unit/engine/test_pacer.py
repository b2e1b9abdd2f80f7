"""Pacer with a fake clock: token bucket, Retry-After, backoff, AIMD, defer, concurrency."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from shared.contract.clock import FakeClock
from shared.contract.httperrors import error_for_response, parse_retry_after
from shared.contract.limits import RateLimit
from shared.contract.pacer import Action, DeferChunk, Pacer, PacerSettings, classify
from shared.errors import (
    AuthRequiredError,
    NotFoundError,
    SkippableItemError,
    ThrottledError,
    TransientError,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make(limit: RateLimit | None = None, **settings: float) -> tuple[Pacer, FakeClock]:
    clock = FakeClock(wall=NOW)
    pacer = Pacer(
        limit or RateLimit(requests=10, per_seconds=1, burst=1, concurrency=4),
        clock=clock,
        rng=random.Random(42),
        settings=PacerSettings(**settings),
    )
    return pacer, clock


class Script:
    """A remote call that fails with the given errors, then succeeds."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


# -- Retry-After -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("99999", 3600.0),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_and_clamp() -> None:
    in_90 = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(in_90, NOW) == pytest.approx(90)
    past = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    far = format_datetime(NOW + timedelta(days=2), usegmt=True)
    assert parse_retry_after(far, NOW, max_s=600) == 600


# -- response and error classification ------------------------------------------------


def _resp(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    req = httpx.Request("POST", "https://api.example.com/1/cards?key=SECRET&token=SECRET")
    return httpx.Response(status, headers=headers, request=req, text='{"error":"x"}')


@pytest.mark.parametrize(
    "status,etype",
    [
        (429, ThrottledError),
        (401, AuthRequiredError),
        (500, TransientError),
        (502, TransientError),
        (408, TransientError),
        (400, SkippableItemError),
        (404, NotFoundError),
        (410, NotFoundError),
        (413, SkippableItemError),
        (422, SkippableItemError),
    ],
)
def test_error_for_response(status: int, etype: type) -> None:
    err = error_for_response(_resp(status), NOW)
    assert type(err) is etype
    assert "SECRET" not in str(err)  # query strings can carry credentials


def test_success_is_not_an_error_and_503_with_retry_after_throttles() -> None:
    assert error_for_response(_resp(204), NOW) is None
    err = error_for_response(_resp(503, {"Retry-After": "7"}), NOW)
    assert isinstance(err, ThrottledError) and err.retry_after == 7


def test_classification_table() -> None:
    assert classify(ThrottledError()) is Action.RATE_LIMITED
    assert classify(TransientError()) is Action.RETRY
    assert classify(httpx.ConnectError("down")) is Action.RETRY
    assert classify(AuthRequiredError()) is Action.AUTH
    assert classify(SkippableItemError()) is Action.SKIP
    assert classify(KeyError("bug")) is Action.FAIL
    assert classify(DeferChunk(9)) is Action.FAIL


# -- token bucket -----------------------------------------------------------------------


async def test_bucket_spaces_calls_at_the_rate() -> None:
    pacer, clock = make(RateLimit(requests=10, per_seconds=1, burst=1, concurrency=1))
    start = clock.monotonic()
    for _ in range(11):
        await pacer.call(Script())
    assert clock.monotonic() - start == pytest.approx(1.0)


async def test_burst_is_free_then_paced() -> None:
    pacer, clock = make(RateLimit(requests=5, per_seconds=1, burst=5, concurrency=5))
    start = clock.monotonic()
    for _ in range(5):
        await pacer.call(Script())
    assert clock.monotonic() == start
    await pacer.call(Script())
    assert clock.monotonic() - start == pytest.approx(0.2)


async def test_exhausted_budget_defers_instead_of_sleeping() -> None:
    pacer, clock = make(RateLimit(requests=1, per_seconds=10, burst=1, concurrency=1))
    await pacer.call(Script())
    with pytest.raises(DeferChunk) as info:
        await pacer.call(Script())
    assert info.value.delay_s == pytest.approx(10)
    assert clock.sleeps == []  # nothing slept
    clock.advance(10)
    await pacer.call(Script())  # the reservation was given back


# -- Retry-After, backoff, AIMD --------------------------------------------------------


async def test_throttle_obeys_retry_after_and_slows_down() -> None:
    pacer, clock = make()
    fn = Script(ThrottledError("429", retry_after=2.0))
    start = clock.monotonic()
    assert await pacer.call(fn) == "ok"
    assert fn.calls == 2
    assert clock.monotonic() - start >= 2.0
    assert pacer.rate_factor < 1.0


async def test_long_retry_after_defers_with_its_delay() -> None:
    pacer, clock = make()
    with pytest.raises(DeferChunk) as info:
        await pacer.call(Script(ThrottledError("429", retry_after=120.0)))
    assert info.value.delay_s == pytest.approx(120)
    assert max(clock.sleeps, default=0) <= 5.0


async def test_http_date_retry_after_from_a_response() -> None:
    pacer, clock = make()
    when = format_datetime(NOW + timedelta(seconds=3), usegmt=True)
    responses = [_resp(429, {"Retry-After": when}), _resp(200)]

    async def fn() -> httpx.Response:
        return responses.pop(0)

    start = clock.monotonic()
    resp = await pacer.call(fn)
    assert resp.status_code == 200
    assert clock.monotonic() - start == pytest.approx(3.0, abs=0.2)


async def test_aimd_recovers_after_successes() -> None:
    pacer, _ = make(decrease_factor=0.5, increase_step=0.1)
    await pacer.call(Script(ThrottledError(retry_after=0.1)))
    # one success after the retry already added a step back
    assert pacer.rate_factor == pytest.approx(0.6)
    for _ in range(10):
        await pacer.call(Script())
    assert pacer.rate_factor == 1.0


def test_backoff_jitter_bounds() -> None:
    pacer, _ = make(backoff_base_s=0.5, backoff_cap_s=8.0)
    for attempt in range(1, 8):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        samples = [pacer.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert max(samples) - min(samples) > ceiling / 4  # it really is jittered


async def test_5xx_retried_with_backoff_then_succeeds() -> None:
    pacer, clock = make()
    fn = Script(TransientError("502"), httpx.ReadTimeout("slow"))
    assert await pacer.call(fn) == "ok"
    assert fn.calls == 3
    assert len(clock.sleeps) >= 2 and 0.25 <= clock.sleeps[-2] <= 0.5


async def test_retries_exhausted_reraises() -> None:
    pacer, _ = make(max_retries=2)
    fn = Script(*(TransientError("500") for _ in range(5)))
    with pytest.raises(TransientError):
        await pacer.call(fn)
    assert fn.calls == 3


async def test_long_backoff_defers() -> None:
    pacer, _ = make(backoff_base_s=10.0)
    with pytest.raises(DeferChunk):
        await pacer.call(Script(TransientError("503")))


async def test_non_idempotent_call_is_not_retried_on_5xx_but_is_on_429() -> None:
    pacer, _ = make()
    fn = Script(TransientError("timeout after commit?"))
    with pytest.raises(TransientError):
        await pacer.call(fn, idempotent=False)
    assert fn.calls == 1
    fn = Script(ThrottledError(retry_after=1))
    assert await pacer.call(fn, idempotent=False) == "ok"


async def test_one_shot_stream_is_never_retried() -> None:
    pacer, _ = make()
    fn = Script(ThrottledError(retry_after=1))
    with pytest.raises(ThrottledError):
        await pacer.call(fn, replayable=False)
    assert pacer.rate_factor < 1.0  # but the pacer still slowed down


async def test_auth_and_item_errors_are_not_retried() -> None:
    pacer, _ = make()
    for err in (AuthRequiredError("revoked"), SkippableItemError("400")):
        fn = Script(err)
        with pytest.raises(type(err)):
            await pacer.call(fn)
        assert fn.calls == 1


# -- concurrency -------------------------------------------------------------------------


async def test_concurrency_cap() -> None:
    pacer, _ = make(RateLimit(requests=1000, per_seconds=1, burst=100, concurrency=2))
    in_flight = peak = 0

    async def fn() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        in_flight -= 1

    await asyncio.gather(*(pacer.call(fn) for _ in range(6)))
    assert peak == 2


def test_registry_shares_one_pacer_per_credential() -> None:
    from shared.contract.pacer import PacerRegistry

    reg = PacerRegistry(clock=FakeClock(), max_size=2)
    limit = RateLimit(requests=10, per_seconds=1)
    a = reg.get("conn-a:v1", limit)
    assert reg.get("conn-a:v1", limit) is a
    assert reg.get("conn-b:v1", limit) is not a
    assert reg.get("conn-a:v1", RateLimit(requests=5, per_seconds=1)) is not a  # new limit
    reg.get("conn-c:v1", limit)
    assert len(reg._pacers) == 2
