"""The assistant panel of the run view in headless Chromium: after a full Trello → Asana
run (made through the API; the journey test covers those pages), a member asks about the
run on its page; the streamed answer and its numbered sources show this run (indexed by the
runner's own worker from the run's log), what was searched names the org's filter, a
question carrying a script tag is shown as text, and axe-core finds no serious violation.
Waits are on conditions (the sources naming the run), never sleeps."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import (
    HOSTILE_SCRIPT,
    RUN_TIMEOUT_MS,
    Journey,
    Vendors,
    vendors,  # noqa: F401  (the module's own simulators)
)

EMAIL = "asker@console.example"
INDEX_TIMEOUT_S = 600  # the runner's worker loads the model and embeds the run's records


def test_assistant_panel_on_the_run_view(
    console_app: ConsoleApp,
    browser: Any,
    dev_issuer: Any,
    vendors: Vendors,  # noqa: F811  (the fixture imported above)
) -> None:
    from playwright.sync_api import expect

    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    org = api.post("/api/orgs", json={"name": "Asking Org", "country": "FR"}).raise_for_status().json()
    ids = vendors.connect(api, org["id"], "Ask")
    boards = [
        x
        for x in api.get(f"/api/orgs/{org['id']}/connectors/{ids[0]}/containers").json()["items"]
        if x["kind"] != "workspace"
    ]
    workspace = next(
        x
        for x in api.get(f"/api/orgs/{org['id']}/connectors/{ids[1]}/containers").json()["items"]
        if x["kind"] == "workspace"
    )
    migration = (
        api.post(
            f"/api/orgs/{org['id']}/migrations",
            json={
                "name": "Asked",
                "sourceConnectorId": ids[0],
                "destinationConnectorId": ids[1],
                "scopes": [{"id": boards[0]["id"]}],
                "destinationWorkspace": workspace["id"],
            },
        )
        .raise_for_status()
        .json()
    )
    base = f"/api/orgs/{org['id']}/migrations/{migration['id']}"
    run_id = api.post(f"{base}/runs", json={"mode": "full"}).raise_for_status().json()["id"]
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while api.get(f"{base}/runs/{run_id}").json()["status"] not in ("succeeded", "partially_succeeded"):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.5)  # polling the run, not timing it

    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(60_000)
    watch = PageWatch()
    watch.attach(page)
    j = Journey(page, console_app.base_url)
    try:
        page.goto(f"{console_app.base_url}/console/")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible()
        page.goto(f"{console_app.base_url}/console/orgs/{org['id']}/migrations/{migration['id']}/runs/{run_id}")
        expect(page.get_by_role("heading", name="Ask the assistant", level=2)).to_be_visible()

        question = page.get_by_label("Your question")
        sources = page.get_by_test_id("assistant-citations")
        deadline = time.monotonic() + INDEX_TIMEOUT_S
        while True:  # until the runner's worker has indexed this run's log
            question.fill(f"Which tasks were created in run {run_id}? {HOSTILE_SCRIPT}")
            page.get_by_role("button", name="Ask", exact=True).click()
            expect(page.get_by_role("button", name="Ask", exact=True)).to_be_enabled(timeout=120_000)
            if sources.count() and re.search(re.escape(run_id), sources.inner_text()):
                break
            assert time.monotonic() < deadline, "the run was never cited"
            page.wait_for_timeout(2000)  # the indexer's queue, not a timed assertion

        expect(page.get_by_test_id("assistant-answer")).to_contain_text(run_id)
        page.get_by_text("What was searched").click()
        searched = page.locator("details", has_text="What was searched")
        expect(searched).to_contain_text(f"tenantId eq '{org['id']}'")
        expect(searched).to_contain_text(HOSTILE_SCRIPT)  # the question shown as text
        for item in sources.get_by_role("listitem").all():
            text = item.inner_text()
            assert text.startswith("Ferry documentation:") or run_id in text, text
        j.check("assistant-panel")
        assert not j.violations, j.violations
        assert not watch.dialogs and not watch.errors, (watch.dialogs, watch.errors)
    finally:
        context.close()
