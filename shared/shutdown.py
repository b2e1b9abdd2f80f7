"""Closing a worker process's long-lived clients when it stops.

A Functions worker keeps its clients (Cosmos, Storage, the connectors' HTTP sessions) for the
life of the process, across invocations. The Functions host gives a Python worker no shutdown
hook — it ends the process — but the local runner stops its queue workers itself, and a
client left open is then collected at interpreter exit, where aiohttp logs an "Unclosed client
session" traceback for each (and the log redaction, half torn down, fails on it). The modules
that hold such clients register a closer here; ``close_all`` runs them, newest first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]

_closers: list[Closer] = []


def on_shutdown(closer: Closer) -> Closer:
    """Run ``closer`` at ``close_all`` (once, however often it is registered)."""
    if closer not in _closers:
        _closers.append(closer)
    return closer


async def close_all() -> None:
    """Run every closer, newest first; one that fails is logged and the others still run."""
    for closer in reversed(_closers):
        try:
            await closer()
        except Exception:
            log.exception("closing %s failed", getattr(closer, "__qualname__", closer))
