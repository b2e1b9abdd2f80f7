"""Trello in the pair suite: a managed Enterprise (otherwise Trello shows no member e-mails to
the token and no source assignee could be matched anywhere), one board per destination
vendor. A new Trello board only has its creator as member, so Trello destinations match
nobody else (documented: unmatched people are named in the card)."""

from __future__ import annotations

from typing import Any

from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.trello import SeedConfig, create_app
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR, sources

SEED = SeedConfig(
    seed=7,
    boards=len(SOURCES_FOR) - 1,
    lists_per_board=2,
    cards_per_board=10,
    members=4,
    labels_per_board=4,
    comments_per_card=1,
    many_comments=3,
    checklist_every=3,
    attachment_sizes=(2_048, 70_000),
    link_attachment_every=4,
    closed_card_every=10,
    enterprise_managed=True,
)


def build(base: str, app: Any) -> Sim:
    summary = app.state.trello.summary
    conn = parse_connection(
        {
            "kind": "trello",
            "base_url": f"{base}/1",
            "auth": {"type": "api_key_token", "api_key": summary["key"], "token": summary["token"]},
        }
    )
    store = app.state.trello.store
    boards = sorted(store.boards.values(), key=lambda b: b.id)
    org = next(iter(store.orgs.values()))
    sim = Sim("trello", app, base, conn, WORLD)
    sim.sources = sources("trello", [b.id for b in boards])
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, org.id)
    app.state.sim.set_limits({"enabled": False})
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    return [(m.full_name, m.email) for m in sim.app.state.trello.store.members.values()]


def assignable(sim: Sim, dest_container: str) -> set[str]:
    """A new board's only member is its creator (the token's member)."""
    state = sim.app.state.trello
    token = state.summary["token"]
    return {m.email.lower() for m in state.store.members.values() if m.token == token}


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    client = reader.client  # type: ignore[attr-defined]
    await client.put(f"/cards/{rename.source_id}", json={"name": NEW_NAME})
    await client.put(f"/cards/{complete.source_id}", json={"dueComplete": True})
    await client.put(f"/cards/{describe.source_id}", json={"desc": NEW_DESCRIPTION})


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=None, assignable=assignable, edit=edit
)
