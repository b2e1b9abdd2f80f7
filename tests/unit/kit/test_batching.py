"""``Coalescer``: concurrent calls go out together, ordered calls never do, and every caller
gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from shared.connectors.kit.batching import Coalescer


class _Vendor:
    """A batch endpoint that records each batch and answers after ``gate`` opens."""

    def __init__(self, *, hold: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        if not hold:
            self.gate.set()

    async def send(self, actions: Sequence[str]) -> list[Any]:
        self.batches.append(list(actions))
        await self.gate.wait()
        return [ValueError(a) if a.startswith("bad") else a.upper() for a in actions]


async def test_calls_made_together_go_in_one_batch() -> None:
    vendor = _Vendor()
    batches = Coalescer(vendor.send, max_size=lambda: 10)
    out = await asyncio.gather(*(batches.submit(f"a{n}") for n in range(8)))
    assert out == [f"A{n}" for n in range(8)]
    assert vendor.batches == [[f"a{n}" for n in range(8)]]


async def test_a_call_that_waits_for_another_is_never_in_its_batch() -> None:
    vendor = _Vendor()
    batches = Coalescer(vendor.send, max_size=lambda: 10)

    async def lane(name: str) -> None:  # a task, then its move: one after the other
        await batches.submit(f"{name}-create")
        await batches.submit(f"{name}-move")

    await asyncio.gather(lane("x"), lane("y"))
    for batch in vendor.batches:
        assert not {"x-create", "x-move"} <= set(batch) and not {"y-create", "y-move"} <= set(batch)
    assert vendor.batches == [["x-create", "y-create"], ["x-move", "y-move"]]


async def test_batches_hold_at_most_max_size_and_wait_while_two_are_out() -> None:
    vendor = _Vendor(hold=True)
    batches = Coalescer(vendor.send, max_size=lambda: 4)
    calls = [asyncio.create_task(batches.submit(f"a{n}")) for n in range(10)]
    for _ in range(20):
        await asyncio.sleep(0)
    # two batches of 4 are out; the other two wait for one of them to come back
    assert [len(b) for b in vendor.batches] == [4, 4]
    more = [asyncio.create_task(batches.submit(f"b{n}")) for n in range(2)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(vendor.batches) == 2
    vendor.gate.set()
    await asyncio.gather(*calls, *more)
    assert [len(b) for b in vendor.batches] == [4, 4, 4]  # a8, a9, b0 and b1 gathered meanwhile
    assert sorted(sum(vendor.batches, [])) == sorted([f"a{n}" for n in range(10)] + ["b0", "b1"])
    assert (batches.batches, batches.actions) == (3, 12)


async def test_each_caller_gets_its_own_outcome() -> None:
    vendor = _Vendor()
    batches = Coalescer(vendor.send, max_size=lambda: 10)
    out = await asyncio.gather(batches.submit("ok"), batches.submit("bad"), return_exceptions=True)
    assert out[0] == "OK" and isinstance(out[1], ValueError) and str(out[1]) == "bad"


async def test_a_failed_batch_fails_every_caller() -> None:
    async def down(actions: Sequence[str]) -> list[Any]:
        raise ConnectionError("reset")

    batches = Coalescer(down, max_size=lambda: 10)
    out = await asyncio.gather(*(batches.submit(f"a{n}") for n in range(3)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in out)


async def test_a_caller_cancelled_before_its_batch_left_is_not_sent() -> None:
    vendor = _Vendor()
    batches = Coalescer(vendor.send, max_size=lambda: 10)
    gone = asyncio.create_task(batches.submit("gone"))
    kept = asyncio.create_task(batches.submit("kept"))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == "KEPT"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert vendor.batches == [["kept"]]


async def _closing_while_held() -> tuple[_Vendor, asyncio.Task[Any], asyncio.Task[None]]:
    """A call whose batch the vendor holds, and a close started meanwhile."""
    vendor = _Vendor(hold=True)
    batches = Coalescer(vendor.send, max_size=lambda: 10)
    call = asyncio.create_task(batches.submit("a"))
    for _ in range(5):
        await asyncio.sleep(0)
    closing = asyncio.create_task(batches.aclose())
    await asyncio.sleep(0)
    return vendor, call, closing


async def test_close_waits_for_the_batches_on_their_way() -> None:
    vendor, call, closing = await _closing_while_held()
    assert not closing.done()
    vendor.gate.set()
    await closing
    assert call.done() and call.result() == "A"


async def test_closing_does_not_wait_for_writers_that_keep_writing() -> None:
    """A runtime closed while a chunk still writes through it (its connector was edited):
    closing waits for what was submitted, not for the writer to stop; the writer's next
    write fails as a closed HTTP client's would."""
    vendor = _Vendor()
    batches = Coalescer(vendor.send, max_size=lambda: 10)
    written = 0

    async def writer() -> None:
        nonlocal written
        for n in range(100):
            await batches.submit(f"w{n}")
            written += 1

    task = asyncio.create_task(writer())
    for _ in range(10):
        await asyncio.sleep(0)
    await batches.aclose()
    with pytest.raises(RuntimeError):
        await task
    assert 0 < written < 100


async def test_a_cancelled_close_leaves_the_batches_to_finish() -> None:
    vendor, call, closing = await _closing_while_held()
    closing.cancel()
    vendor.gate.set()
    assert await call == "A"  # its caller still gets its answer
