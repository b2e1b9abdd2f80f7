"""One request budget per credential, shared by every process that uses the credential.

A pacer alone is per process: with several worker processes (or Functions instances) each
one paces itself at the vendor's rate, and together they overrun it (issue 19: two workers
sent 1,625 requests a minute to Asana's 1,500). A ``SharedBudget`` is the ledger they all
draw from; the pacer asks it for *slots* — instants at which it may send one request — and
never sends before its slot. Ledgers on a store every instance reaches implement it
(``shared.store.budget_ledger``: a Cosmos DB document per credential); ``InMemoryBudget``
runs the same arithmetic in one process, for tests.

The arithmetic is GCRA (the generic cell rate algorithm, "virtual scheduling"): the ledger
keeps one number, the theoretical arrival time ``tat``. With emission interval
``T = 1 / rate`` and tolerance ``tau = (burst - 1) · T``, a request may go at
``max(now, tat - tau)`` and moves ``tat`` to ``max(tat, that instant) + T``. Any interval of
length ``W`` then holds at most ``burst + rate · W`` slots. Vendors count requests in a
sliding window of ``W`` seconds (and Asana counts the ones it refused too), so the budget is
sized *window-exact*: ``burst + rate · (W + slack) ≤ limit``, where ``slack`` is how late
after its slot a request may still reach the vendor (a slot older than that is dropped
unused, so lateness can never pile requests of two slots' worth into one window).

The slack is spent twice: between the slot and the moment the request is written (the caller's
wake-up, building the request, a busy event loop) and between the write and the vendor's
counter (the network, the vendor's own queue). So a request may be *written* at most
``slack - transit`` after its slot, and that is checked where it is written: the pacer hands the
paced call a ``SendWindow`` (a context variable) that the HTTP transport claims right before its
first request goes out; past the deadline it raises ``SlotMissed`` — nothing was sent — and the
pacer takes a fresh slot. Checked only when the slot was handed out, a request could leave well
after it on a loaded machine: 4 worker processes on one Trello token drew one 429 in 403
requests from a simulator held to the exact limit (CI, 2026-12-06).

A call that the vendor counts as ``k`` requests (a batch of ``k`` actions) takes ``k`` slots
and is written by the last one's deadline. Its first ``k - 1`` actions then reach the vendor
after their slots, so a window that starts between its first and last slot holds up to
``k - 1`` actions more than the ledger planned; the tolerance is cut by that much
(``max_cost``), which keeps ``burst + rate · (W + slack)`` the most any window sees.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from shared.contract.limits import RateLimit

#: How late after its slot a request may still reach the vendor (event-loop lag, a busy machine).
DEFAULT_SLACK_S = 0.25
#: Of the slack, what is kept for the way from the socket to the vendor's counter.
DEFAULT_TRANSIT_S = 0.1
#: Slots a caller may wake too late for in a row before it gives up for now
MAX_LATE_WAKES = 16
#: Grants in a row that followed their queue's previous one before a batch reserves ahead
FOLLOWED_TO_REACH_AHEAD = 3


@dataclass(frozen=True)
class BudgetParams:
    """A window-exact GCRA for one vendor limit."""

    rate: float  # slots per second
    burst: float  # slots that may go at once after a quiet spell (≥ 1)
    window_s: float  # the vendor's window
    slack_s: float  # lateness allowed after a slot, at the vendor
    transit_s: float = DEFAULT_TRANSIT_S  # of which the way from our socket to the vendor
    max_cost: int = 1  # most slots one call may take (a vendor batch), at most the burst

    def __post_init__(self) -> None:
        if not 0.0 <= self.transit_s < self.slack_s:
            raise ValueError(f"transit {self.transit_s} s must be less than the slack {self.slack_s} s")
        if not 1 <= self.max_cost <= self.burst:
            raise ValueError(f"a call of {self.max_cost} slots needs a burst of as many, not {self.burst}")

    @property
    def send_late_s(self) -> float:
        """How late after its slot a request may still be written."""
        return self.slack_s - self.transit_s

    @property
    def emission_s(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance_s(self) -> float:
        """GCRA's tolerance, less the ``max_cost - 1`` slots a batch may carry into a later window."""
        return (self.burst - self.max_cost) * self.emission_s

    def worst_window(self) -> float:
        """The most requests one vendor window can see: ``burst + rate · (window + slack)``."""
        return self.burst + self.rate * (self.window_s + self.slack_s)


