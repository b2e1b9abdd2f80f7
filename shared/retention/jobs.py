"""Deletion jobs and receipts in the region's `deletions` container.

One document per job is both the progress record and, once done, the receipt. It holds no
personal data and no tenant id: its partition key is the *hashed* org id, its counts are
per store, and the requester is only identified by a one-time job token whose SHA-256
digest is kept (the token itself is shown once, in the 202 answer):

    {"id": "del_eu_…", "pk": "<orgHash>", "type": "deletionJob", "orgHash": "<orgHash>",
     "region": "eu", "reason": "request" | "inactivity", "status": "queued" | "running" |
     "succeeded", "requestedAt": …, "startedAt": …, "finishedAt": …, "attempts": 2,
     "verifyAfter": …, "steps": {"cosmos:members": {"done": true, "deleted": 3}, …},
     "tokenDigest": "<sha256 hex>" | null}

The org id hash is SHA-256 over a fixed label and the id: whoever knows the org id can find
its receipt; the receipt alone does not reveal the org.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import AuthenticationError, ConflictError, NotFoundError
from shared.store.cosmos import CosmosRegion
from shared.store.repository import iso
from shared.tenancy.ids import region_of

CONTAINER = "deletions"
JOB_TYPE = "deletionJob"
MESSAGE_TYPE = "org.delete"
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def org_hash(tenant_id: str) -> str:
    """The org id as receipts know it (hex SHA-256, domain-separated)."""
    return hashlib.sha256(f"ferry-deletion-receipt:v1:{tenant_id}".encode()).hexdigest()


def new_job_id(region: str) -> str:
    return f"del_{region}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def job_region(job_id: str) -> str:
    """The region a job id names (`del_eu_…`); anything else is not found."""
    parts = job_id.split("_")
    if len(parts) != 3 or parts[0] != "del" or len(parts[2]) != 20:
        raise NotFoundError("deletion job not found")
    return parts[1]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class DeletionMessage:
    """The queue message of a deletion job: ids only."""

    job_id: str
    tenant_id: str

    def to_json(self) -> dict[str, Any]:
        return {"type": MESSAGE_TYPE, "v": 1, "jobId": self.job_id, "tenantId": self.tenant_id}

    @classmethod
    def parse(cls, body: dict[str, Any]) -> DeletionMessage:
        if body.get("type") != MESSAGE_TYPE or not body.get("jobId") or not body.get("tenantId"):
            raise ValueError("not a deletion job message")
        job_id, tenant_id = str(body["jobId"]), str(body["tenantId"])
        region_of(tenant_id)  # a malformed org id → NotFoundError
        return cls(job_id, tenant_id)


class DeletionJobs:
    """Job documents of one region (partitioned by the hashed org id)."""

    def __init__(self, region: CosmosRegion) -> None:
        self._container = region.container(CONTAINER)

    async def create(
        self,
        tenant_id: str,
        *,
        region: str,
        reason: str,
        now: datetime,
        with_token: bool,
        job_id: str | None = None,
        verify_after: datetime | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """A queued job; returns (document, one-time token or None)."""
        token = secrets.token_urlsafe(32) if with_token else None
        h = org_hash(tenant_id)
        doc: dict[str, Any] = {
            "id": job_id or new_job_id(region),
            "pk": h,
            "type": JOB_TYPE,
            "orgHash": h,
            "region": region,
            "reason": reason,
            "status": "queued",
            "requestedAt": iso(now),
            "startedAt": None,
            "finishedAt": None,
            "attempts": 0,
            "steps": {},
            "verifyAfter": iso(verify_after) if verify_after else None,
            "tokenDigest": token_digest(token) if token else None,
        }
        return dict(await self._container.create_item(doc)), token

    async def get(self, job_id: str, tenant_id: str) -> dict[str, Any] | None:
        try:
            return dict(await self._container.read_item(job_id, partition_key=org_hash(tenant_id)))
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise

    async def find(self, job_id: str) -> dict[str, Any] | None:
        """By job id alone (the org is gone): a query over the small deletions container."""
        items = self._container.query_items(
            "SELECT * FROM c WHERE c.id = @id AND c.type = @type",
            parameters=[{"name": "@id", "value": job_id}, {"name": "@type", "value": JOB_TYPE}],
        )
        found = [dict(i) async for i in items]
        return found[0] if found else None

    async def start_attempt(self, job_id: str, tenant_id: str, *, now: str) -> dict[str, Any]:
        """Mark the job running and count the attempt, unless it already succeeded
        (ConflictError); NotFoundError when there is no such job."""
        ops = [
            {"op": "set", "path": "/status", "value": "running"},
            {"op": "incr", "path": "/attempts", "value": 1},
            {"op": "set", "path": "/attemptAt", "value": now},
        ]
        try:
            return dict(
                await self._container.patch_item(
                    job_id,
                    partition_key=org_hash(tenant_id),
                    patch_operations=ops,
                    filter_predicate="from c where c.status != 'succeeded'",
                )
            )
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status == 404:
                raise NotFoundError("deletion job not found") from exc
            if status == 412:
                raise ConflictError("deletion job already finished") from exc
            raise

    async def patch(self, job: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(await self._container.patch_item(job["id"], partition_key=job["pk"], patch_operations=ops))

    async def receipts(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every job of an org (by its hash)."""
        h = org_hash(tenant_id)
        items = self._container.query_items(
            "SELECT * FROM c WHERE c.pk = @pk", parameters=[{"name": "@pk", "value": h}], partition_key=h
        )
        return [dict(i) async for i in items]


async def read_status(region: CosmosRegion, job_id: str, token: str | None) -> dict[str, Any]:
    """The job's public status, for whoever holds its token (constant-time compare).
    A wrong or missing token and an unknown job answer alike: not found / unauthenticated."""
    if not token:
        raise AuthenticationError("send the deletion job token in X-Ferry-Job-Token")
    job = await DeletionJobs(region).find(job_id)
    digest = (job or {}).get("tokenDigest") or ""
    if job is None or not hmac.compare_digest(digest, token_digest(token)):
        raise NotFoundError("deletion job not found")
    return public_job(job)


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """What a job or receipt shows: no tenant id, no names, no token digest."""
    steps = job.get("steps") or {}
    return {
        "id": job["id"],
        "status": job["status"],
        "reason": job.get("reason"),
        "region": job.get("region"),
        "orgHash": job.get("orgHash"),
        "requestedAt": job.get("requestedAt"),
        "startedAt": job.get("startedAt"),
        "finishedAt": job.get("finishedAt"),
        "progress": {
            name: {"done": bool(s.get("done")), "deleted": int(s.get("deleted", 0))}
            for name, s in sorted(steps.items())
        },
        "counts": job.get("counts"),
        "countsExact": job.get("countsExact"),
    }
