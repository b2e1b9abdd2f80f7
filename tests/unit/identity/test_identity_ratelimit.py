"""Request-rate limits per credential and per org, with a hand-moved clock."""

from __future__ import annotations

import pytest

from shared.errors import TooManyRequestsError
from shared.identity.ratelimit import RequestRateLimits, TokenBucketLimiter

from .conftest import FakeClock


def test_a_burst_then_the_sustained_rate_then_429_with_retry_after() -> None:
    clock = FakeClock(0.0)
    limiter = TokenBucketLimiter(rate=20, burst=120, clock=clock)
    answered = refused = 0
    retry_after = None
    for _ in range(300):  # the probe: 300 GETs at 72/s
        clock.advance(1 / 72)
        try:
            limiter.take("key:k1")
            answered += 1
        except TooManyRequestsError as exc:
            refused += 1
            retry_after = exc.retry_after
    # ~4.2 s: the burst of 120 plus about 20/s refilled; the rest is refused.
    assert 190 <= answered <= 210 and refused == 300 - answered
    assert retry_after == 1
    limiter.take("key:k2")  # another credential is not affected


def test_the_bucket_refills_and_never_exceeds_the_burst() -> None:
    clock = FakeClock(0.0)
    limiter = TokenBucketLimiter(rate=2, burst=3, clock=clock)
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(TooManyRequestsError):
        limiter.take("k")
    clock.advance(0.5)
    limiter.take("k")  # one refilled
    clock.advance(3600)
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(TooManyRequestsError):  # an idle hour is still only a burst of 3
        limiter.take("k")


def test_an_org_is_limited_across_its_callers() -> None:
    clock = FakeClock(0.0)
    limits = RequestRateLimits(caller_rate=100, caller_burst=100, org_rate=1, org_burst=5, clock=clock)
    for i in range(5):
        limits.take(caller=f"key:{i}", org="org_eu_a")
    with pytest.raises(TooManyRequestsError, match="organisation"):
        limits.take(caller="key:99", org="org_eu_a")
    limits.take(caller="key:99", org="org_eu_b")