def window_exact(limit: RateLimit, slack_s: float = DEFAULT_SLACK_S) -> BudgetParams:
    """Budget parameters for ``limit`` read as the vendor's sliding window (``requests`` per
    ``per_seconds``): the burst is kept small (at most 2 % of the window's requests, and
    never above the limit's own burst) because every slot of burst is a slot of rate lost.

    A limit whose burst is above its window's requests (Jira: 20/s with a burst of 40, Azure
    DevOps: 10/s with 20) cannot be a sliding window — no window of ``requests`` would take
    that burst — but a token bucket, which GCRA with the same rate and burst is exactly (any
    interval ``t`` holds at most ``burst + rate · t``). Read as a window of one second, the
    slack alone cost those limits a quarter of their rate and all of their burst: Jira was
    paced at 15.2/s instead of 20/s, Azure DevOps at 7.2/s instead of 10/s."""
    requests, window = float(limit.requests), float(limit.per_seconds)
    if limit.burst is not None and limit.burst > requests:
        burst = float(limit.burst)
        return BudgetParams(
            rate=limit.rate, burst=burst, window_s=window, slack_s=slack_s, max_cost=_max_cost(limit, burst)
        )
    burst = max(1.0, min(limit.capacity, requests * 0.02))
    rate = (requests - burst) / (window + slack_s)
    if rate <= 0:
        raise ValueError(f"limit {limit} leaves no rate after a burst of {burst}")
    return BudgetParams(rate=rate, burst=burst, window_s=window, slack_s=slack_s, max_cost=_max_cost(limit, burst))


def _max_cost(limit: RateLimit, burst: float) -> int:
    """The largest batch the budget takes: the vendor's (``RateLimit.batch``), at most the
    burst (a batch's slots come out of it: Asana's free plan, a burst of 3, batches 3)."""
    return max(1, min(limit.batch, int(burst)))


class SlotMissed(Exception):
    """Raised by the transport instead of writing a request past its ``SendWindow``: nothing
    was sent. Only the pacer that set the window sees it (it takes a fresh slot)."""


class SendWindow:
    """The latest instant (``send_by``, epoch seconds on ``clock``) the first request of one
    paced call may be written. Later requests of the same call (a redirect hop, a token
    refresh's resend) are not checked: the slot was spent on the first."""

    __slots__ = ("_clock", "_open", "send_by")

    def __init__(self, send_by: float, clock: _WallClock) -> None:
        self.send_by = send_by
        self._clock = clock
        self._open = True

    def claim(self) -> None:
        """Called by the transport right before it writes; raises ``SlotMissed`` when late."""
        if not self._open:
            return
        self._open = False
        late = self._clock.now().timestamp() - self.send_by
        if late > 0:
            raise SlotMissed(f"written {late:.3f} s past its window")

    def close(self) -> None:
        """The paced call is over: a task it started that sends later is not checked."""
        self._open = False


#: The window of the paced call running in this context (None: unpaced, or not by a slot).
SEND_WINDOW: ContextVar[SendWindow | None] = ContextVar("ferry_send_window", default=None)


@dataclass(frozen=True)
class Turn:
    """A caller's turn: it may write until ``send_by`` (epoch seconds), or — ``send_by`` None —
    the next slot is further than it may wait, ``wait_s`` from now."""

    send_by: float | None = None
    wait_s: float = 0.0


@dataclass(frozen=True)
class Grant:
    """What the ledger answered: ``slots`` (epoch seconds, ascending) to send at, or none
    and ``wait_s`` when the first free slot is further away than the caller may wait.

    With slots it also tells ``tat``, the ledger's state after them, and ``adjacent``:
    whether they follow the caller's previous grant directly — the ledger stood at the
    ``after`` the caller passed, so nobody else holds a slot between the two."""

    slots: tuple[float, ...] = ()
    wait_s: float = 0.0
    tat: float | None = None
    adjacent: bool = False


