"""The run view's controls and live parts in headless Chromium, on a one-board Trello → Asana
migration made through the API (the journey test covers making one in the pages), whose
destination refuses two comments (400):

- a full run held paused right after it starts shows its time left from the dry run, and
  "Resume" lets it finish (partially succeeded: the two comments failed);
- the log stream, cut off after a few events, is picked up again with `Last-Event-ID` naming
  the last event the page saw, and the page ends with every line once, in order;
- the level filters hide and show lines; throughput is shown;
- the report puts the failures first, filters by kind, action and reason, and downloads as
  JSON what the API's report holds;
- "Retry failed items" moves exactly the two comments; "Cancel run" cancels a paused delta.

Waits are on conditions, never sleeps."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import (
    RUN_TIMEOUT_MS,
    Journey,
    Vendors,
    vendors,  # noqa: F401  (the module's own simulators)
)

EMAIL = "runs@console.example"
KEPT_EVENTS = 3  # events the first stream delivers before it is cut
REFUSED = "text: simulated refusal"


class Stamp:
    """The API as the test's own admin sees it."""

    def __init__(self, api: httpx.Client, org: str, migration: str) -> None:
        self.api, self.org, self.migration = api, org, migration
        self.base = f"/api/orgs/{org}/migrations/{migration}"

    def start(self, mode: str, *, paused: bool = False) -> str:
        run: str = self.api.post(f"{self.base}/runs", json={"mode": mode}).raise_for_status().json()["id"]
        if paused:  # held before the worker gets far (the e2e modes test does the same)
            self.api.post(f"{self.base}/runs/{run}/pause").raise_for_status()
        return run

    def run(self, run: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.get(f"{self.base}/runs/{run}").raise_for_status().json()
        return answer

    def wait(self, run: str) -> dict[str, Any]:
        deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
        while (view := self.run(run))["status"] not in ("succeeded", "partially_succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, view
            time.sleep(0.3)
        return view

    def report(self, run: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (
            self.api.get(f"{self.base}/runs/{run}/report", params={"format": "json"}).raise_for_status().json()["items"]
        )
        return rows

    def log(self, run: str) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = (
            self.api.get(f"/api/orgs/{self.org}/runs/{run}/logs", params={"level": "debug"})
            .raise_for_status()
            .json()["items"]
        )
        return lines


def _stamp(api: httpx.Client, vendors: Vendors) -> Stamp:  # noqa: F811
    """An org, both connectors and a one-board migration."""
    org = api.post("/api/orgs", json={"name": "Run View Org", "country": "NL"}).raise_for_status().json()["id"]
    trello_id, asana_id = vendors.connect(api, org, "Runs")
    containers = api.get(f"/api/orgs/{org}/connectors/{trello_id}/containers").raise_for_status().json()
    board = next(c for c in containers["items"] if c["kind"] != "workspace")
    spaces = api.get(f"/api/orgs/{org}/connectors/{asana_id}/containers").raise_for_status().json()
    workspace = next(c for c in spaces["items"] if c["kind"] == "workspace")
    body = {
        "name": "Run view",
        "sourceConnectorId": trello_id,
        "destinationConnectorId": asana_id,
        "scopes": [{"id": board["id"]}],
        "destinationWorkspace": workspace["id"],
    }
    migration = api.post(f"/api/orgs/{org}/migrations", json=body).raise_for_status().json()["id"]
    return Stamp(api, org, migration)


def _events(body: str) -> list[str]:
    """The SSE blocks of a stream's body, each with its trailing blank line."""
    return [block + "\n\n" for block in body.replace("\r\n", "\n").split("\n\n") if block.strip()]


def test_run_controls_log_resume_report_and_retry(
    console_app: ConsoleApp,
    browser: Any,
    dev_issuer: Any,
    vendors: Vendors,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    stamp = _stamp(api, vendors)
    assert stamp.wait(stamp.start("dry_run"))["status"] == "succeeded"  # the basis of the time left
    refusal = {
        "kind": "status",
        "status": 400,
        "method": "POST",
        "path": "/stories$",
        "count": 2,
        "body": json.dumps({"errors": [{"message": REFUSED}]}),
    }
    httpx.post(f"{vendors.asana}/_sim/faults", json={"faults": [refusal]}).raise_for_status()
    full = stamp.start("full", paused=True)

    cutting: dict[str, Any] = {"on": False, "streams": []}

    def cut_first_stream(route: Any, request: Any) -> None:
        """Once switched on, the next stream ends after KEPT_EVENTS log events, as a dropped
        connection does; the one after it (the page's reconnection) goes through."""
        if not cutting["on"]:
            route.continue_()
            return
        cutting["streams"].append(dict(request.headers))
        if len(cutting["streams"]) > 1:
            route.continue_()
            return
        answer = route.fetch()  # the run is finished: its stream ends
        kept = [e for e in _events(answer.text()) if "event: log" in e][:KEPT_EVENTS]
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        route.fulfill(status=200, headers=headers, body="retry: 100\n\n" + "".join(kept))

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.route(re.compile(rf".*/api/orgs/{stamp.org}/runs/{full}/logs\?level=debug$"), cut_first_stream)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch()
    watch.attach(page)
    j = Journey(page, console_app.base_url)
    run_url = f"{console_app.base_url}/console/orgs/{stamp.org}/migrations/{stamp.migration}/runs"
    try:
        page.goto(f"{console_app.base_url}/console/")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible(timeout=30_000)

        # --- paused: the time left from the dry run; resumed, it finishes --------------------
        page.goto(f"{run_url}/{full}")
        j.wait_status("paused")
        facts = page.locator("dl.facts")
        expect(facts.locator("dt:text-is('Time left') + dd")).to_have_text(re.compile(r"^about \d+ (s|min)$"))
        j.check("run-paused")
        page.get_by_role("button", name="Resume").click()
        j.wait_status("partially succeeded")
        expect(facts.locator("dt:text-is('Time left') + dd")).to_have_text("done")
        expect(facts).to_contain_text(re.compile(r"items/min \(\d+ items in [\d.]+ s\)"))
        assert stamp.run(full)["counts"]["comment"]["failed"] == 2

        # --- the log, opened again: cut, resumed from the last event seen, every line once ----
        lines = stamp.log(full)
        assert len(lines) > KEPT_EVENTS
        cutting["on"] = True
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("table", name="Runs, newest first").get_by_role("link", name="Run migration").click()
        log = page.get_by_role("list", name="Log lines")
        levels = page.get_by_role("group", name="Log levels shown")
        levels.get_by_role("checkbox", name="debug").check()
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^complete$"))).to_be_visible()
        streams = cutting["streams"]
        assert len(streams) == 2, streams
        sent = _events(
            httpx.get(
                f"{console_app.base_url}/api/orgs/{stamp.org}/runs/{full}/logs",
                params={"level": "debug"},
                headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
                timeout=30,
            ).text
        )
        ids = [m.group(1) for e in sent if "event: log" in e and (m := re.search(r"^id: (.*)$", e, re.M))]
        assert "last-event-id" not in streams[0]
        assert streams[1].get("last-event-id") == ids[KEPT_EVENTS - 1], (streams[1], ids[:4])
        expect(log.locator("li[class^=lvl-]")).to_have_count(len(lines))
        shown = log.locator("li[class^=lvl-]").evaluate_all(
            "ls => ls.map(l => [l.querySelector('.lvl').textContent, l.querySelector('.ev').textContent,"
            " l.textContent])"
        )
        expected = [(line["level"], line["event"], line.get("sourceId") or "") for line in lines]
        assert [(lvl, ev) for lvl, ev, _ in shown] == [(lvl, ev) for lvl, ev, _ in expected]
        assert all(src in text for (_, _, text), (_, _, src) in zip(shown, expected, strict=True))

        # --- level filters ----------------------------------------------------------------------
        info = sum(1 for line in lines if line["level"] == "info")
        assert info, lines[:3]
        levels.get_by_role("checkbox", name="info").uncheck()
        expect(log.locator("li.lvl-info")).to_have_count(0)
        expect(log.locator("li[class^=lvl-]")).to_have_count(len(lines) - info)
        levels.get_by_role("checkbox", name="info").check()
        expect(log.locator("li.lvl-info")).to_have_count(info)

        # --- the report: failures first, filters, JSON download ----------------------------
        report = stamp.report(full)
        failed = [r for r in report if r["action"] == "failed"]
        assert len(failed) == 2 and all(r["kind"] == "comment" for r in failed), failed
        section = page.get_by_role("region", name="Report")
        body_rows = section.get_by_role("table").locator("tbody tr")
        for i in range(2):
            expect(body_rows.nth(i).locator("td").nth(1)).to_have_text("failed")
        counter = section.get_by_role("status")
        expect(counter).to_have_text(f"{len(report)} of {len(report)} items")
        section.get_by_label("Kind").select_option("comment")
        comments = sum(1 for r in report if r["kind"] == "comment")
        expect(counter).to_have_text(f"{comments} of {len(report)} items")
        section.get_by_label("Kind").select_option("")
        section.get_by_label("Action").select_option("failed")
        expect(counter).to_have_text(f"2 of {len(report)} items")
        section.get_by_label("Action").select_option("")
        section.get_by_label("Reason contains").fill(REFUSED.upper())  # any case
        expect(counter).to_have_text(f"2 of {len(report)} items")
        j.check("run-report-failures")
        with page.expect_download() as download:
            section.get_by_role("button", name="Download JSON").click()
        downloaded = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert downloaded["items"] == report

        # --- retry failed items: the two comments, and nothing else ------------------------
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Retry failed items").click()
        expect(page.get_by_role("heading", name=re.compile(r"^Retry failed items"), level=1)).to_be_visible()
        j.wait_status("succeeded")
        retried = [
            r["id"]
            for r in api.get(f"{stamp.base}/runs").raise_for_status().json()["items"]
            if r["mode"] == "retry_failed"
        ]
        assert len(retried) == 1, retried
        assert stamp.run(retried[0])["counts"]["comment"] == {"created": 2}

        # --- cancel: a paused delta, cancelled from its page -------------------------------
        delta = stamp.start("delta", paused=True)
        page.goto(f"{run_url}/{delta}")
        j.wait_status("paused")
        page.get_by_role("button", name="Cancel run").click()
        j.wait_status("cancelled")
        assert stamp.run(delta)["status"] == "cancelled"
        expect(page.get_by_role("button", name="Resume")).to_have_count(0)  # nothing left to control
    finally:
        context.close()
    assert not watch.errors and not watch.dialogs, (watch.errors, watch.dialogs)
    assert not j.violations, j.violations
