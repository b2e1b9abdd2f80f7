from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tools.devhost.host_config import timespan_seconds
from tools.devhost.ncrontab import parse

NOW = datetime(2026, 11, 23, 1, 30, 15, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0 30 2 * * *", datetime(2026, 11, 23, 2, 30, 0)),
        ("*/5 * * * * *", datetime(2026, 11, 23, 1, 30, 20)),
        ("0 0 9 * * Mon-Fri", datetime(2026, 11, 23, 9, 0, 0)),
        ("0 0 9 * * Sat", datetime(2026, 11, 28, 9, 0, 0)),
        ("0 0 0 1 Jan *", datetime(2027, 1, 1, 0, 0, 0)),
        ("0 0 3 29 2 *", datetime(2028, 2, 29, 3, 0, 0)),
        ("15 30 1 * * *", datetime(2026, 11, 24, 1, 30, 15)),
        ("0 0,30 * * * *", datetime(2026, 11, 23, 2, 0, 0)),
        ("0 0 12 * * 0", datetime(2026, 11, 29, 12, 0, 0)),
        ("0 0 12 * * 7", datetime(2026, 11, 29, 12, 0, 0)),
        ("00:00:10", datetime(2026, 11, 23, 1, 30, 25)),
    ],
)
def test_next_fire(expr: str, expected: datetime) -> None:
    assert parse(expr).next_after(NOW) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize("expr", ["* * * * *", "61 * * * * *", "0 0 25 * * *", "a b c d e f", "*/0 * * * * *"])
def test_bad_expressions(expr: str) -> None:
    with pytest.raises(ValueError):
        parse(expr)


def test_timespans() -> None:
    assert timespan_seconds("00:00:05", 0) == 5
    assert timespan_seconds("1.02:00:00", 0) == 93600
    assert timespan_seconds(None, 7) == 7
