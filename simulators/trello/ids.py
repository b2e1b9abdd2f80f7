"""Trello-shaped identifiers and timestamps.

Trello ids are 24-hex MongoDB ObjectIds: the first 8 hex digits are the creation time in
Unix seconds, which is how ``before``/``since`` paging over actions works
(https://developer.atlassian.com/cloud/trello/guides/rest-api/api-introduction/).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import threading

ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class ObjectIdFactory:
    """Makes ObjectIds ``<8 hex time><10 hex 'machine'><6 hex counter>`` deterministically."""

    def __init__(self, rng: random.Random) -> None:
        self._machine = f"{rng.getrandbits(40):010x}"
        self._counter = rng.getrandbits(24)
        self._lock = threading.Lock()

    def new(self, epoch_s: float) -> str:
        """A fresh id stamped with ``epoch_s``; ids from one factory are strictly unique."""
        with self._lock:
            self._counter = (self._counter + 1) % (1 << 24)
            return f"{int(epoch_s) & 0xFFFFFFFF:08x}{self._machine}{self._counter:06x}"


def is_object_id(value: str) -> bool:
    """True for a syntactically valid Trello id."""
    return bool(ID_RE.match(value or ""))


def id_time(object_id: str) -> float:
    """Creation time (epoch seconds) encoded in an ObjectId."""
    return float(int(object_id[:8], 16))


def short_link(object_id: str) -> str:
    """Stable 8-character shortLink derived from an id (Trello's are random-looking)."""
    digest = hashlib.sha256(object_id.encode()).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:8])


def iso(epoch_s: float | None) -> str | None:
    """Trello's timestamp style: ``2020-03-09T19:41:51.396Z``."""
    if epoch_s is None:
        return None
    stamp = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def parse_time(value: str) -> float | None:
    """Parse an ISO date/datetime (``Z`` or offset) to epoch seconds; None if invalid."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)  # 3.11 reads a trailing Z
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def slugify(text: str) -> str:
    """URL slug as Trello builds it for card/board URLs (lowercase ascii, dashes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64] or "item"
