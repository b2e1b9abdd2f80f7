"""Six-field NCRONTAB schedules, as the Functions timer trigger reads them.

`{second} {minute} {hour} {day} {month} {day-of-week}`; each field takes `*`, numbers,
ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`; months and weekdays also by their
English three-letter names; day-of-week 0 (or 7) is Sunday. The host also accepts a
TimeSpan (`hh:mm:ss`) meaning "every interval"; that form is supported too.
https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_BOUNDS = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _value(token: str, names: dict[str, int]) -> int:
    low = token.lower()
    if low in names:
        return names[low]
    if not token.isdigit():
        raise ValueError(f"not a number: {token!r}")
    return int(token)


def _field(text: str, index: int) -> frozenset[int]:
    lo, hi = _BOUNDS[index]
    names = _MONTHS if index == 4 else _DAYS if index == 5 else {}
    out: set[int] = set()
    for part in text.split(","):
        base, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValueError(f"bad step in {part!r}")
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(base, names)
            end = hi if step_s else start
        if not (lo <= start <= hi and lo <= end <= hi and start <= end):
            raise ValueError(f"{part!r} is out of range {lo}-{hi}")
        out.update(range(start, end + 1, step))
    if index == 5 and 7 in out:
        out.discard(7)
        out.add(0)
    return frozenset(out)


@dataclass(frozen=True)
class Schedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_restricted: bool
    weekday_restricted: bool
    interval: timedelta | None = None

    def next_after(self, now: datetime) -> datetime:
        """The first fire time strictly after `now` (same tzinfo as `now`)."""
        if self.interval is not None:
            return now + self.interval
        t = now.replace(microsecond=0) + timedelta(seconds=1)
        for _ in range(366 * 5):
            if t.month in self.months and self._day_matches(t):
                for h in sorted(self.hours):
                    if h < t.hour:
                        continue
                    for m in sorted(self.minutes):
                        if h == t.hour and m < t.minute:
                            continue
                        for s in sorted(self.seconds):
                            if h == t.hour and m == t.minute and s < t.second:
                                continue
                            return t.replace(hour=h, minute=m, second=s)
            t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
        raise ValueError("schedule never fires")

    def _day_matches(self, t: datetime) -> bool:
        weekday = (t.weekday() + 1) % 7  # Python: Monday=0; cron: Sunday=0
        day_ok = t.day in self.days
        wd_ok = weekday in self.weekdays
        # Classic cron rule: if both day fields are restricted, either may match.
        if self.day_restricted and self.weekday_restricted:
            return day_ok or wd_ok
        return day_ok and wd_ok


def parse(expression: str) -> Schedule:
    """Parse a six-field NCRONTAB expression or an `hh:mm:ss` TimeSpan."""
    expr = expression.strip()
    if ":" in expr and " " not in expr:
        parts = [int(p) for p in expr.split(":")]
        if len(parts) != 3:
            raise ValueError(f"bad TimeSpan schedule {expression!r}")
        interval = timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])
        if interval.total_seconds() <= 0:
            raise ValueError("a TimeSpan schedule must be positive")
        empty: frozenset[int] = frozenset()
        return Schedule(empty, empty, empty, empty, empty, empty, False, False, interval)
    fields = expr.split()
    if len(fields) != 6:
        raise ValueError(f"NCRONTAB needs six fields (second first), got {len(fields)}: {expression!r}")
    parsed = [_field(f, i) for i, f in enumerate(fields)]
    return Schedule(*parsed, day_restricted=fields[3] != "*", weekday_restricted=fields[5] != "*")
