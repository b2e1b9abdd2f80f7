"""Azure DevOps (Boards) in the pair suite: one organization (the destination container)
with a project per destination vendor, alternately on the Basic and the Agile process; people
are the organization's identities, found by e-mail."""

from __future__ import annotations

from typing import Any

from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.azure_devops import DEFAULT_PAT, SeedConfig, create_app
from simulators.azure_devops.store import Identity
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR, sources

#: small projects: parent/child items, comments, files, tags, states of both processes
SEED = SeedConfig(
    seed=7,
    projects=len(SOURCES_FOR) - 1,
    items_per_project=6,
    children_every=3,
    comments_every=2,
    attachment_sizes=(2_048, 70_000),
)


def build(base: str, app: Any) -> Sim:
    store = app.state.ado.store
    conn = parse_connection(
        {
            "kind": "azure_devops",
            "organization_url": f"https://dev.azure.com/{store.organization}",
            "base_url": f"{base}/{store.organization}",
            "auth": {"type": "pat", "pat": DEFAULT_PAT},
        }
    )
    projects = [p.id for p in store.projects.values()]
    sim = Sim("azure_devops", app, base, conn, WORLD)
    sim.sources = sources("azure_devops", projects)
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, store.organization)
    app.state.sim.set_limits({"enabled": False})
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    return [(i.display_name, i.email) for i in sim.app.state.ado.store.identities.values() if "@" in i.email]


def enrol(sim: Sim, dest_container: str, name: str, email: str) -> None:
    store = sim.app.state.ado.store
    ident = Identity(id=f"{len(store.identities) + 1:08d}-0000-4000-8000-0000000000aa", display_name=name, email=email)
    store.identities[ident.id] = ident


def assignable(sim: Sim, dest_container: str) -> set[str]:
    return {i.email.lower() for i in sim.app.state.ado.store.identities.values() if "@" in i.email}


def _completed_state(sim: Sim, work_item: str) -> str:
    """The first Completed state of the item's type in its project's process."""
    store = sim.app.state.ado.store
    item = store.work_items[int(work_item)]
    process = store.processes[store.projects[item.project_id].process_id]
    kind = process.type(item.fields["System.WorkItemType"])
    return str(next(s.name for s in kind.states if s.category == "Completed"))


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    client = reader.client  # type: ignore[attr-defined]

    async def patch(task: Task, field: str, value: str) -> None:
        await client.patch_work_item(
            task.project_id, task.source_id, [{"op": "add", "path": f"/fields/{field}", "value": value}]
        )

    await patch(rename, "System.Title", NEW_NAME)
    await patch(complete, "System.State", _completed_state(sim, complete.source_id))
    paragraphs = "".join(f"<p>{p}</p>" for p in NEW_DESCRIPTION.split("\n\n"))
    await patch(describe, "System.Description", paragraphs)


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=enrol, assignable=assignable, edit=edit
)
