"""One pacer per credential: token bucket, concurrency cap, retries, Retry-After, AIMD rate.

Modelled on rclone's ``lib/pacer``: the connector only says what a response means (it raises
a typed error from ``shared.errors`` or returns an ``httpx.Response`` that the pacer checks),
the pacer owns waiting. Error handling is data (Airbyte ``default_error_mapping`` style):
``ERROR_MAPPING`` maps an exception type to an ``Action``.

A wait longer than ``defer_threshold_s`` is never slept inside a function invocation: the
pacer raises ``DeferChunk(delay_s)`` and the engine puts the chunk back on the queue with
that visibility delay and its cursor.

With a ``SharedBudget`` (``shared.contract.budget``) the pacer sends only at slots drawn
from the credential's ledger, which every process using the credential shares; its own
token bucket is then unused. A slot is taken once a concurrency slot is held, right before
the request goes, so a request never waits on anything between its slot and its send; and the
transport checks, right before it writes, that the slot is still fresh (``SendWindow``).

A call the vendor counts as several requests (a batch endpoint: Asana's ``/batch`` counts
each action against both its rate and its concurrency limits) is charged that ``cost``:
as many tokens, concurrency slots and budget slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import httpx

from shared.contract.budget import MAX_LATE_WAKES, SEND_WINDOW, SendWindow, SharedBudget, SlotMissed, SlotQueue
from shared.contract.clock import Clock, SystemClock
from shared.contract.httperrors import MAX_RETRY_AFTER_S, raise_for_response
from shared.contract.limits import RateLimit
from shared.errors import (
    AuthenticationError,
    AuthRequiredError,
    ConflictError,
    FerryError,
    NotFoundError,
    PermissionDeniedError,
    SkippableItemError,
    ThrottledError,
    TooManyRequestsError,
    TransientError,
    ValidationFailed,
)

T = TypeVar("T")


class DeferChunk(FerryError):
    """The needed wait is too long to sleep here: re-enqueue the chunk after ``delay_s``."""

    slug = "deferred"
    status = 503
    title = "Chunk deferred"

    def __init__(self, delay_s: float, detail: str = "") -> None:
        super().__init__(detail or f"deferred for {delay_s:.1f}s")
        self.delay_s = delay_s


class Action(StrEnum):
    """What the pacer does with an outcome (Airbyte ResponseAction, trimmed)."""

    RETRY = "retry"  # backoff with jitter, then again
    RATE_LIMITED = "rate_limited"  # obey Retry-After, slow down, then again
    AUTH = "auth"  # credentials refused: re-raise (the run pauses)
    SKIP = "skip"  # this item fails alone: re-raise
    FAIL = "fail"  # re-raise unchanged


#: First matching entry wins (so subclasses come before their bases).
ERROR_MAPPING: tuple[tuple[type[BaseException], Action], ...] = (
    (DeferChunk, Action.FAIL),
    (ThrottledError, Action.RATE_LIMITED),
    (TooManyRequestsError, Action.RATE_LIMITED),
    (TransientError, Action.RETRY),
    (httpx.TimeoutException, Action.RETRY),
    (httpx.TransportError, Action.RETRY),  # connect errors, dropped connections
    (ConnectionError, Action.RETRY),
    (TimeoutError, Action.RETRY),
    (AuthRequiredError, Action.AUTH),
    (AuthenticationError, Action.AUTH),
    (SkippableItemError, Action.SKIP),
    (NotFoundError, Action.SKIP),
    (ValidationFailed, Action.SKIP),
    (PermissionDeniedError, Action.SKIP),
    (ConflictError, Action.SKIP),
)


def classify(exc: BaseException, mapping: tuple[tuple[type[BaseException], Action], ...] = ERROR_MAPPING) -> Action:
    """The action for an exception; unknown exceptions FAIL (a bug is not retried)."""
    for exc_type, action in mapping:
        if isinstance(exc, exc_type):
            return action
    return Action.FAIL


@dataclass(frozen=True)
class PacerSettings:
    """Tuning knobs; defaults suit vendor REST APIs."""

    defer_threshold_s: float = 5.0  # longer waits become DeferChunk
    max_retries: int = 5  # RETRY outcomes per call
    max_throttles: int = 8  # RATE_LIMITED outcomes per call
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    decrease_factor: float = 0.7  # multiplicative decrease of the rate on a 429
    increase_step: float = 0.02  # additive increase (fraction of the limit) per success
    min_rate_factor: float = 0.1


class Pacer:
    """Paces every call made with one credential.

    ``await pacer.call(fn)`` runs ``fn()`` (a zero-argument coroutine function) once a token
    and a concurrency slot are free; returns its result, checking ``httpx.Response`` results
    with ``raise_for_response``. Retries RETRY/RATE_LIMITED outcomes; re-raises the others.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        settings: PacerSettings | None = None,
        mapping: tuple[tuple[type[BaseException], Action], ...] = ERROR_MAPPING,
        budget: SharedBudget | None = None,
    ) -> None:
        self.limit = limit
        self.budget = budget
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.settings = settings or PacerSettings()
        self.mapping = mapping
        self._sem = asyncio.Semaphore(limit.concurrency)
        #: held while a call of cost > 1 gathers its concurrency slots, so two such calls
        #: never each hold part of what both need
        self._gathering = asyncio.Lock()
        self._tokens = limit.capacity
        self._last = self.clock.monotonic()
        self._blocked_until = 0.0
        self.rate_factor = 1.0
        self.slots = SlotQueue(budget, self.clock) if budget is not None else None
        # counters for benchmarks and logs
        self.calls = 0
        self.throttled = 0
        self.retried = 0

    # -- public --------------------------------------------------------------------

    @property
    def max_cost(self) -> int:
        """The most requests one call may count as (``RateLimit.batch``, bounded by the
        burst and the concurrency the pacer keeps to)."""
        if self.slots is not None:
            return min(self.slots.budget.params.max_cost, self.limit.concurrency)
        return max(1, min(self.limit.batch, int(self.limit.capacity), self.limit.concurrency))

    @property
    def current_rate(self) -> float:
        """Requests per second the bucket currently refills at."""
        return self.limit.rate * self.rate_factor

    async def call(
        self, fn: Callable[[], Awaitable[T]], *, idempotent: bool = True, replayable: bool = True, cost: int = 1
    ) -> T:
        """Run ``fn`` under the pacer (see class docstring). May raise ``DeferChunk``.

        ``cost``: how many requests the vendor counts the call as (a batch of that many
        actions; at most ``max_cost``).

        ``idempotent=False`` (creates, uploads): a 5xx or network error is ambiguous (the
        item may exist now), so it is re-raised for the engine to reconcile by marker;
        429s are still retried (the vendor did not process the request).
        ``replayable=False`` (``fn`` consumes a one-shot body stream): nothing is retried;
        throttling still slows the pacer down, and the error goes to the engine, which
        reconciles and re-opens the source stream.
        """
        if cost != 1 and not 1 <= cost <= self.max_cost:
            raise ValueError(f"a call may count as 1 to {self.max_cost} requests here, not {cost}")
        retries = 0
        throttles = 0
        missed = 0
        while True:
            if self.slots is None:
                await self._acquire(cost)
            error: BaseException | None = None
            late = False
            async with self._sem if cost == 1 else self._in_flight(cost):
                window = await self._take_slot(cost) if self.slots is not None else None
                # A one-shot body is not checked at the socket: its attempt may have started
                # reading the source by then, and could not run again.
                bound = SEND_WINDOW.set(window if replayable else None)
                try:
                    result = await fn()
                    if isinstance(result, httpx.Response):
                        raise_for_response(result, self.clock.now())
                except SlotMissed:
                    late = True
                except Exception as exc:
                    error = exc
                finally:
                    SEND_WINDOW.reset(bound)
                    if window is not None:
                        window.close()
            if late:  # the transport found the slot gone by: nothing was written
                assert self.slots is not None
                self.slots.missed(cost)
                missed += 1
                if missed >= MAX_LATE_WAKES:
                    raise DeferChunk(
                        self.slots.budget.params.slack_s, "every slot went by before the request was written"
                    )
                continue
            self.calls += 1
            if error is None:
                self._on_success()
                return result
            action = classify(error, self.mapping)
            if action is Action.RATE_LIMITED:
                throttles += 1
                self.throttled += 1
                retry_after = getattr(error, "retry_after", None)
                wait = self._on_throttle(retry_after, throttles)
                if self.budget is not None:  # every process using the credential holds off
                    await self.budget.hold_until(self.clock.now().timestamp() + wait)
                if not replayable:
                    raise error
                if throttles > self.settings.max_throttles:
                    raise DeferChunk(
                        max(wait, self.settings.defer_threshold_s), f"still throttled after {throttles} tries"
                    ) from error
                continue  # _acquire waits for the block or defers
            if action is Action.RETRY:
                if not (idempotent and replayable):
                    raise as_transient(error)  # ambiguous: the engine reconciles by marker
                retries += 1
                self.retried += 1
                if retries > self.settings.max_retries:
                    raise as_transient(error)
                delay = self.backoff(retries)
                if delay > self.settings.defer_threshold_s:
                    raise DeferChunk(delay, f"retry {retries} after {error}") from error
                await self.clock.sleep(delay)
                continue
            raise error

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": uniform in [b/2, b], b = base·2^(n-1)."""
        s = self.settings
        ceiling = min(s.backoff_cap_s, s.backoff_base_s * (2 ** max(0, attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)

    # -- internals -----------------------------------------------------------------

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self.limit.capacity, self._tokens + elapsed * self.current_rate)
        self._last = now

    @contextlib.asynccontextmanager
    async def _in_flight(self, cost: int) -> AsyncIterator[None]:
        """Hold ``cost`` of the concurrency slots while the call runs."""
        held = 0
        try:
            async with self._gathering:
                for _ in range(cost):
                    await self._sem.acquire()
                    held += 1
            yield
        finally:
            for _ in range(held):
                self._sem.release()

    async def _acquire(self, cost: int = 1) -> None:
        """Take ``cost`` tokens (reserving ahead when empty) and respect a Retry-After block."""
        threshold = self.settings.defer_threshold_s
        await self._wait_block(threshold)
        now = self.clock.monotonic()
        self._refill(now)
        self._tokens -= cost
        if self._tokens >= 0:
            return
        wait = -self._tokens / self.current_rate
        if wait > threshold:
            self._tokens += cost  # give the reservation back: this chunk goes to the queue
            raise DeferChunk(wait, "rate limit budget exhausted")
        await self.clock.sleep(wait)
        await self._wait_block(threshold)  # a 429 may have arrived while we waited

    async def _take_slot(self, cost: int = 1) -> SendWindow:
        """The next ``cost`` slots of the shared budget (after any Retry-After block), as the
        window the request must be written in."""
        assert self.slots is not None
        threshold = self.settings.defer_threshold_s
        await self._wait_block(threshold)
        turn = await self.slots.take(threshold, cost)
        if turn.send_by is None:
            raise DeferChunk(turn.wait_s, "the credential's shared request budget is spent for now")
        return SendWindow(turn.send_by, self.clock)

    async def _wait_block(self, threshold: float) -> None:
        while True:
            block = self._blocked_until - self.clock.monotonic()
            if block <= 0:
                return
            if block > threshold:
                raise DeferChunk(block, "vendor asked to retry later")
            await self.clock.sleep(block)

    def _on_success(self) -> None:
        if self.rate_factor < 1.0:
            self.rate_factor = min(1.0, self.rate_factor + self.settings.increase_step)

    def _on_throttle(self, retry_after: float | None, throttles: int) -> float:
        """Slow down (AIMD), drain the burst, block until Retry-After; returns the wait."""
        s = self.settings
        self.rate_factor = max(s.min_rate_factor, self.rate_factor * s.decrease_factor)
        now = self.clock.monotonic()
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)
        if retry_after is None:
            wait = self.backoff(throttles)
        else:
            wait = min(max(retry_after, 0.0), s.max_retry_after_s)
        self._blocked_until = max(self._blocked_until, now + wait)
        return wait


