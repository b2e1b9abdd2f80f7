"""``Coalescer``: calls made at the same time, sent as one request to a vendor's batch endpoint.

An engine page writes up to ``item_concurrency`` items at once, and each item's write is a
call of its own (Asana: a story, a subtask, a task moved into its section). Where the vendor
has a batch endpoint (Asana's ``/batch``: up to 10 actions in one HTTP request, each counted
against the rate limit as a request of its own), the calls that are waiting together go out
together: the vendor sees the same actions and the same count against its limits, and the
worker makes one HTTP request instead of several — the request, not the action, is where a
worker's CPU goes (issue 19: ~1 ms per request on the real path).

Nothing is reordered that was ordered before: an action joins a batch only while its caller
waits for it, so two writes of which one waits for the other (a task, then its move into a
section; the comments of one task, written one after the other) are never in one batch.

A batch is formed once the callers that were woken together have had a few passes of the
event loop to submit (``linger``), or as soon as it is full. A batch that is not full waits
while ``max_in_flight`` batches are on their way (more callers join it meanwhile, so batches
fill up when the vendor's budget, not the caller, is what everyone waits for); a full one
goes at once — the pacer bounds what is actually sent.

What a batch's answer means for each action is the vendor's ``send`` function's business:
it returns, per action, the result or the exception the caller gets. A whole batch that
fails hands its exception to every caller. A caller cancelled before its batch is formed is
taken out of it; once formed, the batch goes whole, and a cancelled caller's write may still
apply, unanswered — as a request on its way when its caller was cancelled: the engine finds
it by its marker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

A = TypeVar("A")

#: Event-loop passes a forming batch waits for more callers (callers woken by one answer
#: resume within a pass or two of each other)
DEFAULT_LINGER = 3
DEFAULT_MAX_IN_FLIGHT = 2


@dataclass
class _Waiting(Generic[A]):
    action: A
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Coalescer(Generic[A]):
    """Gathers concurrent ``submit(action)`` calls into ``send(actions)`` calls of at most
    ``max_size()`` actions (a callable: the pacer's ``max_cost`` may depend on the plan).

    ``send`` returns one entry per action, in order: the action's result, or the exception
    its caller raises."""

    def __init__(
        self,
        send: Callable[[Sequence[A]], Awaitable[Sequence[Any]]],
        *,
        max_size: Callable[[], int],
        linger: int = DEFAULT_LINGER,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self._send = send
        self._max_size = max_size
        self._linger = linger
        self._max_in_flight = max_in_flight
        self._pending: list[_Waiting[A]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._landed = asyncio.Event()  # set whenever a batch comes back
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        # figures for benchmarks and tests
        self.batches = 0
        self.actions = 0

    async def submit(self, action: A) -> Any:
        """Send ``action`` with whatever else is waiting; its result (or its exception)."""
        if self._closed:
            raise RuntimeError("the client was closed: its batches take no more writes")
        waiting = _Waiting(action)
        self._pending.append(waiting)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await waiting.future

    async def aclose(self) -> None:
        """Take no more writes and wait for those already submitted to be sent and answered
        (their callers wait for them). Writers still submitting through this client get an
        error, as a closed HTTP client gives them — closing does not wait for them to finish.
        Cancelled, it leaves the batches to finish on their own."""
        self._closed = True
        while True:
            running = [*self._tasks, *([self._flusher] if self._flusher and not self._flusher.done() else [])]
            if not running:
                return
            await asyncio.wait(running)  # unlike gather, a cancelled wait cancels none of them

    async def _flush(self) -> None:
        """Form and dispatch batches while actions are pending."""
        while self._pending:
            for _ in range(self._linger):
                if self._full():
                    break
                await asyncio.sleep(0)
            while self._in_flight >= self._max_in_flight and not self._full():
                self._landed.clear()
                await self._landed.wait()
            self._pending = [w for w in self._pending if not w.future.done()]  # callers gone
            if not self._pending:
                return
            size = max(1, self._max_size())
            batch, self._pending = self._pending[:size], self._pending[size:]
            self._in_flight += 1
            task = asyncio.create_task(self._dispatch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _full(self) -> bool:
        return len(self._pending) >= max(1, self._max_size())

    async def _dispatch(self, batch: list[_Waiting[A]]) -> None:
        try:
            self.batches += 1
            self.actions += len(batch)
            try:
                outcomes = await self._send([w.action for w in batch])
            except BaseException as exc:  # every caller gets the batch's failure
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    waiting.future.set_exception(outcome)
                else:
                    waiting.future.set_result(outcome)
        finally:
            self._in_flight -= 1
            self._landed.set()
