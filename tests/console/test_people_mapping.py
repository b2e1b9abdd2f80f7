"""The wizard's people step in headless Chromium: the people of the chosen Trello board are
listed (names as text, a hostile one included), matched by e-mail to the Asana workspace's
users, the unmatched ones block the run until each is resolved — one mapped to someone at
Asana in the page, one sent to the fallback by a CSV import — and the CSV export holds the
whole mapping. The migration the API stores carries exactly those choices. The org and
connectors are made through the API (the journey test covers those pages)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import EMAIL, HOSTILE_SCRIPT, Journey

KEY, TOKEN = "peoplekey0123456789", "peopletoken0123456789"


class World:
    def __init__(self, trello: str, trello_app: Any, asana: str, asana_app: Any) -> None:
        self.trello, self.trello_app, self.asana, self.asana_app = trello, trello_app, asana, asana_app


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # an Enterprise-managed Trello shows every member's e-mail; every member is on the board
    trello = trello_app(
        TrelloSeed(
            boards=1,
            cards_per_board=1,
            lists_per_board=1,
            members=3,
            attachment_sizes=(),
            link_attachment_every=0,
            api_key=KEY,
            extra_tokens={TOKEN: "owner"},
            enterprise_managed=True,
        )
    )
    asana = asana_app(AsanaSeed(projects=0, tasks_per_project=0))
    with serve(trello) as t, serve(asana) as a:
        yield World(t, trello, a, asana)


def _board_people(w: World) -> list[Any]:
    store = w.trello_app.state.trello.store
    board = next(iter(store.boards.values()))
    return [store.members[i] for i in board.members]


def test_people_are_matched_and_the_unmatched_resolved_before_the_run(
    console_app: ConsoleApp, browser: Any, dev_issuer: Any, world: World, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    people = _board_people(world)
    assert len(people) >= 3, "the seed puts at least three people on the board"
    # one Trello person has an Asana account under the same e-mail; the board's first person
    # gets a hostile name; "Dest Person" exists at Asana only
    astore = world.asana_app.state.asana_store
    workspace = next(iter(astore.workspaces.values()))
    matched, mapped, to_fallback = people[0], people[1], people[2]
    matched.full_name = HOSTILE_SCRIPT
    astore.add_user("Same Person at Asana", matched.email, [workspace.gid])
    astore.add_user("Dest Person", "dest.person@asana.example", [workspace.gid])

    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    org = api.post("/api/orgs", json={"name": "People Org", "country": "NL"}).raise_for_status().json()
    for name, connection in (
        (
            "People Trello",
            {
                "kind": "trello",
                "base_url": f"{world.trello}/1",
                "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN},
            },
        ),
        (
            "People Asana",
            {"kind": "asana", "base_url": f"{world.asana}/api/1.0", "auth": {"type": "pat", "token": ASANA_TOKEN}},
        ),
    ):
        api.post(f"/api/orgs/{org['id']}/connectors", json={"name": name, "connection": connection}).raise_for_status()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch()
    watch.attach(page)
    j = Journey(page, console_app.base_url)
    try:
        page.goto(f"{console_app.base_url}/console/")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible()
        page.goto(f"{console_app.base_url}/console/orgs/{org['id']}/migrations/new")

        page.get_by_label("Migration name").fill("People first")
        page.get_by_label("Source (move from)").select_option(label="People Trello (Trello)")
        page.get_by_label("Destination (move to)").select_option(label="People Asana (Asana)")
        expect(page.get_by_text("Choose what to move first")).to_be_visible()
        page.get_by_role("group", name="Source containers").get_by_role("checkbox").first.check()

        table = page.get_by_role("table", name="People at the source")
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(len(people))
        # names are text: the script tag is shown, nothing ran
        expect(table.get_by_role("rowheader", name=HOSTILE_SCRIPT)).to_be_visible()
        row = {p.email: rows.filter(has=page.get_by_text(p.email, exact=True)) for p in people}
        expect(row[matched.email]).to_have_attribute("data-state", "matched")
        expect(row[matched.email]).to_contain_text("matched by email")
        for p in people[1:]:
            expect(row[p.email]).to_have_attribute("data-state", "unresolved")
        status = page.get_by_role("status").filter(has_text="at the source")
        expect(status).to_contain_text(f"{len(people) - 1} to resolve")
        create = page.get_by_role("button", name="Create migration")
        expect(create).to_be_disabled()
        expect(page.get_by_text(f"Resolve {len(people) - 1} people at the source")).to_be_visible()
        j.check("p1-people-unresolved")

        # the export holds every listed person: the matched one's Asana e-mail, the others empty
        with page.expect_download() as download:
            page.get_by_role("button", name="Export CSV").first.click()
        exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        assert {r["source email"]: r["destination email"] for r in exported} == {
            p.email: (p.email.lower() if p is matched else "") for p in people
        }
        assert next(r for r in exported if r["source email"] == matched.email)["source name"] == HOSTILE_SCRIPT

        # one resolved in the page, one by a CSV import (to the fallback)
        row[mapped.email].get_by_role("combobox").select_option(label="Dest Person <dest.person@asana.example>")
        expect(row[mapped.email]).to_have_attribute("data-state", "mapped")
        imported = tmp_path / "mapping.csv"
        imported.write_text(
            f"source email,source name,destination email\n{to_fallback.email},,fallback\n", encoding="utf-8"
        )
        page.get_by_label("Import the user mapping from CSV").set_input_files(str(imported))
        expect(row[to_fallback.email]).to_have_attribute("data-state", "fallback")
        for p in people[3:]:  # any further board member: to the fallback as well
            row[p.email].get_by_role("combobox").select_option(label="The fallback person")
        expect(status).to_contain_text("0 to resolve")
        expect(page.get_by_text("Name a fallback person")).to_be_visible()
        expect(create).to_be_disabled()
        page.get_by_label("Fallback person (destination email)").fill("lead@people.example")
        expect(create).to_be_enabled()
        j.check("p2-people-resolved")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the step fits, nothing scrolls sideways
        expect(table).to_be_visible()
        j.check("p3-people-phone")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1
        page.set_viewport_size({"width": 1280, "height": 800})

        # labels and statuses: one label typed in, the statuses imported from a CSV
        labels = page.locator(".pairs").filter(has=page.get_by_role("heading", name="Label mapping"))
        labels.get_by_role("button", name="Add row").click()
        labels.get_by_label("Source label 1").fill("Urgent")
        labels.get_by_label("Destination label 1").fill("P1")
        statuses_csv = tmp_path / "status-mapping.csv"
        statuses_csv.write_text("source,destination\nDoing,In progress\nDone,Complete\n", encoding="utf-8")
        page.get_by_label("Import Status mapping from CSV").set_input_files(str(statuses_csv))
        expect(page.get_by_label("Destination status 2")).to_have_value("Complete")

        create.click()
        expect(page.get_by_role("heading", name="People first", level=1)).to_be_visible()
        migration_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        made = api.get(f"/api/orgs/{org['id']}/migrations/{migration_id}").raise_for_status().json()
        assert made["labelMapping"] == {"Urgent": "P1"}
        assert made["statusMapping"] == {  # stored in its full form: a destination section, completion unset
            "Doing": {"section": "In progress", "completed": None},
            "Done": {"section": "Complete", "completed": None},
        }
        stored = made["userMapping"]
        want = {mapped.email.lower(): "dest.person@asana.example"}
        want |= {p.email.lower(): "lead@people.example" for p in people[2:]}
        assert stored == {"emails": want, "fallback": "lead@people.example"}
    finally:
        page.screenshot(path=str(j.shots / "people-last.png"), full_page=True)
        context.close()
        api.close()
    assert not watch.dialogs, watch.dialogs
    assert not watch.errors, watch.errors
    assert not j.violations, j.violations
