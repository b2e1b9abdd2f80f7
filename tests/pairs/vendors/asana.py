"""Asana in the pair suite: two workspaces of three projects; every seeded user is in both
workspaces (one account, two workspaces), so the token sees workspace 2 and its people are
known in workspace 1, where every pair with an Asana destination writes (Asana → Asana moves
project 1 of workspace 2 into workspace 1)."""

from __future__ import annotations

from typing import Any

from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR

SEED = SeedConfig(
    seed=7,
    workspaces=2,
    users_per_workspace=3,
    projects=3,
    sections_per_project=2,
    tasks_per_project=8,
    subtasks_every=3,
    subtasks_per_task=2,
    comments_per_task=2,
    tags_per_workspace=3,
    attachment_sizes=[2_048, 70_000],
    external_links=1,
    completed_every=4,
    deleted_per_project=1,
    archived_projects=0,
    long_text_chars=20_000,
)
#: destination vendor → (workspace 1 or 2, project name prefix) of the source it reads
SOURCES = {
    "trello": (0, "Project 1"),
    "planner": (0, "Project 2"),
    "asana": (1, "Project 1"),
    "jira": (1, "Project 2"),
    "monday": (0, "Project 3"),
    "azure_devops": (1, "Project 3"),
}


def build(base: str, app: Any) -> Sim:
    store = app.state.asana_store
    conn = parse_connection(
        {"kind": "asana", "base_url": f"{base}/api/1.0", "auth": {"type": "pat", "token": DEFAULT_TOKEN}}
    )
    workspaces = list(store.workspaces)[:2]

    def project(ws: str, prefix: str) -> str:
        return str(
            next(
                p.gid
                for p in store.projects.values()
                if p.workspace == ws and not p.deleted and p.name.startswith(prefix)
            )
        )

    sim = Sim("asana", app, base, conn, WORLD)
    sim.sources = {v: project(workspaces[ws], prefix) for v, (ws, prefix) in SOURCES.items()}
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, workspaces[0])
    for user in list(store.users.values()):
        for ws in workspaces:
            if ws not in user.workspace_gids:
                user.workspace_gids.append(ws)
                store.workspaces[ws].user_gids.append(user.gid)
    app.state.sim.set_limits({"enabled": False})
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    return [(u.name, u.email) for u in sim.app.state.asana_store.users.values()]


def enrol(sim: Sim, dest_container: str, name: str, email: str) -> None:
    sim.app.state.asana_store.add_user(name, email, [dest_container])


def assignable(sim: Sim, dest_container: str) -> set[str]:
    store = sim.app.state.asana_store
    return {store.users[g].email.lower() for g in store.workspaces[dest_container].user_gids}


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    client = reader.client  # type: ignore[attr-defined]
    await client.put(f"/tasks/{rename.source_id}", {"name": NEW_NAME})
    await client.put(f"/tasks/{complete.source_id}", {"completed": True})
    await client.put(f"/tasks/{describe.source_id}", {"notes": NEW_DESCRIPTION})


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=enrol, assignable=assignable, edit=edit
)
