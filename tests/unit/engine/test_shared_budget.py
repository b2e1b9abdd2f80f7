"""Shared request budgets in virtual time: window-exact GCRA, and pacers of several
"processes" sharing one budget against the simulators' own sliding-window limiters."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contract.budget import (
    FOLLOWED_TO_REACH_AHEAD,
    MAX_LATE_WAKES,
    SEND_WINDOW,
    BudgetParams,
    Grant,
    InMemoryBudget,
    SharedBudget,
    SlotQueue,
    gcra_reserve,
    window_exact,
)
from shared.contract.clock import EventClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import DeferChunk, Pacer
from shared.errors import ThrottledError
from simulators.asana.gate import CountingWindowLimiter
from simulators.common import WindowLimiter

ASANA = RateLimit(requests=1500, per_seconds=60, burst=25, concurrency=8)
TRELLO = RateLimit(requests=90, per_seconds=10, burst=9, concurrency=8)
PLANNER = RateLimit(requests=600, per_seconds=60, burst=20, concurrency=8)
#: Asana's free plan (150/min): the same rules as the paid plan's at a tenth of the requests
ASANA_FREE = RateLimit(requests=150, per_seconds=60, burst=10, concurrency=8)


@pytest.mark.parametrize("limit", [ASANA, ASANA_FREE, TRELLO, PLANNER])
def test_window_exact_budget_never_exceeds_the_window(limit: RateLimit) -> None:
    params = window_exact(limit)
    assert params.worst_window() <= limit.requests + 1e-9
    assert params.rate / limit.rate >= 0.95  # the price of exactness stays small


@pytest.mark.parametrize(
    "limit",
    [
        RateLimit(requests=20, per_seconds=1, burst=40, concurrency=8),  # Jira's pacer
        RateLimit(requests=10, per_seconds=1, burst=20, concurrency=8),  # Azure DevOps' pacer
    ],
)
def test_a_burst_above_the_windows_requests_is_a_token_bucket_kept_whole(limit: RateLimit) -> None:
    params = window_exact(limit)
    assert (params.rate, params.burst) == (limit.rate, limit.burst)
    # slots asked for as fast as they come never overdraw the bucket (capacity = burst,
    # refilled at the rate), and the burst and the rate are all used
    tat: float | None = None
    now, slots = 0.0, []
    while now < 30:
        new_tat, grant = gcra_reserve(tat, now, 8, params, max_wait_s=0.5)
        if new_tat is not None:
            tat = new_tat
        slots.extend(grant.slots)
        now = max(now + 0.01, grant.slots[-1] if grant.slots else now + grant.wait_s)
    tokens, last = float(limit.capacity), 0.0
    for slot in slots:
        tokens = min(limit.capacity, tokens + (slot - last) * limit.rate) - 1
        last = slot
        assert tokens >= -1e-6
    assert sum(1 for s in slots if s < 0.1) >= limit.burst  # the burst went at once
    assert len(slots) >= limit.burst + limit.rate * 29.5


def test_a_sliding_window_limit_is_not_read_as_a_bucket() -> None:
    params = window_exact(TRELLO)  # burst 9 of a window of 90: a sliding window
    assert params.burst < TRELLO.capacity and params.worst_window() <= TRELLO.requests + 1e-9


def test_gcra_slots_respect_every_window() -> None:
    """Slots reserved at random moments: no window of W seconds (shifted by the slack) holds
    more than burst + rate · (W + slack)."""
    params = window_exact(RateLimit(requests=100, per_seconds=10, burst=10))
    rng = random.Random(7)
    tat: float | None = None
    now, slots = 0.0, []
    while now < 60:
        new_tat, grant = gcra_reserve(tat, now, rng.randint(1, 6), params, max_wait_s=2.0)
        if new_tat is not None:
            tat = new_tat
        slots.extend(grant.slots)
        now += rng.expovariate(8.0)
    assert slots == sorted(slots)
    for start in slots:  # a window beginning at a slot is the worst case
        inside = sum(1 for s in slots if start <= s < start + params.window_s + params.slack_s)
        assert inside <= params.worst_window() + 1e-9
    assert len(slots) >= 0.95 * params.rate * 60


def test_a_far_slot_is_not_reserved_and_the_wait_is_told() -> None:
    params = BudgetParams(rate=1.0, burst=1.0, window_s=10.0, slack_s=0.25)
    tat, grant = gcra_reserve(None, 0.0, 3, params, max_wait_s=1.5)
    assert grant.slots == (0.0, 1.0) and tat == 2.0  # the third would be 2 s away
    again, refused = gcra_reserve(10.0, 0.0, 1, params, max_wait_s=5.0)
    assert again is None and refused.slots == () and refused.wait_s == pytest.approx(10.0)


async def test_hold_until_moves_every_callers_next_slot() -> None:
    budget = InMemoryBudget(window_exact(TRELLO))
    await budget.hold_until(100.0)
    grant = await budget.reserve(1, now=50.0, max_wait_s=60.0)
    assert grant.slots == (pytest.approx(100.0),)


class _Monotonic:
    def __init__(self, clock: EventClock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock.monotonic()


async def _drive(
    limit: RateLimit,
    vendor: WindowLimiter,
    budgets: Callable[[], SharedBudget],
    processes: int,
    seconds: float,
    clock: EventClock,
    before_write: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """``processes`` pacers (one per worker process, each from ``budgets()``), 8 callers
    each, calling the vendor without pause for ``seconds``; returns requests served.
    ``before_write`` runs between the slot and the write (building the request)."""
    served = 0

    async def vendor_call() -> str:
        if before_write is not None:
            await before_write()
        await clock.sleep(0.05)  # the request travels
        wait = vendor.hit("token")
        if wait is not None:
            raise ThrottledError(retry_after=max(1.0, wait))
        return "ok"

    async def caller(pacer: Pacer) -> None:
        nonlocal served
        while clock.monotonic() < seconds:
            try:
                await pacer.call(vendor_call)
                served += 1
            except DeferChunk as exc:  # the engine would re-enqueue the chunk this long
                await clock.sleep(exc.delay_s)

    pacers = [Pacer(limit, clock=clock, rng=random.Random(n), budget=budgets()) for n in range(processes)]
    tasks = [asyncio.create_task(caller(p)) for p in pacers for _ in range(8)]
    await clock.run(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return served


@pytest.mark.parametrize(("limit", "limiter"), [(TRELLO, WindowLimiter), (ASANA_FREE, CountingWindowLimiter)])
async def test_four_processes_sharing_a_budget_get_no_429(limit: RateLimit, limiter: type[WindowLimiter]) -> None:
    clock = EventClock()
    vendor = _Counting(limiter(int(limit.requests), limit.per_seconds, _Monotonic(clock)))  # type: ignore[arg-type]
    shared = InMemoryBudget(window_exact(limit))
    seconds = 3 * limit.per_seconds
    served = await _drive(limit, vendor, lambda: shared, processes=4, seconds=seconds, clock=clock)
    assert vendor.refused == 0
    # and the budget is used: at least 95 % of what the vendor allows over the run
    assert served >= 0.95 * limit.requests * seconds / limit.per_seconds - limit.requests * 0.02


@pytest.mark.parametrize(("limit", "limiter"), [(TRELLO, WindowLimiter), (ASANA_FREE, CountingWindowLimiter)])
async def test_a_budget_per_process_overruns_the_vendor(limit: RateLimit, limiter: type[WindowLimiter]) -> None:
    """The same four processes, each with a ledger of its own (the budget bypassed): the
    vendor refuses requests. This is what the shared ledger prevents."""
    clock = EventClock()
    vendor = _Counting(limiter(int(limit.requests), limit.per_seconds, _Monotonic(clock)))  # type: ignore[arg-type]
    await _drive(
        limit,
        vendor,
        lambda: InMemoryBudget(window_exact(limit)),
        processes=4,
        seconds=2 * limit.per_seconds,
        clock=clock,
    )
    assert vendor.refused > 0


def _busy_loop(clock: EventClock, rng: random.Random, *, checked: bool) -> Callable[[], Awaitable[None]]:
    """A loaded machine between a slot and the socket: one request in five takes two seconds to
    be written. ``checked``: the transport then checks the pacer's window, as GuardedTransport does."""

    async def before_write() -> None:
        if rng.random() < 0.2:
            await clock.sleep(2.0)
        window = SEND_WINDOW.get()
        if checked and window is not None:
            window.claim()

    return before_write


