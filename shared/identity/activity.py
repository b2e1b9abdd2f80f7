"""Decide when `lastActivityAt` is worth writing.

Retention (DESIGN.md §6) only needs day precision, so a tenant's `lastActivityAt` is
written at most once per `interval` (an hour by default) instead of on every request.
Each worker instance remembers when it last wrote per key; the stored value read with
the tenant covers writes made by other instances.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Now = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


def _as_utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None  # an unreadable stored value must not block the write that fixes it
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def activity_due(
    now: datetime,
    last_written: datetime | None,
    stored: datetime | str | None,
    interval: timedelta,
) -> bool:
    """Pure rule: write when neither the local nor the stored timestamp is recent.

    A timestamp slightly in the future (clock skew between instances) counts as recent;
    one more than `interval` ahead is treated as corrupt and overwritten.
    """
    for seen in (last_written, _as_utc(stored)):
        if seen is not None and -interval <= now - seen < interval:
            return False
    return True


class ActivityThrottle:
    """At most one `lastActivityAt` write per key (tenant id, run id…) per interval."""

    def __init__(
        self,
        *,
        interval: timedelta = timedelta(hours=1),
        clock: Now = utc_now,
        max_entries: int = 10_000,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._max_entries = max_entries
        self._written: OrderedDict[str, datetime] = OrderedDict()

    def should_write(self, key: str, stored: datetime | str | None) -> datetime | None:
        """Return the timestamp to write now, or None when a write is not due.

        `stored` is the value currently in the document (datetime, ISO string or None).
        A returned timestamp is also remembered as written, so concurrent requests on
        this instance do not all write; call `forget(key)` if the write then fails.
        """
        now = self._clock()
        if not activity_due(now, self._written.get(key), stored, self.interval):
            return None
        self._written[key] = now
        self._written.move_to_end(key)
        while len(self._written) > self._max_entries:
            self._written.popitem(last=False)
        return now

    def forget(self, key: str) -> None:
        """Drop the remembered write for `key` (the write failed, or the key was deleted)."""
        self._written.pop(key, None)