def follows(previous: float | None, after: float | None, params: BudgetParams) -> bool:
    """Whether a ledger found at ``previous`` still stands where the caller left it
    (``after``). Any other reservation moves ``tat`` by a whole emission interval at least,
    so half of one tells the two apart whatever the rounding of the ledger's arithmetic."""
    return previous is not None and after is not None and abs(previous - after) < params.emission_s / 2


def gcra_reserve(
    tat: float | None, now: float, count: int, params: BudgetParams, max_wait_s: float, *, whole: bool = False
) -> tuple[float | None, Grant]:
    """Reserve up to ``count`` slots at ``now`` against ledger state ``tat``.

    Returns the new ``tat`` (None: unchanged, nothing granted) and the grant. Only slots
    within ``max_wait_s`` of ``now`` are reserved; if even the first is further, nothing is
    and ``wait_s`` says how long until it is. ``whole``: all ``count`` or none (a batch: a
    part of its slots would only go stale), ``wait_s`` then until the last would fit."""
    emission, tolerance = params.emission_s, params.tolerance_s
    current = now if tat is None else tat
    first = max(now, current - tolerance)
    if first - now > max_wait_s:
        return None, Grant(wait_s=first - now)
    if whole:  # the slots below start from the later of tat and now
        last = max(now, max(current, now) + (max(1, count) - 1) * emission - tolerance)
        if last - now > max_wait_s:
            return None, Grant(wait_s=last - now - max_wait_s)
    slots: list[float] = []
    for _ in range(max(1, count)):
        slot = max(now, current - tolerance)
        if slot - now > max_wait_s:
            break
        slots.append(slot)
        current = max(current, slot) + emission
    return current, Grant(slots=tuple(slots))


class SharedBudget(Protocol):
    """The ledger of one credential's requests, shared by every process that uses it."""

    params: BudgetParams

    async def reserve(
        self, count: int, now: float, max_wait_s: float, *, whole: bool = False, after: float | None = None
    ) -> Grant:
        """Up to ``count`` slots from ``now`` (epoch seconds) on, none further than ``max_wait_s``
        (``whole``: all ``count`` or none). ``after``: the ``tat`` of the caller's previous
        grant, to learn whether these follow it directly (``Grant.adjacent``)."""
        ...

    async def hold_until(self, until: float) -> None:
        """No slot before ``until`` for anyone (a vendor's Retry-After)."""
        ...


@dataclass
class InMemoryBudget:
    """``SharedBudget`` within one process: the same GCRA on a variable (tests, benchmarks)."""

    params: BudgetParams
    tat: float | None = None
    reservations: int = 0  # ledger round trips a shared store would have made
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def reserve(
        self, count: int, now: float, max_wait_s: float, *, whole: bool = False, after: float | None = None
    ) -> Grant:
        async with self._lock:
            self.reservations += 1
            new_tat, grant = gcra_reserve(self.tat, now, count, self.params, max_wait_s, whole=whole)
            if new_tat is None:
                return grant
            # as the Cosmos ledger tells it on its one-patch paths: only from a ledger at or
            # after now (an idle one's patch does not learn where it stood)
            adjacent = self.tat is not None and self.tat >= now and follows(self.tat, after, self.params)
            self.tat = new_tat
            return replace(grant, tat=new_tat, adjacent=adjacent)

    async def hold_until(self, until: float) -> None:
        async with self._lock:
            # the next slot is at `until` at the earliest: tat - tolerance ≥ until
            self.tat = max(self.tat or 0.0, until + self.params.tolerance_s)