@pytest.mark.parametrize(("limit", "limiter"), [(TRELLO, WindowLimiter), (ASANA_FREE, CountingWindowLimiter)])
async def test_a_request_written_past_its_window_is_not_sent(limit: RateLimit, limiter: type[WindowLimiter]) -> None:
    """Woken in time, a request can still reach the socket late (CI: one 429 in 403 requests,
    4 workers on one Trello token). Checked where it is written, a late request goes nowhere
    and waits for a fresh slot; the vendor refuses nothing."""
    clock = EventClock()
    vendor = _Counting(limiter(int(limit.requests), limit.per_seconds, _Monotonic(clock)))  # type: ignore[arg-type]
    shared = InMemoryBudget(window_exact(limit))
    seconds = 3 * limit.per_seconds
    lag = _busy_loop(clock, random.Random(7), checked=True)
    served = await _drive(limit, vendor, lambda: shared, processes=4, seconds=seconds, clock=clock, before_write=lag)
    assert vendor.refused == 0
    # only the late requests' slots are lost: one in five at most, so ≥ 70 % of the budget
    assert served >= 0.7 * limit.requests * seconds / limit.per_seconds


@pytest.mark.parametrize(("limit", "limiter"), [(TRELLO, WindowLimiter), (ASANA_FREE, CountingWindowLimiter)])
async def test_without_the_check_at_the_write_late_requests_overrun(
    limit: RateLimit, limiter: type[WindowLimiter]
) -> None:
    """The same lag with the window unchecked at the write: the vendor refuses requests (what
    the check above prevents)."""
    clock = EventClock()
    vendor = _Counting(limiter(int(limit.requests), limit.per_seconds, _Monotonic(clock)))  # type: ignore[arg-type]
    shared = InMemoryBudget(window_exact(limit))
    lag = _busy_loop(clock, random.Random(7), checked=False)
    await _drive(
        limit, vendor, lambda: shared, processes=4, seconds=3 * limit.per_seconds, clock=clock, before_write=lag
    )
    assert vendor.refused > 0


