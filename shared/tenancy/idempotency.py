"""`Idempotency-Key` on creating requests: a client that retries after a lost answer gets
the first answer again instead of a second run, org, connector, migration, key or export.

A record is kept per scope (the organisation in the path; for `POST /orgs`, the person:
a hash of the token's issuer and subject) for a day. It holds ids and digests only: the
SHA-256 of the key (its document id), the SHA-256 of the method, path and canonical JSON
body, the answer's status and the id of what was created. Never the body, never the answer
itself: a replay re-reads what was created (so a replayed API-key create cannot show the
key again — only the first answer ever holds it).

* same key, same request, first one finished → `Replay(status, resource_id)`;
* same key, other method, path or body → `IdempotencyKeyReusedError` (409);
* same key while the first request still runs → `IdempotencyKeyInUseError` (409);
* a first request that failed releases its key, so the retry runs (nothing was created);
* records past `expiresAt` are ignored and replaced, and the daily retention sweep deletes
  them (`sweep_expired`), since Ferry never relies on Cosmos TTL.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConflictError, ValidationFailed
from shared.store.repository import TenantRepository, iso

#: How long a key answers with the first result.
KEY_TTL = timedelta(days=1)
#: A request that has held its key this long without finishing is taken to have died.
PENDING_FOR = timedelta(minutes=5)
#: Printable ASCII without spaces, as in the IETF draft's examples (UUIDs, ULIDs, …).
KEY_GRAMMAR = re.compile(r"[\x21-\x7e]{1,255}")
HEADER = "Idempotency-Key"


class IdempotencyKeyReusedError(ConflictError):
    """The key was used for another request (method, path or body) within its day."""

    slug = "idempotency-key-reused"
    title = "Idempotency key reused"


class IdempotencyKeyInUseError(ConflictError):
    """A request with this key is still being answered."""

    slug = "idempotency-key-in-use"
    title = "Idempotency key in use"


class IdempotencyRepository(TenantRepository):
    container_name = "idempotency"


def principal_scope(issuer: str, subject: str) -> str:
    """The scope of a person's keys (org creation has no org yet): ids hashed, no e-mail."""
    return "principal:" + hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()[:40]


def validate_key(key: str) -> str:
    if not KEY_GRAMMAR.fullmatch(key):
        raise ValidationFailed("Idempotency-Key must be 1-255 printable ASCII characters without spaces", field=HEADER)
    return key


def record_id(key: str) -> str:
    return hashlib.sha256(f"idempotency-key\0{key}".encode()).hexdigest()


def request_digest(method: str, path: str, body: bytes) -> str:
    """SHA-256 of what the request asks for: the same JSON with other spacing or key order
    is the same request; anything else compares as its bytes."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """This request holds the key: create, then `complete` (or `release` on failure)."""

    record_id: str


@dataclass(frozen=True)
class Replay:
    """The key's first request finished: answer `status` with the resource `resource_id`."""

    status: int
    resource_id: str


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _stale(doc: dict[str, Any], now: datetime) -> bool:
    expires = _parse(doc.get("expiresAt"))
    if expires is None or expires <= now:
        return True
    if doc.get("state") == "pending":
        until = _parse(doc.get("pendingUntil"))
        return until is None or until <= now
    return False


async def claim(repo: IdempotencyRepository, key: str, digest: str, *, now: datetime) -> Claim | Replay:
    """Take the key for this request, or say how the earlier request with it ended."""
    rid = record_id(validate_key(key))
    fresh = {
        "id": rid,
        "requestDigest": digest,
        "state": "pending",
        "createdAt": iso(now),
        "pendingUntil": iso(now + PENDING_FOR),
        "expiresAt": iso(now + KEY_TTL),
    }
    for _ in range(3):
        try:
            await repo.create(fresh)
            return Claim(rid)
        except ConflictError:
            pass
        held = await repo.find(rid)
        if held is None:
            continue  # released or swept meanwhile: try to create again
        if _stale(held, now):
            try:  # expired, or its request died: take it over, unless someone else just did
                await repo.replace(fresh, etag=held.get("_etag"))
                return Claim(rid)
            except ConflictError:
                continue
        if held.get("requestDigest") != digest:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was used for another request in the last 24 hours; "
                "use a new key for a new request",
                field=HEADER,
            )
        if held.get("state") == "done":
            return Replay(int(held["status"]), str(held["resourceId"]))
        raise IdempotencyKeyInUseError(
            "a request with this Idempotency-Key is still being answered; retry it in a few seconds", field=HEADER
        )
    raise IdempotencyKeyInUseError("this Idempotency-Key is contended; retry in a few seconds", field=HEADER)


async def complete(repo: IdempotencyRepository, held: Claim, *, status: int, resource_id: str) -> None:
    """Remember how the request ended (status and the created id) for the rest of the day."""
    await repo.patch(
        held.record_id,
        [
            {"op": "set", "path": "/state", "value": "done"},
            {"op": "set", "path": "/status", "value": status},
            {"op": "set", "path": "/resourceId", "value": resource_id},
        ],
    )


async def release(repo: IdempotencyRepository, held: Claim) -> None:
    """The request failed and created nothing: a retry with the same key runs again."""
    await repo.delete(held.record_id)


async def sweep_expired(cosmos: Any, *, now: datetime) -> int:
    """Delete every record of a region past its day (retention sweep; cross-tenant by design)."""
    container = cosmos.container(IdempotencyRepository.container_name)
    items = container.query_items(
        "SELECT c.id, c.pk FROM c WHERE c.expiresAt <= @now", parameters=[{"name": "@now", "value": iso(now)}]
    )
    deleted = 0
    async for item in items:
        try:
            await container.delete_item(item["id"], partition_key=item["pk"])
            deleted += 1
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404:
                raise
    return deleted
