"""How much one organisation and one person may hold: counts checked before a create.

The numbers are generous for real use and stop a script from filling the stores (a probe
made 200 connectors, 200 migrations, 100 keys and 20 orgs in seconds). A create past a
limit is `LimitExceededError` (409 `limit-exceeded`, naming the limit); deleting
something makes room again. The count is read before the write, so two creates racing at
the very limit may both pass: the limits are a bound on abuse, not an exact quota.
"""

from __future__ import annotations

from shared.errors import LimitExceededError
from shared.store.repository import TenantRepository
from shared.store.stores import Stores
from shared.tenancy.repositories import Directory

#: What the API documents (README, OpenAPI); tests may lower them.
LIMITS: dict[str, int] = {
    "connectors": 50,  # per organisation
    "migrations": 100,  # per organisation
    "apiKeys": 20,  # active (not revoked) keys per organisation
    "members": 500,  # per organisation, invitations included
    "organisations": 10,  # per person (by e-mail), in every region together
}

#: Documents that do not count against a limit (revoked keys make room for new ones).
_NOT_COUNTED: dict[str, str] = {"apiKeys": "(NOT IS_DEFINED(c.revokedAt) OR IS_NULL(c.revokedAt))"}


async def ensure_room(repo: TenantRepository, what: str) -> None:
    """Raise LimitExceededError when the org already holds `LIMITS[what]` of them."""
    limit = LIMITS[what]
    held = await repo.count(_NOT_COUNTED.get(what))
    if held >= limit:
        raise LimitExceededError(
            f"this organisation already has {held} {what}; the limit is {limit}", limit=limit, resource=what
        )


async def ensure_room_for_org(stores: Stores, email: str) -> None:
    """Raise LimitExceededError when this person already belongs to the most organisations."""
    limit = LIMITS["organisations"]
    held = 0
    for region in stores.regions:
        held += len(await Directory(stores.cosmos(region)).orgs_of(email))
    if held >= limit:
        raise LimitExceededError(
            f"you already belong to {held} organisations; the limit is {limit}", limit=limit, resource="organisations"
        )
