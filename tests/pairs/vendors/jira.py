"""Jira Cloud in the pair suite: one site (the destination container is its host) with a
project per destination vendor; people are the site's accounts, found by e-mail."""

from __future__ import annotations

from typing import Any

from shared.connectors.jira.adf import text_to_adf
from shared.connectors.jira.mapping import is_done
from shared.connectors.settings import parse_connection
from shared.contract.connector import SourceReader
from shared.contract.model import Task
from simulators.jira import DEFAULT_EMAIL, DEFAULT_TOKEN, SeedConfig, create_app
from simulators.jira.store import User
from tests.pairs.sim import Sim, VendorWorld
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME
from tests.pairs.vendors import SOURCES_FOR, sources

#: small projects: every issue kind the seed makes (sub-tasks, files, a web link, labels and
#: components, ADF descriptions with mentions, due and start dates) in six issues
SEED = SeedConfig(
    seed=7,
    projects=len(SOURCES_FOR) - 1,
    issues_per_project=6,
    subtasks_every=3,
    comments_per_issue=1,
    attachment_sizes=[2_048, 70_000],
    links=1,
)


def build(base: str, app: Any) -> Sim:
    store = app.state.jira_store
    conn = parse_connection(
        {
            "kind": "jira",
            "site_url": "https://ferry-pairs.atlassian.net",
            "base_url": base,
            "auth": {"type": "api_token", "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN},
        }
    )
    projects = sorted(store.projects.values(), key=lambda p: p.key)
    sim = Sim("jira", app, base, conn, WORLD)
    sim.sources = sources("jira", [p.id for p in projects])
    site = base.split("://", 1)[1]
    sim.dest_workspaces = dict.fromkeys(SOURCES_FOR, site)
    app.state.sim.set_limits({"enabled": False})
    return sim


def people(sim: Sim) -> list[tuple[str, str]]:
    return [(u.display_name, u.email) for u in sim.app.state.jira_store.users.values()]


def enrol(sim: Sim, dest_container: str, name: str, email: str) -> None:
    store = sim.app.state.jira_store
    user = User(store.new_id().rjust(24, "8"), name, email)
    store.users[user.account_id] = user


def assignable(sim: Sim, dest_container: str) -> set[str]:
    return {u.email.lower() for u in sim.app.state.jira_store.users.values() if u.active}


async def edit(sim: Sim, reader: SourceReader, rename: Task, complete: Task, describe: Task) -> None:
    client = reader.client  # type: ignore[attr-defined]
    await client.put(f"/issue/{rename.source_id}", {"fields": {"summary": NEW_NAME}})
    moves = (await client.get(f"/issue/{complete.source_id}/transitions"))["transitions"]
    done = next(t for t in moves if is_done(t["to"]))
    await client.post(f"/issue/{complete.source_id}/transitions", {"transition": {"id": done["id"]}}, idempotent=True)
    await client.put(f"/issue/{describe.source_id}", {"fields": {"description": text_to_adf(NEW_DESCRIPTION)}})


WORLD = VendorWorld(
    start=lambda: create_app(SEED), build=build, people=people, enrol=enrol, assignable=assignable, edit=edit
)
