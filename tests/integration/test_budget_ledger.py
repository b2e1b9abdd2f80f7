"""The shared request budget on the Cosmos stand-in: racing processes never share a slot,
every window stays within the vendor's limit, and a busy ledger costs one patch per grant."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from shared.contract.budget import gcra_reserve, window_exact
from shared.contract.limits import RateLimit
from shared.store.budget_ledger import CosmosBudgetLedger

LIMIT = RateLimit(requests=100, per_seconds=10, burst=10)


def _ledger(stores: Any) -> CosmosBudgetLedger:
    return CosmosBudgetLedger(stores.cosmos("eu"))


async def test_racing_processes_get_distinct_slots_within_every_window(stores: Any) -> None:
    ledger = _ledger(stores)
    key = f"trello:{uuid.uuid4().hex}"
    params = window_exact(LIMIT)
    # four "processes": a budget object each, over the same document
    budgets = [ledger.budget(key, params) for _ in range(4)]
    now = 1_900_000_000.0
    grants = []

    async def process(n: int) -> None:
        for step in range(12):
            grant = await budgets[n].reserve(4, now + step * 0.5, max_wait_s=30.0)
            grants.append(grant)

    await asyncio.gather(*(process(n) for n in range(4)))
    slots = sorted(s for g in grants for s in g.slots)
    assert len(slots) == 4 * 12 * 4  # every reservation got its four slots
    # a slot handed out twice would show below as a window over the limit
    for start in slots:
        inside = sum(1 for s in slots if start <= s < start + params.window_s + params.slack_s)
        assert inside <= params.worst_window() + 1e-6
    # once the ledger is ahead of the clock, a reservation is one conditional patch
    busy = budgets[0]
    trips = busy.round_trips
    later = slots[-1] - 20.0  # the ledger is far ahead of this instant
    grant = await busy.reserve(3, later, max_wait_s=60.0)
    assert len(grant.slots) == 3 and busy.round_trips == trips + 1


async def test_an_idle_ledger_grants_in_one_patch_and_racers_at_idle_share_no_slot(stores: Any) -> None:
    ledger = _ledger(stores)
    key = f"trello:{uuid.uuid4().hex}"
    params = window_exact(LIMIT)
    one = ledger.budget(key, params)
    now = 1_900_000_000.0
    first = await one.reserve(2, now, max_wait_s=5.0)  # first use: the document is created
    assert first.slots == (now, now)
    trips = one.round_trips
    later = now + 60.0  # long idle: the ledger's tat is behind the clock
    again = await one.reserve(2, later, max_wait_s=5.0)
    assert again.slots == (later, later) and one.round_trips == trips + 1
    # four processes that last saw the ledger idle reserve at one instant: one patch wins,
    # the others find the condition false and read; no slot is handed out twice
    racers = [ledger.budget(key, params) for _ in range(4)]
    for racer in racers:
        racer._seen_tat = later  # as if each had seen it idle
    at = later + 60.0
    grants = await asyncio.gather(*(r.reserve(6, at, max_wait_s=30.0) for r in racers))
    slots = sorted(s for g in grants for s in g.slots)
    assert len(slots) == 24
    for start in slots:
        inside = sum(1 for s in slots if start <= s < start + params.window_s + params.slack_s)
        assert inside <= params.worst_window() + 1e-6
    # a burst's slots are at once; beyond it, one emission interval apart from every grant
    assert slots[-1] - at == pytest.approx(23 * params.emission_s - params.tolerance_s)


async def test_a_ledger_within_its_tolerance_of_now_grants_in_one_patch(stores: Any) -> None:
    """``tat`` just ahead of now, by less than the tolerance (a credential used now and then):
    the patch that moves it by the slots' emission intervals grants them, the first at once,
    the same slots GCRA computes; it used to take a read and a replace."""
    ledger = _ledger(stores)
    params = window_exact(LIMIT)
    one = ledger.budget(f"trello:{uuid.uuid4().hex}", params)
    now = 1_900_000_000.0
    first = await one.reserve(3, now, max_wait_s=5.0)
    assert first.tat is not None
    at = first.tat - params.tolerance_s / 2
    trips = one.round_trips
    grant = await one.reserve(3, at, max_wait_s=5.0)
    assert one.round_trips == trips + 1
    expected_tat, expected = gcra_reserve(first.tat, at, 3, params, 5.0)
    assert grant.slots == pytest.approx(expected.slots) and grant.tat == pytest.approx(expected_tat)
    assert grant.slots[0] == at


async def test_a_grant_says_whether_it_follows_the_callers_previous_one(stores: Any) -> None:
    """A batch may start with the slots left of its process's previous grant only when no
    other process reserved in between: the ledger tells, on every path (created, busy, read)."""
    ledger = _ledger(stores)
    key = f"asana:{uuid.uuid4().hex}"
    params = window_exact(LIMIT)
    one, other = ledger.budget(key, params), ledger.budget(key, params)
    now = 1_900_000_000.0
    first = await one.reserve(20, now, max_wait_s=30.0)  # first use: read, then created
    assert first.slots and not first.adjacent and first.tat is not None
    trips = one.round_trips
    second = await one.reserve(3, now, max_wait_s=30.0, after=first.tat)  # busy: one patch
    assert one.round_trips == trips + 1
    assert second.adjacent and second.slots[0] == pytest.approx(first.slots[-1] + params.emission_s)
    between = await other.reserve(1, now, max_wait_s=30.0)  # another process's slot
    third = await one.reserve(3, now, max_wait_s=30.0, after=second.tat)
    assert between.slots and not third.adjacent
    assert third.slots[0] > between.slots[0] > second.slots[-1]
    # the read path (a lost race, a stale view of the ledger) tells it as well
    one._seen_tat = 0.0
    fourth = await one.reserve(2, now, max_wait_s=30.0, after=third.tat)
    assert fourth.adjacent and fourth.slots[0] == pytest.approx(third.slots[-1] + params.emission_s)


async def test_a_far_slot_is_a_wait_and_hold_until_is_shared(stores: Any) -> None:
    ledger = _ledger(stores)
    key = f"asana:{uuid.uuid4().hex}"
    params = window_exact(LIMIT)
    one, other = ledger.budget(key, params), ledger.budget(key, params)
    now = 1_900_000_000.0
    await one.hold_until(now + 30.0)  # a 429 with Retry-After: 30 seen by one process
    refused = await other.reserve(1, now, max_wait_s=5.0)
    assert refused.slots == () and refused.wait_s == pytest.approx(30.0)
    granted = await other.reserve(2, now + 29.0, max_wait_s=5.0)
    assert granted.slots[0] == pytest.approx(now + 30.0)


async def test_credential_keys_are_stable_across_processes_and_hold_no_secret(stores: Any) -> None:
    public, secrets = {"kind": "trello", "base_url": "https://api.trello.com/1"}, {"auth.token": "s3cret-token"}
    first = await _ledger(stores).credential_key("trello", public, secrets)
    second = await _ledger(stores).credential_key("trello", public, secrets)  # another process
    other = await _ledger(stores).credential_key("trello", public, {"auth.token": "another"})
    assert first == second != other
    assert "s3cret" not in first and first.startswith("trello:")


async def test_the_retention_sweep_deletes_idle_ledgers_only_and_a_writer_starts_over(stores: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.retention.ledgers import sweep_idle_budgets

    ledger = _ledger(stores)
    params = window_exact(LIMIT)
    # far in the future so ledgers of other tests (real clock) are never idle against it
    day = datetime(2101, 1, 2, tzinfo=UTC)
    idle_key, busy_key = f"asana:{uuid.uuid4().hex}", f"asana:{uuid.uuid4().hex}"
    idle, busy = ledger.budget(idle_key, params), ledger.budget(busy_key, params)
    assert (await idle.reserve(1, (day - timedelta(days=2)).timestamp(), max_wait_s=5.0)).slots
    assert (await busy.reserve(1, (day - timedelta(hours=2)).timestamp(), max_wait_s=5.0)).slots
    stale = await idle._read()  # a process read the idle document just before the sweep
    assert stale is not None

    assert await sweep_idle_budgets(stores.cosmos("eu"), now=day) >= 1
    assert await idle._read() is None
    assert await busy._read() is not None  # used within the day: kept
    assert await sweep_idle_budgets(stores.cosmos("eu"), now=day) == 0  # nothing idle is left

    # the process that read before the sweep writes under the old ETag: refused, not raised
    assert await idle._write(stale, day.timestamp()) is False
    grant = await idle.reserve(1, day.timestamp(), max_wait_s=5.0)
    assert grant.slots and await idle._read() is not None  # created afresh


async def test_the_sweep_spares_a_ledger_moved_after_it_was_read(stores: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from azure.core import MatchConditions

    ledger = _ledger(stores)
    key = f"trello:{uuid.uuid4().hex}"
    budget = ledger.budget(key, window_exact(LIMIT))
    day = datetime(2101, 3, 2, tzinfo=UTC)
    await budget.reserve(1, (day - timedelta(days=3)).timestamp(), max_wait_s=5.0)
    read_by_sweep = await budget._read()
    assert read_by_sweep is not None
    await budget.reserve(1, (day - timedelta(days=2)).timestamp(), max_wait_s=5.0)  # moves the ETag
    container = stores.cosmos("eu").container("leases")
    with pytest.raises(Exception) as refused:  # what sweep_idle_budgets does with the old ETag
        await container.delete_item(
            "budget",
            partition_key=budget.partition,
            etag=read_by_sweep["_etag"],
            match_condition=MatchConditions.IfNotModified,
        )
    assert getattr(refused.value, "status_code", None) == 412
    assert await budget._read() is not None
