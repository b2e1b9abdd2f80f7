"""Every connector with a runtime lists the people a person maps before a run
(``PeopleLister``), against its simulator: no scope (everyone the credential sees), a
workspace (its users) and a project-level container (its members). The expected people come
from the simulator's own state, not from the connector."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from shared.connectors.registry import ConnectorRuntime
from shared.connectors.settings import parse_connection
from shared.contract.connector import PeopleLister
from shared.contract.model import UserRef
from shared.errors import FerryError
from simulators.azure_devops import DEFAULT_PAT
from simulators.azure_devops import SeedConfig as AdoSeed
from simulators.azure_devops import create_app as ado_app
from simulators.common import FaultPlan, FaultRule, serve
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.vendors import asana, jira, monday, planner, trello

WORLDS: dict[str, VendorWorld] = {
    "trello": trello.WORLD,
    "asana": asana.WORLD,
    "planner": planner.WORLD,
    "jira": jira.WORLD,
    "monday": monday.WORLD,
}


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Sim]]:
    with ExitStack() as stack:
        out: dict[str, Sim] = {}
        for vendor, world in WORLDS.items():
            app = world.start()
            out[vendor] = world.build(stack.enter_context(serve(app)), app)
        yield out


async def _people(sim: Sim, scope: str | None) -> list[UserRef]:
    runtime: ConnectorRuntime = await sim.runtime()
    try:
        assert isinstance(runtime.reader, PeopleLister), f"{sim.vendor}: the reader lists no people"
        return await runtime.reader.list_people(scope)
    finally:
        await runtime.aclose()


def _emails(people: list[UserRef]) -> set[str]:
    return {p.email.lower() for p in people if p.email}


def _scope_people(sim: Sim, scope: str) -> set[str]:
    """The e-mails the simulator itself says belong to a container."""
    if sim.vendor == "trello":
        store = sim.app.state.trello.store
        ids = store.boards[scope].members if scope in store.boards else store.orgs[scope].members
        return {store.members[i].email.lower() for i in ids}
    if sim.vendor == "asana":
        store = sim.app.state.asana_store
        if scope in store.workspaces:
            gids = store.workspaces[scope].user_gids
        else:
            gids = store.projects[scope].members
        return {store.users[g].email.lower() for g in gids}
    if sim.vendor == "planner":
        store = sim.app.state.planner.store
        group = store.groups[scope] if scope in store.groups else store.groups[store.plans[scope].group_id]
        return {store.users[u].mail.lower() for u in group.members}
    if sim.vendor == "jira":
        return {u.email.lower() for u in sim.app.state.jira_store.users.values() if u.active}
    assert sim.vendor == "monday"  # account-wide people whatever the scope
    return {u.email.lower() for u in sim.app.state.monday_store.users.values()}


@pytest.mark.parametrize("vendor", list(WORLDS))
async def test_people_of_every_scope_are_the_simulators(sims: dict[str, Sim], vendor: str) -> None:
    sim = sims[vendor]
    seeded = {email.lower() for _, email in sim.world.people(sim)} if sim.world else set()
    everyone = await _people(sim, None)
    assert seeded and seeded <= _emails(everyone), (vendor, seeded - _emails(everyone))
    assert len({p.source_id for p in everyone}) == len(everyone), "each person once"
    assert all(p.display_name for p in everyone), "every person has a name to show"

    source = next(iter(sim.sources.values()))
    members = await _people(sim, source)
    assert _emails(members) == _scope_people(sim, source), vendor
    workspace = next(iter(sim.dest_workspaces.values()))
    users = await _people(sim, workspace)
    if vendor == "jira":  # the site: the assignable people of every project
        assert _emails(users) == _scope_people(sim, source)
    elif vendor == "trello":  # a workspace's member list shows no e-mails: compare the members
        store = sim.app.state.trello.store
        assert {p.source_id for p in users} == set(store.orgs[workspace].members)
        assert {p.display_name for p in users} == {store.members[i].full_name for i in store.orgs[workspace].members}
    else:
        assert _emails(users) == _scope_people(sim, workspace), vendor
    assert _emails(members) <= _emails(everyone) and _emails(users) <= _emails(everyone)


@pytest.mark.parametrize("vendor", ["trello", "asana", "planner", "jira"])
async def test_a_container_the_vendor_does_not_know_fails_as_an_error_of_ours(
    sims: dict[str, Sim], vendor: str
) -> None:
    missing = {"trello": "5" * 24, "asana": "1" * 16, "planner": "missing-plan", "jira": "999999"}[vendor]
    with pytest.raises(FerryError):
        await _people(sims[vendor], missing)


# --- Azure DevOps: no pair-suite world yet, its own simulator ------------------------------

ADO_ORG = "ferrypeople"


@pytest.fixture(scope="module")
def ado() -> Iterator[tuple[Any, str]]:
    app = ado_app(AdoSeed(organization=ADO_ORG, items_per_project=1, attachment_sizes=()))
    with serve(app) as base:
        yield app, base


async def _ado_people(base: str, scope: str | None) -> list[UserRef]:
    from shared.connectors.registry import open_runtime
    from shared.contract.pacer import Pacer
    from tests.pairs.sim import FAST

    conn = parse_connection(
        {
            "kind": "azure_devops",
            "organization_url": f"https://dev.azure.com/{ADO_ORG}",
            "base_url": f"{base}/{ADO_ORG}",
            "auth": {"type": "pat", "pat": DEFAULT_PAT},
        }
    )
    runtime = await open_runtime(conn, allow_loopback=True, pacer=Pacer(FAST))
    try:
        assert isinstance(runtime.reader, PeopleLister)
        return await runtime.reader.list_people(scope)
    finally:
        await runtime.aclose()


async def test_azure_devops_people_are_the_team_members(ado: tuple[Any, str]) -> None:
    app, base = ado
    store = app.state.ado.store
    apps = {a.identity_id for a in store.apps.values()}
    humans = {i.email.lower() for i in store.identities.values() if i.id not in apps}
    project = next(iter(store.projects.values()))
    for scope in (None, ADO_ORG, project.id):
        people = await _ado_people(base, scope)
        assert _emails(people) == humans, scope
        assert len(people) == len(humans), "each person once, the app's identity none"
    with pytest.raises(FerryError):
        await _ado_people(base, "00000000-0000-4000-8000-000000000000")


async def test_azure_devops_people_survive_a_server_error(ado: tuple[Any, str]) -> None:
    app, base = ado
    rule = FaultRule(status=503, path=r"/teams/[^/]+/members$", count=1)
    app.state.sim.faults = FaultPlan(faults=[rule])
    try:
        people = await _ado_people(base, ADO_ORG)
    finally:
        app.state.sim.faults = FaultPlan()
    assert rule.seen >= 1, "the fault was met"
    assert len(people) == 3
