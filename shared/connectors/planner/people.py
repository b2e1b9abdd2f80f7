"""The people a Planner credential can see, for mapping users before a run.

Planner has no people of its own: a plan belongs to a Microsoft 365 group and its people are
the group's members, ``GET /groups/{id}/members``
(https://learn.microsoft.com/graph/api/group-list-members). A group (the console's
workspace) gives its members, a plan its group's members, no scope every group's.
Nothing here is cached beyond the call or logged.
"""

from __future__ import annotations

from shared.connectors.planner.directory import Directory
from shared.contract.model import ContainerKind, UserRef


async def list_people(directory: Directory, scope: str | None) -> list[UserRef]:
    """Members of group ``scope``, of plan ``scope``'s group, or of every group."""
    if scope is None:
        groups = [c.id for c in await directory.list_containers() if c.kind is ContainerKind.WORKSPACE]
    elif any(g.id == scope for g in await directory.groups()):
        groups = [scope]
    else:
        groups = [await directory.group_of(scope)]
    found: dict[str, UserRef] = {}
    for group in groups:
        for person in await directory.members(group):
            found.setdefault(person.source_id or "", person)
    return list(found.values())