class SlotQueue:
    """One process's reserved slots of a ``SharedBudget``, handed to its concurrent callers
    in order. A slot not taken within ``slack_s`` of its time is dropped (it was counted,
    never sent: safe, but budget lost), so what a reservation asks for adapts.

    Single callers: the batch a reservation asks for doubles (up to ``max_batch``) while
    every slot of the previous one was used, and halves when slots were dropped — a busy
    pacer makes one ledger round trip per many requests, an occasional caller wastes little.
    It never asks for fewer than the callers waiting, and it grows only while callers queue
    up: callers one at a time, far apart (the reads and uploads of a credential whose writes
    go in batches), each take just their own slot — reserved ahead, theirs went stale unused
    every other time (44 of Asana's slots, 1.8 s of its budget, in a 3 × 100 run).

    Calls of several slots (a vendor batch) take them consecutive in the ledger: with no
    other caller's slot between a batch's first and its last, at most one batch's early
    actions reach into any window (the cut in ``tolerance_s``). The slots are kept as runs
    for that: ``_run`` is the newest, slots with no other process's reservation between them
    — a grant ``adjacent`` to the previous one (the ledger stood where this queue left it)
    extends it, any other starts a new run and the old one's leftovers go to ``_loose``, for
    single callers only. A batch takes its slots from the run; one that finds the run too
    short reserves its own plus, while batches follow one another and nobody else reserves
    on the ledger, slots for the batches after it (``_ahead``). One ledger round trip per
    batch was most of the ledger's cost (issue 19: 212 of a 3 × 100 run's 459 ledger calls,
    ~11 % of the worker's CPU); and leftovers are not lost when the next reservation follows
    directly — the next batch starts with them."""

    def __init__(self, budget: SharedBudget, clock: _WallClock, *, max_batch: int = 16) -> None:
        self.budget = budget
        self.clock = clock
        self.max_batch = max_batch
        self._loose: deque[float] = deque()  # older runs' leftovers, ascending: single callers only
        self._run: deque[float] = deque()  # the newest run, ascending
        self._end_tat: float | None = None  # the ledger's tat right after the newest run
        self._batch_last: float | None = None  # the last slot a batch took
        self._followed = 0  # grants in a row that followed the one before directly
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._batch = 1
        self._ahead = 0  # slots a batch reserves past its own, for the next batch
        self._dropped_since_refill = 0
        self.dropped = 0  # slots reserved and never used (benchmarks)

    @property
    def held(self) -> int:
        """Slots reserved and not yet handed out."""
        return len(self._loose) + len(self._run)

    async def take(self, max_wait_s: float, cost: int = 1) -> Turn:
        """Wait for this caller's slot (``cost`` slots for a call the vendor counts as that
        many requests: it is written by the last one's deadline). Returns the turn: write by
        ``send_by``, or — the next slot further than ``max_wait_s`` away — nothing taken and
        the wait in ``wait_s``.

        A caller that wakes later than ``send_late_s`` after its slot (a busy event loop, a
        loaded machine) does not use it: sent that late, it would land in the same vendor
        window as the slots after it, which is how an Asana run at the full rate on a quiet
        machine got 2 429s (bench.e2e_budget, 2026-12-06). It drops the slot and takes
        another, as ``_drop_stale`` drops slots found stale."""
        params = self.budget.params
        if not 1 <= cost <= params.max_cost:
            raise ValueError(f"a call may take 1 to {params.max_cost} slots of this budget, not {cost}")
        late_s = params.send_late_s
        # the callers the queue reserves ahead for: a batch reserves its own slots, and
        # counted here it made single callers reserve slots nobody took (budget lost)
        waiting = 1 if cost == 1 else 0
        for _ in range(MAX_LATE_WAKES):
            self._waiting += waiting
            try:
                async with self._lock:
                    slot, too_long = await self._take_slots(cost, max_wait_s)
            finally:
                self._waiting -= waiting
            if too_long is not None:
                return Turn(wait_s=too_long)
            delay = slot - self.clock.now().timestamp()
            if delay > 0:
                await self.clock.sleep(delay)
            if self.clock.now().timestamp() - slot <= late_s:
                return Turn(send_by=slot + late_s)
            self.missed(cost)
        # woke late every time: the caller tries again shortly (DeferChunk)
        return Turn(wait_s=self.budget.params.slack_s)

    def missed(self, slots: int = 1) -> None:
        """Slots handed out were not used in time (counted, never sent: budget lost)."""
        self.dropped += slots
        self._dropped_since_refill += slots

    async def _take_slots(self, cost: int, max_wait_s: float) -> tuple[float, float | None]:
        """The instant of this caller's (last) slot, or (0, the wait) when it is too far."""
        if cost == 1:
            return await self._next(max_wait_s)
        spare = True  # whether this batch may reserve ahead for the next
        for _ in range(4):
            now = self.clock.now().timestamp()
            self._drop_stale(now)
            if len(self._run) < cost:
                ahead = self._ahead_for(cost, now, max_wait_s) if spare else 0
                grant = await self.budget.reserve(cost + ahead, now, max_wait_s, whole=True, after=self._end_tat)
                if not grant.slots:
                    if ahead:  # the slots ahead do not fit the wait: just its own, and none ahead for now
                        self._ahead = 0
                        spare = False
                    elif grant.wait_s > max_wait_s:
                        return 0.0, grant.wait_s
                    else:
                        await self.clock.sleep(grant.wait_s)  # a contended ledger: ask again shortly
                    continue
                self._refilled(grant)  # whole: the run now holds all of this batch's slots
            for _ in range(cost - 1):
                self._run.popleft()
            self._batch_last = self._run.popleft()
            return self._batch_last, None
        return 0.0, self.budget.params.slack_s

    async def _next(self, max_wait_s: float) -> tuple[float, float | None]:
        for _ in range(4):
            now = self.clock.now().timestamp()
            self._drop_stale(now)
            if self._loose:
                return self._loose.popleft(), None
            if self._run:
                return self._run.popleft(), None
            if self._dropped_since_refill:
                self._batch = max(1, self._batch // 2)
            elif self._waiting > 1:  # callers queue up behind this one: reserve further ahead
                self._batch = min(self.max_batch, self._batch * 2)
            self._dropped_since_refill = 0
            want = min(self.max_batch, max(self._batch, self._waiting))
            grant = await self.budget.reserve(want, now, max_wait_s, after=self._end_tat)
            if not grant.slots and grant.wait_s > max_wait_s:
                return 0.0, grant.wait_s
            if not grant.slots:  # a short wait (a contended ledger): wait, then ask again
                await self.clock.sleep(grant.wait_s)
            else:
                self._refilled(grant)
        return 0.0, self.budget.params.slack_s  # no usable grant after several tries: try again shortly

    def _ahead_for(self, cost: int, now: float, max_wait_s: float) -> int:
        """What a batch that must reserve asks for past its own ``cost``: ``cost`` more each
        time (up to ``max_batch`` slots, for the batches after it) while batches follow one
        another (the last one's slots ended within the slack, nothing dropped since) on a
        ledger nobody else reserves on (``FOLLOWED_TO_REACH_AHEAD`` grants in a row were
        ``adjacent``); half as much once slots went stale unused; none for the first batch in
        a while, nor while other processes reserve in between. Their grants split this
        queue's into runs, and what a batch reserved ahead was left to single callers: growing
        on one adjacent grant, four processes of batches on one budget served 88 % of it
        instead of 98 % (most of the slots reserved ahead went stale; on three in a row, 97 %).
        Never more than fits the wait from where this queue left the ledger: on a slow budget
        (Asana's free plan, 2.5 requests a second) a reservation ahead past the wait was
        refused again and again."""
        params = self.budget.params
        if self._dropped_since_refill:
            self._ahead //= 2
        elif (
            self._followed >= FOLLOWED_TO_REACH_AHEAD
            and self._batch_last is not None
            and self._batch_last >= now - params.slack_s
        ):
            self._ahead = min(self.max_batch, self._ahead + cost)
        else:
            self._ahead = 0
        self._dropped_since_refill = 0
        if self._ahead and self._end_tat is not None:
            # the last slot of cost + ahead from here: max(tat, now) + (n - 1)·T - tolerance
            room = (now + max_wait_s + params.tolerance_s - max(self._end_tat, now)) / params.emission_s + 1
            self._ahead = max(0, min(self._ahead, int(room) - cost))
        return self._ahead

    def _refilled(self, grant: Grant) -> None:
        if grant.adjacent:
            self._run.extend(grant.slots)
        else:  # another reservation lies between: the old run's slots are for single callers now
            if self._run:
                self._loose = deque(sorted((*self._loose, *self._run)))
            self._run = deque(grant.slots)
        self._end_tat = grant.tat
        self._followed = self._followed + 1 if grant.adjacent else 0

    def _drop_stale(self, now: float) -> None:
        oldest = now - self.budget.params.send_late_s
        for slots in (self._loose, self._run):
            while slots and slots[0] < oldest:
                slots.popleft()
                self.dropped += 1
                self._dropped_since_refill += 1


class _WallClock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...