class _Counting(WindowLimiter):
    """A vendor limiter that counts what it refused."""

    def __init__(self, inner: WindowLimiter) -> None:
        self.inner = inner
        self.refused = 0

    def hit(self, key: str) -> float | None:
        wait = self.inner.hit(key)
        if wait is not None:
            self.refused += 1
        return wait


class _OversleepingClock:
    """Wall time that moves only when slept; the sleeps listed in ``late`` wake that much late."""

    def __init__(self, late: list[float]) -> None:
        self.t = 0.0
        self.late = late

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + (self.late.pop(0) if self.late else 0.0)


async def test_a_caller_that_wakes_past_the_slack_does_not_use_its_slot() -> None:
    """Sent that late, the request would share a vendor window with the next slot's (two
    requests at t = 2 s on a 1/s budget); it takes a fresh slot instead."""
    params = BudgetParams(rate=1.0, burst=1.0, window_s=10.0, slack_s=0.25)
    clock = _OversleepingClock(late=[1.0])  # the first sleep wakes 1 s late
    queue = SlotQueue(InMemoryBudget(params), clock, max_batch=2)
    sent = []
    for _ in range(3):
        assert (await queue.take(max_wait_s=5.0)).send_by is not None
        sent.append(clock.t)
    # slot 0 at once; slot 1 slept for, woken at 2.0: dropped, slot 2 used at 2.0; then slot 3
    assert sent == [0.0, 2.0, 3.0] and queue.dropped == 1


