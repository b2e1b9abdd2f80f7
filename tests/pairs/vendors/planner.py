"""Microsoft Planner in the pair suite: one group with a plan per destination vendor; people
sign in through the username/password grant of the seeded tenant."""

from __future__ import annotations

from typing import Any

from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.planner import SeedConfig, create_app
from simulators.planner.store import User
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR, sources

SEED = SeedConfig(
    seed=7,
    users=6,
    plans_per_group=len(SOURCES_FOR) - 1,
    buckets_per_plan=3,
    tasks_per_plan=8,
    deleted_tasks_per_plan=1,
    comment_ratio=0.5,
    reference_ratio=0.4,
    attachment_sizes=[2_048, 70_000],
    long_text_chars=20_000,
)


def _group(app: Any) -> Any:
    return next(iter(app.state.planner.store.groups.values()))


def build(base: str, app: Any) -> Sim:
    store = app.state.planner.store
    group = _group(app)
    conn = parse_connection(
        {
            "kind": "planner",
            "base_url": f"{base}/v1.0",
            "auth": {
                "type": "username_password",
                "entra_tenant_id": SEED.tenant_domain,
                "client_id": SEED.client_id,
                "username": f"alice@{SEED.tenant_domain}",
                "password": SEED.user_password,
            },
        }
    )
    plans = [p.id for p in store.plans.values() if p.group_id == group.id]
    sim = Sim("planner", app, base, conn, WORLD)
    sim.sources = sources("planner", plans)
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, group.id)
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    store = sim.app.state.planner.store
    group = _group(sim.app)
    return [(u.display_name, u.mail) for u in store.users.values() if u.id in group.members]


def enrol(sim: Sim, dest_container: str, name: str, email: str) -> None:
    store = sim.app.state.planner.store
    user = User(store.ids.guid(), name, email, email, SEED.user_password)
    store.users[user.id] = user
    store.groups[dest_container].members.append(user.id)


def assignable(sim: Sim, dest_container: str) -> set[str]:
    return {u.mail.lower() for u in sim.app.state.planner.store.users.values()}


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    graph = reader.client  # type: ignore[attr-defined]
    await graph.patch_etag(f"/planner/tasks/{rename.source_id}", {"title": NEW_NAME})
    await graph.patch_etag(f"/planner/tasks/{complete.source_id}", {"percentComplete": 100})
    await graph.patch_etag(f"/planner/tasks/{describe.source_id}/details", {"description": NEW_DESCRIPTION})


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=enrol, assignable=assignable, edit=edit
)
