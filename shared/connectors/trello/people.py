"""The people a Trello credential can see, for mapping users before a run.

A board's members: ``GET /1/boards/{id}/members``; a workspace's:
``GET /1/organizations/{id}/members``
(https://developer.atlassian.com/cloud/trello/rest/api-group-boards/#api-boards-id-members-get).
Trello shows a member's e-mail to that member only (and to admins of an Enterprise that
manages the account), so most people come without one: the console lists them by name.
Nothing here is cached beyond the call or logged.
"""

from __future__ import annotations

from shared.connectors.trello.api_types import TMember
from shared.connectors.trello.client import TrelloClient
from shared.connectors.trello.mapping import user
from shared.contract.model import ContainerKind, UserRef
from shared.errors import NotFoundError

MEMBER_FIELDS = "username,fullName,email"


async def board_members(client: TrelloClient, board_id: str) -> list[UserRef]:
    raw = await client.get(f"/boards/{board_id}/members", fields=MEMBER_FIELDS)
    return [user(TMember.model_validate(m)) for m in raw or []]


async def workspace_members(client: TrelloClient, org_id: str) -> list[UserRef]:
    raw = await client.get(f"/organizations/{org_id}/members", fields=MEMBER_FIELDS)
    return [user(TMember.model_validate(m)) for m in raw or []]


async def list_people(client: TrelloClient, scope: str | None) -> list[UserRef]:
    """Members of board or workspace ``scope``; without one, of every board and workspace the
    member can open (each person once). A board and a workspace id look alike (24 hex
    digits): a board is tried first, a 404 means the id is a workspace's."""
    if scope is not None:
        try:
            return await board_members(client, scope)
        except NotFoundError:
            return await workspace_members(client, scope)
    found: dict[str, UserRef] = {}
    for container in await client.list_containers():
        if container.kind is ContainerKind.WORKSPACE:
            people = await workspace_members(client, container.id)
        else:
            people = await board_members(client, container.id)
        for person in people:
            known = found.get(person.source_id or "")
            if known is None or (person.email and not known.email):  # a board may show the e-mail
                found[person.source_id or ""] = person
    return list(found.values())
