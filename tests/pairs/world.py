"""The vendor simulators of the pair suite in-process, seeded small, and how to reach them.

One simulator per vendor serves every pair (session scope). Each pair reads its *own*
source container (``Sim.sources[destination vendor]``, handed out by each vendor's module in
``tests/pairs/vendors/``), so the delta edits of one pair never touch what another pair
migrates.

People: a company uses the same e-mail everywhere, so each destination directory also knows
the other vendors' people (``add_people``). A new Trello board only has its creator as
member, so Trello destinations match nobody else (documented: unmatched people are named in
the card).

Pacing: the simulators' rate limits are switched off and the runtimes get a fast pacer;
pacing against the documented limits is covered by the connector suites (tests/connectors).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from shared.connectors.registry import available_kinds
from simulators.asana import DEFAULT_TOKEN
from simulators.common import serve
from tests.pairs.sim import FAST, Sim, VendorWorld
from tests.pairs.vendors import asana, azure_devops, jira, monday, planner, trello

__all__ = ["FAST", "VENDORS", "Sim", "add_people", "running_sims"]

#: how the world starts each vendor's simulator, builds its connection and edits its tasks
_WORLD: dict[str, VendorWorld] = {
    "trello": trello.WORLD,
    "asana": asana.WORLD,
    "planner": planner.WORLD,
    "jira": jira.WORLD,
    "monday": monday.WORLD,
    "azure_devops": azure_devops.WORLD,
}
#: the vendors of the pair suite: the connector registry's, where the world can simulate them
VENDORS = tuple(kind for kind in available_kinds() if kind in _WORLD)


def add_people(sims: dict[str, Sim]) -> None:
    """Give every destination directory that can take people the other vendors' people."""
    for dest in sims.values():
        world = dest.world
        if world is None or world.enrol is None:
            continue
        containers = set(dest.dest_workspaces.values())
        for container in sorted(containers):
            known = world.assignable(dest, container)
            for other in sims.values():
                if other is dest or other.world is None:
                    continue
                for name, email in other.world.people(other):
                    if email.lower() not in known:
                        world.enrol(dest, container, name, email)
                        known.add(email.lower())


#: Seeded items removed from the sources of the Planner pairs (names start so), so that
#: each such source holds six tasks: the comparison then covers every item of a small plan.
#: What stays still has a long description, a file, links, a checklist or subtasks, start
#: dates, labels and people.
TRIM_FOR_PLANNER = {"trello": ("Card 3 ", "Card 4 ", "Card 7 ", "Card 8 "), "asana": ("Task 3 ", "Task 4 ", "Task 5 ")}


def trim_planner_sources(sims: dict[str, Sim]) -> None:
    """Delete the TRIM_FOR_PLANNER items through the vendors' APIs."""
    trello = sims["trello"]
    tstore = trello.app.state.trello.store
    summary = trello.app.state.trello.summary
    oauth = f'OAuth oauth_consumer_key="{summary["key"]}", oauth_token="{summary["token"]}"'
    board = trello.sources["planner"]
    with httpx.Client(base_url=trello.base, headers={"Authorization": oauth}) as http:
        for card in [c for c in tstore.cards.values() if c.id_board == board]:
            if card.name.startswith(TRIM_FOR_PLANNER["trello"]):
                http.delete(f"/1/cards/{card.id}").raise_for_status()
    asana = sims["asana"]
    astore = asana.app.state.asana_store
    project = asana.sources["planner"]
    with httpx.Client(base_url=asana.base, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as http:
        for task in list(astore.tasks.values()):
            if (
                not task.deleted
                and task.name.startswith(TRIM_FOR_PLANNER["asana"])
                and any(m[0] == project for m in task.memberships)
            ):
                http.delete(f"/api/1.0/tasks/{task.gid}").raise_for_status()


@contextlib.contextmanager
def running_sims() -> Iterator[dict[str, Sim]]:
    """Every vendor's simulator on free loopback ports, seeded and cross-populated."""
    with contextlib.ExitStack() as stack:
        sims: dict[str, Sim] = {}
        for vendor in VENDORS:
            world = _WORLD[vendor]
            app = world.start()
            sims[vendor] = world.build(stack.enter_context(serve(app)), app)
        add_people(sims)
        if "trello" in sims and "asana" in sims and "planner" in sims:
            trim_planner_sources(sims)
        yield sims