async def test_a_call_that_is_always_written_late_defers_its_chunk() -> None:
    """Every slot goes by before the write: after MAX_LATE_WAKES tries the chunk is deferred
    (the engine re-enqueues it), nothing having been sent."""
    clock = EventClock()
    params = BudgetParams(rate=10.0, burst=1.0, window_s=10.0, slack_s=0.25)
    pacer = Pacer(TRELLO, clock=clock, budget=InMemoryBudget(params))
    written = 0

    async def slow_to_write() -> str:
        nonlocal written
        await clock.sleep(1.0)
        window = SEND_WINDOW.get()
        assert window is not None
        window.claim()
        written += 1
        return "ok"

    task = asyncio.create_task(pacer.call(slow_to_write))
    await clock.run(60.0)
    with pytest.raises(DeferChunk):
        await task
    # each miss drops its slot (and a batch may hold more that went stale meanwhile)
    assert written == 0 and pacer.slots is not None and pacer.slots.dropped >= MAX_LATE_WAKES


#: Asana paid, as its connector declares it: a ``/batch`` call carries up to 10 actions
ASANA_BATCH = RateLimit(requests=1500, per_seconds=60, burst=25, concurrency=15, batch=10)


async def _drive_batches(params: BudgetParams, seconds: float, clock: EventClock) -> tuple[int, int]:
    """4 processes on one budget, 8 callers each, sending batches of 1 to 10 actions without
    pause to a vendor that counts each action and refuses a whole batch when any action is
    over (Asana's ``/batch``). Returns (actions served, actions refused)."""
    vendor = _Counting(CountingWindowLimiter(1500, 60.0, _Monotonic(clock)))  # type: ignore[arg-type]
    served = refused_before = 0
    rng = random.Random(11)
    shared = InMemoryBudget(params)

    async def caller(pacer: Pacer) -> None:
        nonlocal served
        while clock.monotonic() < seconds:
            cost = rng.randint(1, 10)

            async def batch(cost: int = cost) -> int:
                await clock.sleep(0.05)  # the request travels
                waits = [vendor.hit("token") for _ in range(cost)]
                if any(w is not None for w in waits):
                    raise ThrottledError(retry_after=1.0)
                return cost

            try:
                done = await pacer.call(batch, cost=cost)
            except DeferChunk as exc:
                await clock.sleep(exc.delay_s)
            else:
                served += done

    pacers = [Pacer(ASANA_BATCH, clock=clock, rng=random.Random(n), budget=shared) for n in range(4)]
    tasks = [asyncio.create_task(caller(p)) for p in pacers for _ in range(8)]
    await clock.run(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return served, vendor.refused - refused_before


def test_a_batch_budget_takes_its_actions_from_the_burst() -> None:
    params = window_exact(ASANA_BATCH)
    assert params.max_cost == 10 and params.tolerance_s == pytest.approx(15 * params.emission_s)
    # Asana's free plan keeps a burst of 3 of its 150 a minute: batches of 3 at most there
    assert window_exact(ASANA_BATCH.model_copy(update={"requests": 150, "burst": 10})).max_cost == 3
    with pytest.raises(ValueError):
        BudgetParams(rate=1.0, burst=2.0, window_s=10.0, slack_s=0.25, max_cost=3)


async def test_batches_from_four_processes_get_no_429() -> None:
    """Each batch is written at its last slot, so its first actions reach the vendor late; the
    tolerance cut by ``max_cost - 1`` absorbs that, and the budget is still used."""
    clock = EventClock()
    served, refused = await _drive_batches(window_exact(ASANA_BATCH), 120.0, clock)
    assert refused == 0
    assert served >= 0.95 * 1500 * 2 - 30


def test_batches_sent_at_their_last_slot_respect_every_window() -> None:
    """Reservations of 1 to 10 slots at random moments, each sent whole at its last slot (a
    batch): no window of W seconds (shifted by the slack) holds more than the budget's worst
    window — the early actions of a batch are paid for by the tolerance cut."""
    params = window_exact(RateLimit(requests=300, per_seconds=10, burst=30, batch=10))
    assert params.max_cost == 6  # 2 % of 300: the burst caps the batch
    rng = random.Random(5)
    tat: float | None = None
    now, sent = 0.0, []
    while now < 60:
        cost = rng.randint(1, params.max_cost)
        new_tat, grant = gcra_reserve(tat, now, cost, params, max_wait_s=30.0)
        if new_tat is not None:
            tat = new_tat
        if len(grant.slots) == cost:
            sent.extend([grant.slots[-1]] * cost)
        now += rng.choice((0.0, 0.0, 0.0, 0.0, 0.02, 0.05, 1.0))
    sent.sort()
    fullest = 0
    for start in sent:
        inside = sum(1 for s in sent if start <= s < start + params.window_s + params.slack_s)
        assert inside <= params.worst_window() + 1e-9
        fullest = max(fullest, inside)
    assert fullest >= params.worst_window() - params.max_cost  # the budget was pressed that hard


async def test_a_batch_holds_as_many_concurrency_slots_as_it_has_actions() -> None:
    clock = EventClock()
    pacer = Pacer(ASANA_BATCH, clock=clock)
    in_flight = peak = 0

    async def call(cost: int) -> None:
        nonlocal in_flight, peak
        in_flight += cost
        peak = max(peak, in_flight)
        await clock.sleep(0.5)
        in_flight -= cost

    tasks = [asyncio.create_task(pacer.call(lambda c=c: call(c), cost=c)) for c in (10, 10, 1, 4, 9)]
    await clock.run(30.0)
    await asyncio.gather(*tasks)
    assert peak <= ASANA_BATCH.concurrency
    with pytest.raises(ValueError):
        await pacer.call(lambda: call(11), cost=11)


async def test_a_batch_takes_consecutive_slots_of_one_reservation() -> None:
    """Slots the queue holds for single calls would leave other callers' slots between a
    batch's first and last; the batch reserves its own, together, and is written at the last."""
    params = BudgetParams(rate=1.0, burst=10.0, window_s=60.0, slack_s=0.25, max_cost=4)
    budget = InMemoryBudget(params)
    grants: list[tuple[float, ...]] = []
    reserve = budget.reserve

    async def recorded(
        count: int, now: float, max_wait_s: float, *, whole: bool = False, after: float | None = None
    ) -> Any:
        grant = await reserve(count, now, max_wait_s, whole=whole, after=after)
        grants.append(grant.slots)
        return grant

    budget.reserve = recorded  # type: ignore[method-assign]
    clock = _OversleepingClock(late=[])
    queue = SlotQueue(budget, clock, max_batch=8)
    await queue.take(max_wait_s=30.0)  # a single call: the queue reserves a few ahead
    await queue.take(max_wait_s=30.0)
    held = queue.held
    turn = await queue.take(max_wait_s=30.0, cost=4)
    assert len(grants[-1]) == 4 and held == queue.held  # its own four, the singles' kept
    assert turn.send_by == pytest.approx(grants[-1][-1] + params.send_late_s)


async def test_batches_that_follow_one_another_share_reservations_and_lose_no_slot() -> None:
    """Batches one after another (a coalescer's lane while the vendor is the bottleneck):
    each reserving its own made one ledger round trip per batch. A batch that finds the
    queue's run too short reserves the next one's slots too; what the next batch does not
    use starts the one after it (the reservation follows directly), so nothing goes stale."""
    params = window_exact(ASANA_BATCH)
    budget = InMemoryBudget(params)
    clock = _OversleepingClock(late=[])
    queue = SlotQueue(budget, clock)
    costs = [10, 9, 10, 8, 10, 7, 10, 10, 9, 3] * 6
    sent: list[float] = []
    for cost in costs:
        turn = await queue.take(max_wait_s=5.0, cost=cost)
        assert turn.send_by is not None
        sent.extend([clock.t] * cost)  # written whole, at its last slot
        await clock.sleep(0.05)  # the batch travels and is answered
    assert queue.dropped == 0
    assert budget.reservations <= len(costs) // 2
    for start in sent:
        inside = sum(1 for s in sent if start <= s < start + params.window_s + params.slack_s)
        assert inside <= params.worst_window() + 1e-9


@pytest.mark.parametrize(("foreign", "last"), [(False, 26.0), (True, 28.0)])
async def test_a_batch_starts_with_slots_left_over_only_when_no_other_process_reserved_since(
    foreign: bool, last: float
) -> None:
    """One slot left of the queue's run, then a batch of four: it starts with that slot when
    the ledger stands where the run left it (slots 23-26); after another process's slot (24)
    it takes four of a fresh run (25-28) — spanning the other's slot, its early actions and
    the other's request could both reach into one window, which the budget does not allow
    for. The slot left over stays for single callers."""
    params = BudgetParams(rate=1.0, burst=4.0, window_s=60.0, slack_s=0.25, max_cost=4)  # slots 1 s apart
    budget = InMemoryBudget(params)
    clock = _OversleepingClock(late=[])
    queue = SlotQueue(budget, clock)
    zero = clock.now().timestamp()  # slot instants are epoch seconds; the clock starts here
    for _ in range(FOLLOWED_TO_REACH_AHEAD + 1):  # slots 0-15, a reservation each
        await queue.take(max_wait_s=30.0, cost=4)
    assert budget.reservations == FOLLOWED_TO_REACH_AHEAD + 1 and queue.held == 0
    await queue.take(max_wait_s=30.0, cost=4)  # alone on the ledger a while: 16-19, and 20-23 ahead
    await queue.take(max_wait_s=30.0, cost=3)  # 20-22 of those; 23 left
    assert budget.reservations == FOLLOWED_TO_REACH_AHEAD + 2
    assert clock.t == 22.0 and queue.held == 1
    if foreign:
        other = await budget.reserve(1, zero + clock.t, max_wait_s=30.0)  # another process
        assert other.slots == (zero + 24.0,)
    turn = await queue.take(max_wait_s=30.0, cost=4)
    assert turn.send_by == pytest.approx(zero + last + params.send_late_s)
    if foreign:
        single = await queue.take(max_wait_s=30.0)  # slot 23 went by while the batch waited
        assert queue.dropped == 1 and single.send_by == pytest.approx(zero + 29.0 + params.send_late_s)


async def test_a_batch_whose_slots_ahead_do_not_fit_the_wait_still_gets_its_own() -> None:
    """Another process's slot moved the ledger past where this queue left it, so what the
    batch would reserve ahead no longer fits the wait: refused once, it reserves just its
    own four (which fit) — it used to ask again for as many ahead until it gave up."""
    params = BudgetParams(rate=1.0, burst=4.0, window_s=60.0, slack_s=0.25, max_cost=4)  # slots 1 s apart
    budget = InMemoryBudget(params)
    clock = _OversleepingClock(late=[])
    queue = SlotQueue(budget, clock)
    for _ in range(FOLLOWED_TO_REACH_AHEAD + 1):  # batches back to back, alone on the ledger
        await queue.take(max_wait_s=5.0, cost=4)
    zero = clock.now().timestamp() - clock.t
    assert (await budget.reserve(1, zero + clock.t, max_wait_s=5.0)).slots  # another process
    before = budget.reservations
    turn = await queue.take(max_wait_s=5.0, cost=4)
    assert turn.send_by is not None and budget.reservations == before + 2
    assert queue.held == 0  # its own four, nothing ahead


def test_a_whole_reservation_on_an_idle_ledger_counts_its_slots_from_now() -> None:
    """An idle ledger (tat behind now) grants from now on: four slots 1 s apart end 3 s from
    now, past a wait of 2 s — none, not the first three of them."""
    params = BudgetParams(rate=1.0, burst=4.0, window_s=60.0, slack_s=0.25, max_cost=4)
    tat, grant = gcra_reserve(97.0, 100.0, 4, params, max_wait_s=2.0, whole=True)
    assert tat is None and grant.slots == () and grant.wait_s == pytest.approx(1.0)
    tat, grant = gcra_reserve(97.0, 100.0, 4, params, max_wait_s=3.0, whole=True)
    assert grant.slots == (100.0, 101.0, 102.0, 103.0) and tat == pytest.approx(104.0)


@pytest.mark.parametrize("limit", [ASANA_BATCH, TRELLO])
async def test_single_calls_far_apart_take_only_their_own_slot(limit: RateLimit) -> None:
    """Callers one at a time, far apart (the reads and uploads of a credential whose writes
    go in batches): slots reserved ahead for them went stale unused every other time (44 of
    one 3 × 100 run). Each reserves just its own, and none is dropped."""
    clock = EventClock()
    budget = InMemoryBudget(window_exact(limit))
    pacer = Pacer(limit, clock=clock, budget=budget)

    async def call() -> str:
        await clock.sleep(2.0)  # far apart
        return "ok"

    async def calls() -> None:
        for _ in range(6):
            await pacer.call(call)

    task = asyncio.create_task(calls())
    await clock.run(60.0)
    await task
    assert pacer.slots is not None
    assert budget.reservations == 6 and pacer.slots.dropped == 0


class _RemoteBudget(InMemoryBudget):
    """A ledger that answers after a round trip, as the Cosmos one does."""

    async def reserve(
        self, count: int, now: float, max_wait_s: float, *, whole: bool = False, after: float | None = None
    ) -> Grant:
        await asyncio.sleep(0)
        return await super().reserve(count, now, max_wait_s, whole=whole, after=after)


async def test_single_calls_waiting_together_share_one_reservation_without_reserving_ahead() -> None:
    clock = EventClock()
    budget = _RemoteBudget(window_exact(ASANA_BATCH))
    pacer = Pacer(ASANA_BATCH, clock=clock, budget=budget)

    async def call() -> str:
        await clock.sleep(0.01)
        return "ok"

    tasks = [asyncio.create_task(pacer.call(call)) for _ in range(8)]  # an attachments page's uploads
    await clock.run(5.0)
    await asyncio.gather(*tasks)
    assert pacer.slots is not None
    # the first reserves alone; the seven that queued meanwhile share the next reservation
    assert budget.reservations == 2 and pacer.slots.dropped == 0


def test_a_batch_takes_all_its_slots_or_none() -> None:
    """Part of a batch's slots would only go stale (its call cannot go with fewer): a whole
    reservation that does not fit the wait takes nothing and says when it would."""
    params = BudgetParams(rate=1.0, burst=4.0, window_s=60.0, slack_s=0.25, max_cost=4)
    tat, grant = gcra_reserve(10.0, 0.0, 4, params, max_wait_s=10.0, whole=True)
    assert tat is None and grant.slots == () and grant.wait_s == pytest.approx(3.0)  # last at 10 + 3 - 0
    tat, grant = gcra_reserve(10.0, 0.0, 4, params, max_wait_s=10.0)
    assert tat is not None and len(grant.slots) == 1  # not whole: what fits
    tat, grant = gcra_reserve(None, 0.0, 4, params, max_wait_s=10.0, whole=True)
    assert len(grant.slots) == 4
