"""The run view's own behaviour in headless Chromium, on a finished Trello → Asana run made
through the API (the journey test covers making one in the pages):

- the log stream, cut off after a few events, is picked up again with `Last-Event-ID` naming
  the last event the page saw, and the page ends with every line once (none lost, none twice);
- the level filters hide and show lines;
- the report puts failures first, filters by kind, action and reason, and downloads as JSON
  what the API's report holds;
- throughput and time left are shown, and "Retry failed items" with nothing failed shows the
  API's refusal in words.

Waits are on conditions, never sleeps."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN
from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import (
    KEY,
    RUN_TIMEOUT_MS,
    TOKEN,
    Journey,
    Vendors,
    vendors,  # noqa: F401  (the module's own simulators)
)

EMAIL = "runs@console.example"
KEPT_EVENTS = 3  # events the first stream delivers before it is cut


def _finished_run(api: httpx.Client, vendors: Vendors) -> tuple[str, str, str]:  # noqa: F811
    """An org, both connectors, a one-board migration and its full run, finished: the ids."""
    org = api.post("/api/orgs", json={"name": "Run View Org", "country": "NL"}).raise_for_status().json()["id"]
    ids = {}
    for name, connection in (
        (
            "Runs Trello",
            {
                "kind": "trello",
                "base_url": f"{vendors.trello}/1",
                "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN},
            },
        ),
        (
            "Runs Asana",
            {"kind": "asana", "base_url": f"{vendors.asana}/api/1.0", "auth": {"type": "pat", "token": ASANA_TOKEN}},
        ),
    ):
        made = api.post(f"/api/orgs/{org}/connectors", json={"name": name, "connection": connection})
        ids[name] = made.raise_for_status().json()["id"]
    containers = api.get(f"/api/orgs/{org}/connectors/{ids['Runs Trello']}/containers").raise_for_status().json()
    board = next(c for c in containers["items"] if c["kind"] != "workspace")
    spaces = api.get(f"/api/orgs/{org}/connectors/{ids['Runs Asana']}/containers").raise_for_status().json()
    workspace = next(c for c in spaces["items"] if c["kind"] == "workspace")
    migration = (
        api.post(
            f"/api/orgs/{org}/migrations",
            json={
                "name": "Run view",
                "sourceConnectorId": ids["Runs Trello"],
                "destinationConnectorId": ids["Runs Asana"],
                "scopes": [{"id": board["id"]}],
                "destinationWorkspace": workspace["id"],
            },
        )
        .raise_for_status()
        .json()["id"]
    )
    base = f"/api/orgs/{org}/migrations/{migration}"
    run = api.post(f"{base}/runs", json={"mode": "full"}).raise_for_status().json()["id"]
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while api.get(f"{base}/runs/{run}").raise_for_status().json()["status"] != "succeeded":
        assert time.monotonic() < deadline, api.get(f"{base}/runs/{run}").json()
        time.sleep(0.3)
    return org, migration, run


def _events(body: str) -> list[str]:
    """The SSE blocks of a stream's body, each with its trailing blank line."""
    return [block + "\n\n" for block in body.replace("\r\n", "\n").split("\n\n") if block.strip()]


