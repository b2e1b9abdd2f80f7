"""Failed-authentication limits, with a hand-moved clock."""

from __future__ import annotations

import pytest

from shared.errors import TooManyRequestsError
from shared.identity.throttle import AuthFailureThrottle, SlidingWindowLimiter, client_key

from .conftest import FakeClock


def test_client_is_blocked_after_limit_and_released_by_the_window() -> None:
    clock = FakeClock(1000.0)
    throttle = AuthFailureThrottle(per_client=20, window_s=300, clock=clock)
    for _ in range(20):
        throttle.check_client("203.0.113.7")
        throttle.record_failure("203.0.113.7")
        clock.advance(10)  # failures at t=1000, 1010, …, 1190
    with pytest.raises(TooManyRequestsError) as caught:
        throttle.check_client("203.0.113.7")
    # Now t=1200; the oldest failure (t=1000) leaves the window at t=1300.
    assert caught.value.retry_after == 100
    throttle.check_client("198.51.100.1")  # others are unaffected

    clock.advance(99)
    with pytest.raises(TooManyRequestsError):
        throttle.check_client("203.0.113.7")
    clock.advance(1)  # t=1300: one slot free again (sliding, not fixed, window)
    throttle.check_client("203.0.113.7")
    throttle.record_failure("203.0.113.7")
    with pytest.raises(TooManyRequestsError) as caught:
        throttle.check_client("203.0.113.7")
    assert caught.value.retry_after == 10  # next oldest: t=1010 → free at 1310


def test_window_forgets_everything_eventually() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(limit=3, window_s=60, clock=clock)
    for _ in range(3):
        limiter.record("k")
    assert limiter.retry_after("k") == 60
    clock.advance(60)
    assert limiter.retry_after("k") is None
    assert len(limiter) == 0  # expired entries are dropped, not kept forever


def test_prefix_limit_is_separate_from_client_limit() -> None:
    clock = FakeClock(0.0)
    throttle = AuthFailureThrottle(per_client=100, per_prefix=5, window_s=300, clock=clock)
    for i in range(5):
        throttle.record_failure(f"10.0.0.{i}", key_prefix="AbCdEf123456")
    with pytest.raises(TooManyRequestsError, match="API key"):
        throttle.check_prefix("AbCdEf123456")
    throttle.check_prefix("ZZZZZZ000000")
    for i in range(5):
        throttle.check_client(f"10.0.0.{i}")
    throttle.record_failure("10.0.0.9")  # no prefix: only the client counts
    assert throttle.prefixes.retry_after("AbCdEf123456") == 300


def test_memory_is_bounded() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(limit=2, window_s=60, clock=clock, max_tracked=100)
    for i in range(1000):
        limiter.record(f"ip-{i}")
        limiter.record(f"ip-{i}")
        limiter.record(f"ip-{i}")  # beyond the limit: stored timestamps stay capped
    assert len(limiter) == 100
    assert limiter.retry_after("ip-999") is not None
    assert limiter.retry_after("ip-0") is None  # evicted, least recently failed first


def test_clear() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(limit=1, window_s=60, clock=clock)
    limiter.record("k")
    with pytest.raises(TooManyRequestsError):
        limiter.check("k")
    limiter.clear("k")
    limiter.check("k")


@pytest.mark.parametrize("kwargs", [{"limit": 0, "window_s": 1}, {"limit": 1, "window_s": 0}])
def test_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(**kwargs)


def test_ipv6_is_limited_per_64() -> None:
    clock = FakeClock(0.0)
    throttle = AuthFailureThrottle(per_client=3, window_s=60, clock=clock)
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"):
        throttle.record_failure(host)
    with pytest.raises(TooManyRequestsError):
        throttle.check_client("2001:db8:1:2::abcd")  # same /64, fresh address
    throttle.check_client("2001:db8:1:3::1")  # neighbouring /64 is separate


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::/64"),
        ("unknown", "unknown"),
    ],
)
def test_client_key(address: str, key: str) -> None:
    assert client_key(address) == key
