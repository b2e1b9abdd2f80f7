"""The people a monday.com credential can see, for mapping users before a run.

monday's people belong to the account, not to a board: anyone in the account can be
assigned on the boards they can open, so every scope (a workspace, a board, none) lists the
account's users, ``users(limit: 500, page: n)`` page by page until a short page
(https://developer.monday.com/api-reference/reference/users). Nothing here is cached beyond
the call or logged.
"""

from __future__ import annotations

from shared.connectors.monday.client import MondayClient
from shared.connectors.monday.mapping import user_ref
from shared.contract.model import UserRef

#: the ``users_page`` operation's page size
USERS_PAGE = 500


async def account_users(client: MondayClient) -> dict[str, UserRef]:
    """Every user of the account by monday id."""
    found: dict[str, UserRef] = {}
    page = 1
    while True:
        rows = (await client.run("users_page", {"page": page}))["users"] or []
        for row in rows:
            ref = user_ref(row)
            if ref is not None:
                found[str(row["id"])] = ref
        if len(rows) < USERS_PAGE:
            return found
        page += 1


async def list_people(client: MondayClient, scope: str | None) -> list[UserRef]:
    """The account's users, whatever ``scope`` (see the module docstring)."""
    return list((await account_users(client)).values())