class PacerRegistry:
    """One pacer per credential within a worker process, shared by the chunks using it.

    ``key`` names the credential without holding it (e.g. ``"{connector id}:{secret
    version}"``). Instances of a scaled-out Function App do not share pacers; the vendor's
    429s and the adaptive rate cover that case.
    """

    def __init__(
        self, *, clock: Clock | None = None, settings: PacerSettings | None = None, max_size: int = 256
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.max_size = max_size
        self._pacers: OrderedDict[str, Pacer] = OrderedDict()

    def get(self, key: str, limit: RateLimit) -> Pacer:
        """The pacer for ``key`` (created on first use, rebuilt if ``limit`` changed)."""
        pacer = self._pacers.get(key)
        if pacer is None or pacer.limit != limit:
            pacer = Pacer(limit, clock=self.clock, settings=self.settings)
            self._pacers[key] = pacer
        self._pacers.move_to_end(key)
        while len(self._pacers) > self.max_size:
            self._pacers.popitem(last=False)
        return pacer


def as_transient(error: BaseException) -> BaseException:
    """A network-level failure (a reset, a timeout) as the ``TransientError`` the engine
    handles: a dropped answer to a create is the case the engine reconciles by marker, so it
    must not reach it as a bare ``httpx`` exception (which failed the item instead)."""
    if isinstance(error, TransientError):
        return error
    wrapped = TransientError(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    wrapped.__cause__ = error
    return wrapped