def test_log_resume_filters_report_and_retry(
    console_app: ConsoleApp,
    browser: Any,
    dev_issuer: Any,
    vendors: Vendors,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    org, migration, run = _finished_run(api, vendors)
    base = f"/api/orgs/{org}/migrations/{migration}"
    log_lines = api.get(f"/api/orgs/{org}/runs/{run}/logs", params={"level": "debug"}).raise_for_status().json()
    report = api.get(f"{base}/runs/{run}/report", params={"format": "json"}).raise_for_status().json()["items"]
    assert len(log_lines["items"]) > KEPT_EVENTS and report

    streams: list[dict[str, str]] = []

    def cut_first_stream(route: Any, request: Any) -> None:
        """The first stream ends after KEPT_EVENTS log events, as a dropped connection does."""
        streams.append(dict(request.headers))
        if len(streams) > 1:
            route.continue_()
            return
        answer = route.fetch()
        kept = [e for e in _events(answer.text()) if "event: log" in e][:KEPT_EVENTS]
        route.fulfill(
            status=200,
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            body="retry: 100\n\n" + "".join(kept),
        )

    failed_row = {
        **report[0],
        "action": "failed",
        "sourceId": "card-that-failed",
        "destinationId": None,
        "reason": "vendor refused: simulated",
        "adaptations": [],
    }

    reports: list[str] = []

    def a_failure_last(route: Any, request: Any) -> None:
        """The report the page loads, as the API gives it with one failed row added at its end
        (a download, later, is the API's own)."""
        reports.append(request.url)
        if len(reports) > 1:
            route.continue_()
            return
        answer = route.fetch()
        body = answer.json()
        route.fulfill(response=answer, body=json.dumps({**body, "items": [*body["items"], failed_row]}))

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.route(re.compile(rf".*/api/orgs/{org}/runs/{run}/logs\?level=debug$"), cut_first_stream)
    context.route(re.compile(rf".*/runs/{run}/report\?format=json$"), a_failure_last)
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
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible(timeout=30_000)
        page.goto(f"{console_app.base_url}/console/orgs/{org}/migrations/{migration}/runs/{run}")
        j.wait_status("succeeded")

        # --- the log: cut, resumed from the last event seen, every line once --------------
        log = page.get_by_role("list", name="Log lines")
        levels = page.get_by_role("group", name="Log levels shown")
        levels.get_by_role("checkbox", name="debug").check()
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^complete$"))).to_be_visible()
        assert len(streams) == 2, streams
        first_ids = [
            re.search(r"^id: (.*)$", e, re.M)
            for e in _events(
                httpx.get(
                    f"{console_app.base_url}/api/orgs/{org}/runs/{run}/logs",
                    params={"level": "debug"},
                    headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
                ).text
            )
            if "event: log" in e
        ]
        assert streams[1].get("last-event-id") == first_ids[KEPT_EVENTS - 1].group(1), (streams[1], first_ids[:4])
        expect(log.locator("li[class^=lvl-]")).to_have_count(len(log_lines["items"]))
        shown = log.locator("li[class^=lvl-]").evaluate_all(
            "ls => ls.map(l => [l.querySelector('.lvl').textContent, l.querySelector('.ev').textContent,"
            " l.textContent])"
        )
        expected = [(line["level"], line["event"], line.get("sourceId") or "") for line in log_lines["items"]]
        assert [(lvl, ev) for lvl, ev, _ in shown] == [(lvl, ev) for lvl, ev, _ in expected]
        assert all(src in text for (_, _, text), (_, _, src) in zip(shown, expected, strict=True))

        # --- level filters ----------------------------------------------------------------------
        info = sum(1 for line in log_lines["items"] if line["level"] == "info")
        assert info, log_lines["items"][:3]
        levels.get_by_role("checkbox", name="info").uncheck()
        expect(log.locator("li.lvl-info")).to_have_count(0)
        expect(log.locator("li[class^=lvl-]")).to_have_count(len(log_lines["items"]) - info)
        levels.get_by_role("checkbox", name="info").check()
        expect(log.locator("li.lvl-info")).to_have_count(info)

        # --- throughput and time left ---------------------------------------------------------
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text(re.compile(r"items/min \(\d+ items in [\d.]+ s\)"))
        expect(facts.locator("dt:text-is('Time left') + dd")).to_have_text("done")

        # --- the report: failures first, filters, JSON download ----------------------------
        section = page.get_by_role("region", name="Report")
        table = section.get_by_role("table")
        expect(table.locator("tbody tr").first).to_contain_text("card-that-failed")
        rows_total = len(report) + 1
        counter = section.get_by_role("status")
        expect(counter).to_have_text(f"{rows_total} of {rows_total} items")
        section.get_by_label("Kind").select_option("task")
        tasks = sum(1 for r in report if r["kind"] == "task") + (failed_row["kind"] == "task")
        expect(counter).to_have_text(f"{tasks} of {rows_total} items")
        section.get_by_label("Kind").select_option("")
        section.get_by_label("Action").select_option("failed")
        expect(counter).to_have_text(f"1 of {rows_total} items")
        section.get_by_label("Action").select_option("")
        section.get_by_label("Reason contains").fill("VENDOR REFUSED")  # any case
        expect(counter).to_have_text(f"1 of {rows_total} items")
        j.check("run-view-report-filtered")
        with page.expect_download() as download:
            section.get_by_role("button", name="Download JSON").click()
        downloaded = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert [r["sourceId"] for r in downloaded["items"]] == [r["sourceId"] for r in report]

        # --- retry failed items: nothing failed, so the API refuses and the page says why ----
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Retry failed items").click()
        expect(page.get_by_role("region", name="Run").get_by_role("alert")).to_contain_text("nothing to retry")
        modes = [r["mode"] for r in api.get(f"{base}/runs").raise_for_status().json()["items"]]
        assert modes == ["full"], modes
    finally:
        context.close()
    # Chromium logs the refused retry (409), and nothing else.
    assert len(watch.errors) == 1 and "status of 409" in watch.errors[0] and not watch.dialogs, watch.errors
    assert not j.violations, j.violations
