"""Listeners told of every batch of run log lines once it is stored.

Kept apart from writer.py (which loads the pydantic log model) so that registering a
listener at import time costs the function app's cold start nothing. The assistant's
index feed is one (shared/assistant/feed.py). Arguments: the run's TenantContext, the
run id, the stored lines (NDJSON bytes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

FlushListener = Callable[[Any, str, list[bytes]], Awaitable[None]]
_flush_listeners: list[FlushListener] = []


def add_flush_listener(listener: FlushListener) -> None:
    if listener not in _flush_listeners:
        _flush_listeners.append(listener)


def remove_flush_listener(listener: FlushListener) -> None:
    if listener in _flush_listeners:
        _flush_listeners.remove(listener)


def flush_listeners() -> list[FlushListener]:
    return list(_flush_listeners)
