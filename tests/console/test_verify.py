"""The verify view in headless Chromium: a migration made in the wizard with "Verify after
each run" ticked is followed by a verify the worker starts on its own (clean: every item ok);
then the destination is damaged behind Ferry's back (one task renamed, one deleted) and the
"Verify" action on the migration page finds it: the run ends partially succeeded, the verdicts
say so in words, defects first, the renamed task's row names `task.name`, and the report filters
by verdict. Everything the page shows is checked against the API's run and report. The org
and connectors are made through the API (the journey test covers those pages); waits are on
conditions, never sleeps."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN
from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import (
    EMAIL,
    RUN_TIMEOUT_MS,
    Journey,
    Vendors,
    check_verify_page,
    vendors,  # noqa: F401  (the module's own simulators)
)
from tests.console.wizard_people import send_unmatched_to_fallback


def test_verify_after_run_and_defects(console_app: ConsoleApp, browser: Any, dev_issuer: Any, vendors: Vendors) -> None:  # noqa: F811
    from playwright.sync_api import expect

    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    org = api.post("/api/orgs", json={"name": "Verify Org", "country": "NL"}).raise_for_status().json()
    vendors.connect(api, org["id"], "Verify")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Europe/Amsterdam")
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

        # --- the wizard: one board, verify after each run ----------------------------------
        page.get_by_label("Migration name").fill("Verified")
        page.get_by_label("Source (move from)").select_option(label="Verify Trello (Trello)")
        page.get_by_label("Destination (move to)").select_option(label="Verify Asana (Asana)")
        page.get_by_role("group", name="Source containers").get_by_role("checkbox").first.check()
        expect(page.get_by_label("Destination workspace")).to_be_visible()
        send_unmatched_to_fallback(page, EMAIL)
        after = page.get_by_role("checkbox", name="Verify after each run")
        expect(after).not_to_be_checked()
        after.check()
        j.check("v1-wizard-verify-after-run")
        page.get_by_role("button", name="Create migration").click()
        expect(page.get_by_role("heading", name="Verified", level=1)).to_be_visible()
        expect(page.get_by_text("yes: each full, delta or retry run is followed by a verify")).to_be_visible()
        migration_id = re.search(r"/migrations/([^/?#]+)$", page.url).group(1)  # type: ignore[union-attr]
        assert (
            api.get(f"/api/orgs/{org['id']}/migrations/{migration_id}").raise_for_status().json()["verifyAfterRun"]
            is True
        )

        # --- the full run, then the verify the worker started on its own --------------------
        page.get_by_role("button", name="Run migration").click()
        j.wait_status("succeeded")
        # the worker starts the verify when it sets the run's final status and says so in the run's
        # log; the page's live tail may have closed on the final status, so ask the API for both
        full_id = re.search(r"/runs/([^/?#]+)$", page.url).group(1)  # type: ignore[union-attr]
        base = f"/api/orgs/{org['id']}/migrations/{migration_id}"
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while not [r for r in api.get(f"{base}/runs").raise_for_status().json()["items"] if r["mode"] == "verify"]:
            assert time.monotonic() < deadline, "no verify run followed the full run"
            time.sleep(0.3)
        lines = api.get(f"/api/orgs/{org['id']}/runs/{full_id}/logs").raise_for_status().json()["items"]
        assert any("started (verifyAfterRun)" in (line.get("message") or "") for line in lines), lines[-5:]
        page.get_by_role("link", name="Back to the migration").click()
        page.reload()
        runs = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Run"))
        runs.get_by_role("link", name="Verify", exact=True).click()
        j.wait_status("(succeeded|partially succeeded)")
        check_verify_page(page, console_app.base_url, token, tasks=3)
        expect(page.get_by_role("heading", level=1).locator(".status")).to_have_text("succeeded")  # clean
        j.check("v2-verify-after-run")

        # --- damage the destination: one task renamed, one deleted --------------------------
        org_id, run_id = org["id"], re.search(r"/runs/([^/?#]+)$", page.url).group(1)  # type: ignore[union-attr]
        rows = (
            api.get(f"/api/orgs/{org_id}/migrations/{migration_id}/runs/{run_id}/report")
            .raise_for_status()
            .json()["items"]
        )
        store = vendors.asana_app.state.asana_store
        tasks = [
            r
            for r in rows
            if r["kind"] == "task" and r["action"] == "ok" and store.tasks[r["destinationId"]].parent is None
        ]  # top-level: no subtask goes with it
        assert len(tasks) >= 2, rows
        renamed, deleted = tasks[0], tasks[1]
        asana = httpx.Client(base_url=f"{vendors.asana}/api/1.0", headers={"Authorization": f"Bearer {ASANA_TOKEN}"})
        asana.put(
            f"/tasks/{renamed['destinationId']}", json={"data": {"name": "Renamed behind Ferry's back"}}
        ).raise_for_status()
        asana.delete(f"/tasks/{deleted['destinationId']}").raise_for_status()

        # --- the Verify action finds both ----------------------------------------------------
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Verify", exact=True).click()
        j.wait_status("partially succeeded")
        check_verify_page(page, console_app.base_url, token, tasks=3)
        results = page.get_by_role("region", name="Verify results")
        sentences = results.get_by_role("list", name="Verdicts in words").get_by_role("listitem")
        expect(sentences.first).to_have_text(re.compile(r"^\d+ tasks? (is|are) missing at the destination\.$"))
        expect(sentences.filter(has_text=re.compile(r"^1 task differs from the source in task\.name\b"))).to_have_count(
            1
        )
        defects = results.locator("table.defect-table tbody tr")
        expect(defects.filter(has_text=renamed["sourceId"])).to_have_attribute("data-verdict", "different")
        expect(
            defects.filter(has_text=renamed["sourceId"]).get_by_role("list", name="Fields that differ")
        ).to_contain_text("task.name")
        expect(defects.filter(has_text=deleted["sourceId"])).to_have_attribute("data-verdict", "missing")
        expect(defects.first).to_have_attribute("data-verdict", "missing")  # defects first, missing before different
        report = page.get_by_role("region", name="Report")
        expect(report.locator("tbody tr").first).not_to_have_attribute("data-verdict", "ok")
        report.get_by_label("Verdict").select_option("different")
        expect(report.locator("tbody tr")).to_have_count(1)
        expect(report.locator("tbody tr")).to_contain_text(renamed["sourceId"])
        j.check("v3-verify-defects")
    finally:
        page.screenshot(path=str(j.shots / "verify-last.png"), full_page=True)
        context.close()
        api.close()
    assert not watch.errors, watch.errors
    assert not j.violations, j.violations
