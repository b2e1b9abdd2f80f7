"""monday.com in the pair suite: one workspace with a board per destination vendor (the
destination container is the workspace); people are the account's users, found by e-mail."""

from __future__ import annotations

import json
from typing import Any

from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.monday import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.monday.store import User
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR, sources

#: small boards: groups, subitems, updates, files, Done statuses, descriptions and tags
SEED = SeedConfig(
    seed=7,
    users=4,
    workspaces=1,
    boards=len(SOURCES_FOR) - 1,
    groups_per_board=3,
    items_per_board=6,
    subitems_every=3,
    updates_per_item=1,
    many_updates=3,
    file_sizes=(2_048, 70_000),
    done_every=3,
    description_every=2,
    tags=4,
)


def build(base: str, app: Any) -> Sim:
    store = app.state.monday_store
    conn = parse_connection(
        {"kind": "monday", "base_url": f"{base}/v2", "auth": {"type": "api_token", "api_token": DEFAULT_TOKEN}}
    )
    workspace = next(iter(store.workspaces))
    boards = [
        b.id for b in store.boards.values() if b.workspace_id == workspace and b.type == "board" and b.state == "active"
    ]
    sim = Sim("monday", app, base, conn, WORLD)
    sim.sources = sources("monday", boards)
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, workspace)
    # Disabled limiters still report the budget left in every answer, and the client waits
    # for the minute's reset when it runs low (as it should against monday): a budget no pair
    # suite reaches (a GraphQL Int: at most 2**31 - 1) keeps the waiting out of the pairs
    app.state.sim.set_limits({"enabled": False, "limiters": {"complexity": {"limit": 2_000_000_000}}})
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    return [(u.name, u.email) for u in sim.app.state.monday_store.users.values() if u.enabled]


def enrol(sim: Sim, dest_container: str, name: str, email: str) -> None:
    store = sim.app.state.monday_store
    user_id = store.new_id()
    store.users[user_id] = User(user_id, name, email, f"monday-pairs-{user_id}", store.now())


def assignable(sim: Sim, dest_container: str) -> set[str]:
    return {u.email.lower() for u in sim.app.state.monday_store.users.values() if u.enabled}


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    client = reader.client  # type: ignore[attr-defined]
    items = sim.app.state.monday_store.items

    async def change(item: str, values: dict[str, Any]) -> None:
        await client.run(
            "change_values",
            {"board": str(items[item].board_id), "item": item, "values": json.dumps(values)},
            mutation=True,
        )

    await change(rename.source_id, {"name": NEW_NAME})
    await change(complete.source_id, {"status": {"label": "Done"}})
    await client.run("set_description", {"item": describe.source_id, "md": NEW_DESCRIPTION}, mutation=True)


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=enrol, assignable=assignable, edit=edit
)
