"""When lastActivityAt is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.identity.activity import ActivityThrottle, activity_due

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Now:
    def __init__(self) -> None:
        self.value = T0

    def __call__(self) -> datetime:
        return self.value


def test_at_most_once_an_hour_per_key() -> None:
    now = Now()
    throttle = ActivityThrottle(clock=now)
    assert throttle.should_write("t1", None) == T0
    assert throttle.should_write("t1", None) is None  # remembered locally
    assert throttle.should_write("t2", None) == T0  # other tenants are independent
    now.value = T0 + timedelta(minutes=59)
    assert throttle.should_write("t1", T0) is None
    now.value = T0 + timedelta(minutes=60)
    assert throttle.should_write("t1", T0) == now.value


def test_stored_value_from_another_instance_counts() -> None:
    now = Now()
    throttle = ActivityThrottle(clock=now)
    assert throttle.should_write("t1", T0 - timedelta(minutes=10)) is None
    assert throttle.should_write("t1", "2026-11-23T11:50:00Z") is None
    assert throttle.should_write("t1", "2026-11-23T10:59:00+00:00") == T0


def test_forget_after_failed_write() -> None:
    throttle = ActivityThrottle(clock=Now())
    assert throttle.should_write("t1", None) is not None
    throttle.forget("t1")
    assert throttle.should_write("t1", None) is not None


def test_odd_stored_values() -> None:
    hour = timedelta(hours=1)
    assert activity_due(T0, None, "not a date", hour)
    assert activity_due(T0, None, datetime(2026, 11, 23, 10, 0), hour)  # naive = UTC
    assert not activity_due(T0, None, datetime(2026, 11, 23, 11, 30), hour)
    assert not activity_due(T0, None, T0 + timedelta(minutes=5), hour)  # small skew
    assert activity_due(T0, None, T0 + timedelta(days=3), hour)  # corrupt future value


def test_cache_is_bounded() -> None:
    throttle = ActivityThrottle(clock=Now(), max_entries=10)
    for i in range(50):
        throttle.should_write(f"t{i}", None)
    assert throttle.should_write("t0", None) is not None  # evicted, so written again
    assert throttle.should_write("t49", None) is None
