"""Identifiers. An organisation id names its region, so any stamp routes a request to the
org's own stores without a global directory (`org_eu_…`, `org_us_…`)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from shared.errors import NotFoundError

_ORG = re.compile(r"^org_(eu|us)_[0-9a-z]{20}$")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_org_id(region: str) -> str:
    return f"org_{region}_{_random(20)}"


def region_of(org_id: str) -> str:
    """The region an org id names; a malformed id is simply not found (404)."""
    match = _ORG.match(org_id or "")
    if not match:
        raise NotFoundError("organisation not found")
    return match.group(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{_random(16)}"


def sortable_id(prefix: str, at: datetime | None = None) -> str:
    """Ids that sort by creation time (audit events, runs): ISO time + randomness."""
    ts = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}_{ts}_{_random(6)}"
