"""A chunk whose delivery dies between moving the checkpoint and sending the next message
(or before the final status) is finished by its redelivery; a plain duplicate is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.engine.inmemory import InMemoryRunState
from shared.engine.ports import Checkpoint, Claim, Phase


async def test_in_memory_run_state_reports_who_moved_the_checkpoint() -> None:
    state = InMemoryRunState()
    await state.start("r", ["s"])
    a, b = Checkpoint(phase=Phase.PROJECT), Checkpoint(phase=Phase.SECTION, cursor="x")
    until = datetime.now(UTC) + timedelta(seconds=30)
    assert (await state.claim("r", "s", a, "t1", until)).outcome is Claim.CLAIMED
    assert await state.advance("r", "s", a, b)
    lost = await state.claim("r", "s", a, "t2", until)
    assert lost.outcome is Claim.STALE and lost.resume == b
    await state.handed_off("r", "s", b)
    assert (await state.claim("r", "s", a, "t3", until)).resume is None
    assert await state.advance("r", "s", b, None)
    done = await state.claim("r", "s", b, "t4", until)
    assert done.outcome is Claim.STALE and done.closed_by_it and done.resume is None
