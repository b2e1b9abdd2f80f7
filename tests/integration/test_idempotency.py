"""Idempotency-Key records against the real Cosmos stand-in: claim, replay, reuse, release,
expiry after a day and the sweep, with a fake clock (issue 18, item 11)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.tenancy.context import TenantContext
from shared.tenancy.idempotency import (
    KEY_TTL,
    PENDING_FOR,
    Claim,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    IdempotencyRepository,
    Replay,
    claim,
    complete,
    record_id,
    release,
    request_digest,
    sweep_expired,
)
from shared.tenancy.ids import new_org_id

T0 = datetime(2001, 5, 1, 12, 0, tzinfo=UTC)  # in the past: live records of other tests are not swept
PATH = "/api/orgs/org_eu_x/migrations/mig_1/runs"


def _repo(stores: Any) -> IdempotencyRepository:
    return TenantContext.for_org(stores, new_org_id("eu")).repo(IdempotencyRepository)


def test_digest_is_of_the_request_not_its_spelling() -> None:
    a = request_digest("POST", PATH, b'{"mode": "full", "x": [1, 2]}')
    assert a == request_digest("post", PATH, json.dumps({"x": [1, 2], "mode": "full"}, indent=2).encode())
    assert a != request_digest("POST", PATH, b'{"mode": "delta", "x": [1, 2]}')
    assert a != request_digest("POST", PATH.replace("mig_1", "mig_2"), b'{"mode": "full", "x": [1, 2]}')
    assert request_digest("POST", PATH, b"") != request_digest("POST", PATH, b"{}")


async def test_first_answer_is_replayed_and_another_body_is_refused(stores: Any) -> None:
    repo = _repo(stores)
    key = str(uuid.uuid4())
    body = request_digest("POST", PATH, b'{"mode": "full"}')
    held = await claim(repo, key, body, now=T0)
    assert isinstance(held, Claim)
    with pytest.raises(IdempotencyKeyInUseError):  # the first request is still being answered
        await claim(repo, key, body, now=T0 + timedelta(seconds=1))
    await complete(repo, held, status=202, resource_id="run_1")
    assert await claim(repo, key, body, now=T0 + timedelta(hours=23)) == Replay(202, "run_1")
    with pytest.raises(IdempotencyKeyReusedError) as caught:
        await claim(repo, key, request_digest("POST", PATH, b'{"mode": "delta"}'), now=T0 + timedelta(hours=1))
    assert caught.value.status == 409 and caught.value.slug == "idempotency-key-reused"
    stored = await repo.get(record_id(key))
    assert key not in json.dumps(stored) and "full" not in json.dumps(stored)  # ids and digests only
    assert stored["expiresAt"].startswith("2001-05-02T12:00")


async def test_keys_are_per_tenant(stores: Any) -> None:
    key, digest = "same-key-in-two-orgs", request_digest("POST", PATH, b"{}")
    a, b = _repo(stores), _repo(stores)
    held = await claim(a, key, digest, now=T0)
    assert isinstance(held, Claim)
    await complete(a, held, status=201, resource_id="mig_a")
    assert isinstance(await claim(b, key, digest, now=T0), Claim)  # another org's key is not this one's


async def test_released_key_runs_again_and_expired_or_dead_claims_are_taken_over(stores: Any) -> None:
    repo = _repo(stores)
    digest = request_digest("POST", PATH, b"{}")
    held = await claim(repo, "k-released", digest, now=T0)
    assert isinstance(held, Claim)
    await release(repo, held)  # the create failed: nothing was made
    assert isinstance(await claim(repo, "k-released", request_digest("POST", PATH, b'{"a": 1}'), now=T0), Claim)

    done = await claim(repo, "k-expired", digest, now=T0)
    assert isinstance(done, Claim)
    await complete(repo, done, status=201, resource_id="con_1")
    assert await claim(repo, "k-expired", digest, now=T0 + KEY_TTL - timedelta(seconds=1)) == Replay(201, "con_1")
    # After its day the key is new again, whatever the body.
    assert isinstance(await claim(repo, "k-expired", request_digest("GET", PATH, b""), now=T0 + KEY_TTL), Claim)

    assert isinstance(await claim(repo, "k-dead", digest, now=T0), Claim)
    with pytest.raises(IdempotencyKeyInUseError):
        await claim(repo, "k-dead", digest, now=T0 + PENDING_FOR - timedelta(seconds=1))
    assert isinstance(await claim(repo, "k-dead", digest, now=T0 + PENDING_FOR), Claim)


@pytest.mark.parametrize("bad", ["", "has space", "x" * 256, "n\u00e9e", "tab\there"])
async def test_malformed_keys_are_422(stores: Any, bad: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await claim(_repo(stores), bad, request_digest("POST", PATH, b"{}"), now=T0)
    assert caught.value.extra["field"] == "Idempotency-Key"


async def test_sweep_deletes_only_expired_records(stores: Any) -> None:
    repo = _repo(stores)
    digest = request_digest("POST", PATH, b"{}")
    old, young = f"old-{uuid.uuid4()}", f"young-{uuid.uuid4()}"
    await claim(repo, old, digest, now=T0 - timedelta(days=3))
    await claim(repo, young, digest, now=T0)
    assert await sweep_expired(stores.cosmos("eu"), now=T0) >= 1
    assert await repo.find(record_id(old)) is None
    assert await repo.find(record_id(young)) is not None
