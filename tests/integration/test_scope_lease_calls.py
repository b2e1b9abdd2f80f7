"""Scope leases in one conditional patch per step, on the Cosmos stand-in.

A chunk used to read the scope document and replace it under its ETag for each of claim,
advance and hand-off (plus renewals and releases): two round trips each. Each step is now one
patch whose condition is the check the read made; these tests pin that (by counting the
repository's calls) and the cases that still need the document: a stale or busy scope, and a
lease written before leases carried ``leaseUntilTs``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.engine.ports import Checkpoint, Claim, Phase
from shared.errors import ConflictError
from shared.migrations.ports_cosmos import CosmosRunState, LeasesRepository, RunsRepository
from shared.store.repository import iso
from shared.tenancy.context import TenantContext


class CountingLeases:
    """The leases repository, counting the calls each method makes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return counted


async def _state(stores: Any) -> tuple[CosmosRunState, CountingLeases, TenantContext]:
    ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
    await ctx.repo(RunsRepository).create({"id": "r1", "status": "queued", "counts": {}})
    state = CosmosRunState(ctx, "mig")
    await state.start("r1", ["s"])
    counting = CountingLeases(state.leases)
    state.leases = counting  # type: ignore[assignment]
    return state, counting, ctx


def _until(seconds: float = 30) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_a_chunk_claims_advances_and_hands_off_in_one_call_each(stores: Any) -> None:
    state, leases, _ = await _state(stores)
    first, second = Checkpoint(phase=Phase.PROJECT), Checkpoint(phase=Phase.TASK, cursor='after "x"/ü')
    assert (await state.claim("r1", "s", first, "t1", _until())).outcome is Claim.CLAIMED
    assert await state.renew("r1", "s", "t1", _until(60)) is True
    assert await state.advance("r1", "s", first, second) is True
    await state.handed_off("r1", "s", second)
    assert (await state.claim("r1", "s", second, "t2", _until())).outcome is Claim.CLAIMED
    await state.release("r1", "s", "t2")
    assert dict(leases.calls) == {"patch": 6}
    doc = await leases.inner.get(state.scope_id("r1", "s"))
    assert (doc["phase"], doc["cursor"], doc["handoffPending"]) == ("task", 'after "x"/ü', False)
    assert doc["leaseToken"] is None and doc["leaseUntilTs"] is None


async def test_a_busy_scope_is_read_to_say_until_when(stores: Any) -> None:
    state, leases, _ = await _state(stores)
    start = Checkpoint(phase=Phase.PROJECT)
    until = _until()
    assert (await state.claim("r1", "s", start, "t1", until)).outcome is Claim.CLAIMED
    busy = await state.claim("r1", "s", start, "t2", _until())
    assert busy.outcome is Claim.BUSY and busy.busy_until is not None
    assert abs((busy.busy_until - until).total_seconds()) < 0.01
    assert await state.renew("r1", "s", "t2", _until()) is False  # t2 never held it
    await state.release("r1", "s", "t2")  # not the holder: nothing changes
    assert (await state.claim("r1", "s", start, "t1", _until())).outcome is Claim.CLAIMED  # its own again
    assert await state.advance("r1", "s", Checkpoint(phase=Phase.SECTION), None) is False  # not there
    assert await state.advance("r1", "s", start, None) is True
    assert await state.renew("r1", "s", "t1", _until()) is False  # closed: the heartbeat stops


async def test_an_expired_lease_without_lease_until_ts_is_taken_over(stores: Any) -> None:
    """Scope documents written before ``leaseUntilTs`` hold only the ISO ``leaseUntil``: the
    claim's condition cannot see that it ran out, so the claim reads the document and takes
    it with an ETag, as before."""
    state, leases, _ = await _state(stores)
    sid = state.scope_id("r1", "s")
    doc = await leases.inner.get(sid)
    past = iso(datetime.now(UTC) - timedelta(seconds=5))
    await leases.inner.replace(
        {k: v for k, v in doc.items() if k != "leaseUntilTs"} | {"leaseToken": "dead-worker", "leaseUntil": past},
        etag=doc["_etag"],
    )
    assert (await state.claim("r1", "s", Checkpoint(phase=Phase.PROJECT), "t1", _until())).outcome is Claim.CLAIMED
    taken = await leases.inner.get(sid)
    assert taken["leaseToken"] == "t1" and taken["leaseUntilTs"] > datetime.now(UTC).timestamp()
    live = iso(_until())
    await leases.inner.replace(
        {k: v for k, v in taken.items() if k != "leaseUntilTs"} | {"leaseToken": "living-worker", "leaseUntil": live},
        etag=taken["_etag"],
    )
    busy = await state.claim("r1", "s", Checkpoint(phase=Phase.PROJECT), "t2", _until())
    assert busy.outcome is Claim.BUSY


async def test_the_same_scope_id_in_another_organisation_is_another_document(stores: Any) -> None:
    """Run and scope ids repeat across organisations (``r1``/``s`` here): a conditional patch
    must judge the addressed document only, as Cosmos does (the stand-in once matched the
    condition against any document with that id, in any partition)."""
    mine, _, _ = await _state(stores)
    theirs, _, _ = await _state(stores)
    start, nxt = Checkpoint(phase=Phase.PROJECT), Checkpoint(phase=Phase.SECTION, cursor="c1")
    assert await mine.advance("r1", "s", start, nxt) is True
    # `theirs` is still at `start`: that must not let `mine` advance from `start` again
    assert await mine.advance("r1", "s", start, nxt) is False
    assert (await mine.claim("r1", "s", start, "t1", _until())).outcome is Claim.STALE
    assert (await theirs.claim("r1", "s", start, "t1", _until())).outcome is Claim.CLAIMED


async def test_conditions_compare_field_names_and_values_as_written(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
    repo = ctx.repo(LeasesRepository)
    await repo.create({"id": "doc", "leaseToken": "AbC", "leaseUntilTs": 10.5, "closed": False})
    ok = await repo.patch(
        "doc",
        [{"op": "set", "path": "/n", "value": 1}],
        condition='FROM c WHERE c.leaseToken = "AbC" AND c.leaseUntilTs < 11',
    )
    assert ok["n"] == 1
    for unmet in (
        'FROM c WHERE c.leaseToken = "abc"',
        "FROM c WHERE c.leaseUntilTs > 11",
        "FROM c WHERE NOT IS_DEFINED(c.leaseToken)",
    ):
        with pytest.raises(ConflictError):
            await repo.patch("doc", [{"op": "set", "path": "/n", "value": 2}], condition=unmet)
    assert (await repo.get("doc"))["n"] == 1
