"""The shared request budget on the Cosmos stand-in: racing processes never share a slot,
every window stays within the vendor's limit, and a busy ledger costs one patch per grant."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from shared.contract.budget import window_exact
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
