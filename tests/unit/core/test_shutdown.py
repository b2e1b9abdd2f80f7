"""shared.shutdown: a stopping worker closes its long-lived clients, newest first, and one
closer failing does not keep the others from running."""

from __future__ import annotations

import logging

import pytest

from shared import shutdown


async def test_closers_run_newest_first_once_each_and_a_failure_does_not_stop_the_rest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shutdown, "_closers", [])
    ran: list[str] = []

    async def stores() -> None:
        ran.append("stores")

    async def broken() -> None:
        ran.append("broken")
        raise RuntimeError("connection reset while closing")

    async def worker() -> None:
        ran.append("worker")

    for closer in (stores, broken, worker, stores):  # registered twice: still closed once
        shutdown.on_shutdown(closer)
    with caplog.at_level(logging.ERROR, logger="shared.shutdown"):
        await shutdown.close_all()
    assert ran == ["worker", "broken", "stores"]
    assert "closing" in caplog.text and "broken" in caplog.text


def test_the_worker_and_the_stores_are_closed_worker_first() -> None:
    """The chunk worker's connectors use the Stores: they close before the Stores do."""
    from shared.migrations.worker import close_worker
    from shared.store.stores import close_stores

    order = shutdown._closers
    assert order.index(close_worker) > order.index(close_stores)
