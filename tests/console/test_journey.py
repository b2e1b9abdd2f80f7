"""The main journey in headless Chromium, as a person does it: sign in (code + PKCE at the
development issuer), create an org (its region explained), add a Trello and an Asana
connector, test them, browse containers, build a Trello → Asana migration with a user
mapping, preview it (dry run), run it watching live progress and the log, edit a source
card, run a delta, download the report, roll back — asserting on what the page shows and on
the Asana simulator's state. Each page is checked with axe-core (no serious or critical
violation) and saved as a screenshot; vendor-supplied hostile names must render as text.
Every wait is on a condition (a locator, a status), never a sleep."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
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
from tests.console.conftest import ROOT, ConsoleApp, PageWatch, artifacts_dir, run_axe
from tests.console.wizard_people import send_unmatched_to_fallback

KEY, TOKEN = "consolekey0123456789", "consoletoken0123456789"
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_RTL = "Board \u202egnp.exe"
LONG_NAME = "L" * 290 + " long name"
RUN_TIMEOUT_MS = 120_000
EMAIL = "lead@console.example"
#: the README's screenshot of the run view, rewritten by this test when FERRY_DOCS_SCREENSHOTS is set
DOCS_RUN_VIEW = ROOT / "docs" / "console-run-view.png"
VERIFY_DEFECTS = ("missing", "different", "duplicate", "unexpected", "failed")


class Vendors:
    def __init__(self, trello: str, asana: str, asana_app: Any) -> None:
        self.trello, self.asana, self.asana_app = trello, asana, asana_app

    def trello_call(self, method: str, path: str, **params: str) -> Any:
        r = httpx.request(method, f"{self.trello}/1/{path}", params={"key": KEY, "token": TOKEN, **params})
        r.raise_for_status()
        return r.json()

    def connect(self, api: httpx.Client, org_id: str, prefix: str) -> tuple[str, str]:
        """A Trello and an Asana connector to these simulators, made through the API (for
        the tests whose subject is a later page): their ids, Trello's first."""
        from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN

        ids = []
        for name, connection in (
            (
                f"{prefix} Trello",
                {
                    "kind": "trello",
                    "base_url": f"{self.trello}/1",
                    "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN},
                },
            ),
            (
                f"{prefix} Asana",
                {"kind": "asana", "base_url": f"{self.asana}/api/1.0", "auth": {"type": "pat", "token": ASANA_TOKEN}},
            ),
        ):
            made = api.post(f"/api/orgs/{org_id}/connectors", json={"name": name, "connection": connection})
            ids.append(made.raise_for_status().json()["id"])
        return ids[0], ids[1]

    def asana_live_tasks(self) -> list[Any]:
        store = self.asana_app.state.asana_store
        return [t for t in store.tasks.values() if not getattr(t, "deleted", False)]


@pytest.fixture(scope="module")
def vendors() -> Iterator[Vendors]:
    trello = trello_app(
        TrelloSeed(
            boards=3,
            cards_per_board=3,
            lists_per_board=2,
            many_comments=2,
            members=2,
            comments_per_card=1,
            attachment_sizes=(1024,),
            link_attachment_every=0,
            api_key=KEY,
            extra_tokens={TOKEN: "owner"},
        )
    )
    asana = asana_app(AsanaSeed(projects=0, tasks_per_project=0))
    with serve(trello) as t, serve(asana) as a:
        v = Vendors(t, a, asana)
        boards = v.trello_call("GET", "members/me/boards")
        # Vendor-supplied names a person could have typed: they must show as text.
        for board, name in zip(boards, (HOSTILE_SCRIPT, HOSTILE_RTL, LONG_NAME), strict=False):
            v.trello_call("PUT", f"boards/{board['id']}", name=name)
        yield v


class Journey:
    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.shots = artifacts_dir()
        self.violations: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str) -> None:
        """Screenshot and accessibility check of the page as it is now."""
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        found = run_axe(self.page)
        if found:
            self.violations[name] = found

    def wait_status(self, status: str) -> None:
        heading = self.page.get_by_role("heading", level=1)
        heading.locator(".status", has_text=re.compile(rf"^{status}$")).wait_for(timeout=RUN_TIMEOUT_MS)


def check_verify_page(page: Any, base_url: str, token: str, *, tasks: int) -> None:
    """A finished verify run's page against the API: the verdict table holds the run's
    counters, the defect rows are exactly the report's defect rows (with the fields a
    `different` row names), the verdict filter narrows the report to a verdict, and a clean
    verify (the Trello → Asana journey should be one) says so."""
    from playwright.sync_api import expect

    found = re.search(r"/console/orgs/([^/]+)/migrations/([^/]+)/runs/([^/?#]+)", page.url)
    assert found, page.url
    org_id, migration_id, run_id = found.groups()
    api = f"{base_url}/api/orgs/{org_id}/migrations/{migration_id}/runs/{run_id}"
    headers = {"Authorization": f"Bearer {token}"}
    run = httpx.get(api, headers=headers).raise_for_status().json()
    rows = httpx.get(f"{api}/report", params={"format": "json"}, headers=headers).raise_for_status().json()["items"]
    assert run["mode"] == "verify" and rows, run
    results = page.get_by_role("region", name="Verify results")
    expect(results).to_be_visible()

    # the verdict table: every kind's counters as the run has them
    counts = {k: v for k, v in run["counts"].items() if k not in ("adapt", "skip", "scope", "run")}
    assert sum(counts.get("task", {}).values()) >= tasks, counts  # every migrated task has a verdict
    for kind, by_verdict in counts.items():
        row = results.locator(f"tr[data-kind={kind}]")
        for verdict in ("ok", "missing", "different", "duplicate", "unexpected", "skipped"):
            expect(row.locator(f"td[data-verdict={verdict}]")).to_have_text(str(by_verdict.get(verdict, 0)))
    # the counters and the report agree (the page shows both)
    per_row: dict[tuple[str, str], int] = {}
    for r in rows:
        per_row[(r["kind"], r["action"])] = per_row.get((r["kind"], r["action"]), 0) + 1
    assert per_row == {(k, v): n for k, by in counts.items() for v, n in by.items() if n}, (per_row, counts)

    # the defect rows: exactly the report's, fields named
    defects = [r for r in rows if r["action"] in VERIFY_DEFECTS]
    shown = results.locator("table.defect-table tbody tr")
    expect(shown).to_have_count(len(defects))
    seen = set()
    for i in range(len(defects)):
        tr = shown.nth(i)
        cells = tr.locator("td")
        seen.add(
            (
                cells.nth(0).inner_text(),
                tr.get_attribute("data-verdict"),
                cells.nth(2).inner_text(),
                cells.nth(4).inner_text().replace("\n", ", "),
            )
        )
    want = {
        (
            r["kind"],
            r["action"],
            r["sourceId"],
            (r["reason"] or "—").removeprefix("fields: ") if r["action"] == "different" else (r["reason"] or "—"),
        )
        for r in defects
    }
    assert seen == want, (seen, want)

    # the report filtered by verdict
    report = page.get_by_role("region", name="Report")
    n_ok = sum(1 for r in rows if r["action"] == "ok")
    report.get_by_label("Verdict").select_option("ok")
    expect(report.get_by_role("status")).to_have_text(re.compile(rf"^{n_ok} of {len(rows)} items"))
    expect(report.locator("tbody tr:not([data-verdict=ok])")).to_have_count(0)
    report.get_by_label("Verdict").select_option("missing")
    n_missing = sum(1 for r in rows if r["action"] == "missing")
    expect(report.get_by_role("status")).to_have_text(re.compile(rf"^{n_missing} of {len(rows)} items"))
    report.get_by_label("Verdict").select_option("")

    verdict = results.locator("p.verdict")
    if defects:
        expect(page.get_by_role("heading", level=1).locator(".status")).to_have_text("partially succeeded")
        expect(verdict).to_have_text(
            re.compile(rf"^Verify found {len(defects)} defects? in {len(rows)} items compared")
        )
        print(
            "verify defects:",
            *(f"{r['kind']} {r['action']} {r['sourceId']} {r['reason']}" for r in defects),
            sep="\n  ",
        )
    else:
        expect(page.get_by_role("heading", level=1).locator(".status")).to_have_text("succeeded")
        expect(verdict).to_have_text(
            f"Every migrated item is at the destination as the source says ({len(rows)} items compared)."
        )
        expect(
            results.get_by_text("No defects: nothing is missing, different, duplicated or unexpected.")
        ).to_be_visible()
        expect(
            results.get_by_role("list", name="Verdicts in words").get_by_text(
                re.compile(rf"^{counts['task']['ok']} tasks are at the destination as the source says\.$")
            )
        ).to_be_visible()


def test_main_journey(console_app: ConsoleApp, browser: Any, dev_issuer: Any, vendors: Vendors) -> None:
    from playwright.sync_api import expect

    dev_issuer.access_ttl = 20  # the console must renew silently (refresh token) during the journey
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, accept_downloads=True, timezone_id="Europe/Amsterdam"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch()
    watch.attach(page)
    j = Journey(page, console_app.base_url)
    grants_before = dict(dev_issuer.token_grants)
    try:
        # --- sign in -------------------------------------------------------------------
        page.goto(f"{console_app.base_url}/console/")
        j.check("00-signed-out")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible()
        expect(page.get_by_text("lead@console.example")).to_be_visible()
        assert page.evaluate("() => Object.keys(localStorage).length") == 0, "tokens must stay in memory"
        assert "token" not in " ".join(page.evaluate("() => Object.keys(sessionStorage)")).lower()

        # --- organisation: the country's region is explained before creating -----------
        page.get_by_label("Name").fill("Console Org")
        page.get_by_label("Country").select_option("NL")
        expect(page.get_by_text(re.compile(r"Region: EU\."))).to_be_visible()
        page.get_by_label("Country").select_option("US")
        expect(page.get_by_text(re.compile(r"Region: US\."))).to_be_visible()
        page.get_by_label("Country").select_option("NL")
        j.check("01-organisations")
        page.get_by_role("button", name="Create organisation").click()
        expect(page.get_by_role("heading", name="Connectors", level=1)).to_be_visible()
        expect(page.get_by_text("EU region")).to_be_visible()

        # --- connectors ---------------------------------------------------------------
        add = page.get_by_role("region", name="Add a connector")
        add.get_by_label("Connector name").fill("Team Trello")
        add.get_by_label("Tool").select_option("trello")
        add.get_by_label("API key (secret)").fill(KEY)
        add.get_by_label("Token (secret)").fill(TOKEN)
        add.get_by_text("Advanced").click()
        add.get_by_label("API base URL override").fill(f"{vendors.trello}/1")
        add.get_by_role("button", name="Add connector").click()
        trello_card = page.get_by_role("listitem", name="Connector Team Trello")
        expect(trello_card).to_be_visible()
        add.get_by_label("Connector name").fill("Team Asana")
        add.get_by_label("Tool").select_option("asana")
        add.get_by_label("Personal access token (secret)").fill(ASANA_TOKEN)
        if not add.get_by_label("API base URL override").is_visible():
            add.get_by_text("Advanced").click()
        add.get_by_label("API base URL override").fill(f"{vendors.asana}/api/1.0")
        add.get_by_role("button", name="Add connector").click()
        asana_card = page.get_by_role("listitem", name="Connector Team Asana")
        expect(asana_card).to_be_visible()
        for card in (trello_card, asana_card):
            card.get_by_role("button", name="Test").click()
            expect(card.get_by_text("connected")).to_be_visible()
        expect(page.locator("input[type=password]").first).to_have_value("")  # secrets are write-only
        assert TOKEN not in page.content() and ASANA_TOKEN not in page.content()
        trello_card.get_by_role("button", name="Browse containers").click()
        tree = trello_card.get_by_role("list", name="Containers")
        expect(tree.get_by_text(HOSTILE_SCRIPT, exact=False)).to_be_visible()
        expect(tree.get_by_text(LONG_NAME, exact=False)).to_be_visible()
        expect(tree.get_by_text("Board [U+202E]gnp.exe")).to_be_visible()  # the override is shown, not obeyed
        j.check("02-connectors")

        # --- migration wizard -----------------------------------------------------------
        page.get_by_role("link", name="Migrations").click()
        expect(page.get_by_text("No migrations yet")).to_be_visible()
        page.get_by_role("link", name="New migration").click()
        page.get_by_label("Migration name").fill("Trello to Asana")
        page.get_by_label("Source (move from)").select_option(label="Team Trello (Trello)")
        page.get_by_label("Destination (move to)").select_option(label="Team Asana (Asana)")
        scopes = page.get_by_role("group", name="Source containers")
        expect(scopes.get_by_role("checkbox")).to_have_count(3)
        for box in scopes.get_by_role("checkbox").all():
            box.check()
        expect(page.get_by_label("Destination workspace")).to_be_visible()
        # the boards' people: the token's member shows an e-mail nobody at Asana has, the
        # others show none (Trello shows e-mails to their owner only): all go to the fallback
        expect(page.get_by_role("button", name="Create migration")).to_be_disabled()
        send_unmatched_to_fallback(page, "lead@console.example")
        page.get_by_role("button", name="Add row").first.click()
        page.get_by_label("Source email 1").fill("Someone@Trello.example")
        page.get_by_label("Destination email 1").fill("someone@asana.example")
        j.check("03-wizard")
        page.get_by_role("button", name="Create migration").click()
        expect(page.get_by_role("heading", name="Trello to Asana", level=1)).to_be_visible()
        expect(page.get_by_text("2 mapped people")).to_be_visible()  # the row, and the owner sent to the fallback
        migration_url = page.url

        # --- dry run preview --------------------------------------------------------------
        page.get_by_role("button", name="Preview (dry run)").click()
        j.wait_status("succeeded")
        preview = page.get_by_role("region", name="Preview (dry run)")
        expect(preview.get_by_role("rowheader", name="task")).to_be_visible()
        expect(preview.get_by_role("heading", name="Adaptations")).to_be_visible()
        j.check("04-dry-run")
        assert vendors.asana_live_tasks() == [], "a dry run writes nothing"

        # --- full run: live progress and log -------------------------------------------
        page.goto(migration_url) if False else page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Run migration").click()
        expect(page.get_by_role("heading", name="Progress")).to_be_visible()
        expect(page.get_by_role("list", name="Log lines").locator("li.lvl-info").first).to_be_visible(
            timeout=RUN_TIMEOUT_MS
        )
        j.wait_status("succeeded")
        expect(page.locator("tr[data-kind=task] .num")).to_have_text(re.compile(r"^9$"))
        j.check("05-run")
        page.screenshot(path=str(j.shots / "05-run-viewport.png"))  # the README's picture of the run view
        if os.environ.get("FERRY_DOCS_SCREENSHOTS"):  # opt-in: a fresh picture for the README
            shutil.copyfile(j.shots / "05-run-viewport.png", DOCS_RUN_VIEW)
        tasks = vendors.asana_live_tasks()
        assert len([t for t in tasks if t.parent is None]) >= 9, len(tasks)

        # --- verify: both sides read again, the page shows what the API's report says -----
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Verify", exact=True).click()
        j.wait_status("(succeeded|partially succeeded)")
        check_verify_page(page, console_app.base_url, dev_issuer.mint(EMAIL, audience=AUDIENCE), tasks=9)
        j.check("05b-verify")

        # --- edit one source card, then a delta ---------------------------------------
        board = next(b for b in vendors.trello_call("GET", "members/me/boards") if b["name"] == HOSTILE_SCRIPT)
        card = vendors.trello_call("GET", f"boards/{board['id']}/cards")[0]
        vendors.trello_call("PUT", f"cards/{card['id']}", name="Edited in the browser test")
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Run delta").click()
        j.wait_status("succeeded")
        report = page.get_by_role("region", name="Report")
        report.get_by_label("Action").select_option("updated")
        expect(report.get_by_role("cell", name=card["id"])).to_be_visible()
        j.check("06-delta-report")
        assert any(t.name == "Edited in the browser test" for t in vendors.asana_live_tasks())
        with page.expect_download() as download:
            report.get_by_role("button", name="Download CSV").click()
        rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        assert any(r["sourceId"] == card["id"] and r["action"] == "updated" for r in rows), rows[:5]

        # --- rollback: the confirmation names what will be deleted ----------------------
        page.get_by_role("link", name="Back to the migration").click()
        page.get_by_role("button", name="Roll back…").click()
        dialog = page.get_by_role("dialog", name="Roll back this migration?")
        expect(dialog.get_by_text(re.compile(r"\b9 tasks\b"))).to_be_visible()
        j.check("07-rollback-confirm")
        dialog.get_by_role("button", name="Delete these items at the destination").click()
        j.wait_status("succeeded")
        assert [t for t in vendors.asana_live_tasks() if t.parent is None] == []

        # --- the other pages ----------------------------------------------------------------
        for link, heading, shot in (
            ("Members", "Members", "08-members"),
            ("API keys", "API keys", "09-keys"),
            ("Audit log", "Audit log", "10-audit"),
            ("Data & deletion", "Data & deletion", "11-data"),
        ):
            page.get_by_role("navigation", name="Organisation").get_by_role("link", name=link).click()
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
            j.check(shot)
        page.get_by_role("navigation", name="Organisation").get_by_role("link", name="API keys").click()
        page.get_by_label("Name").fill("ci")
        page.get_by_role("button", name="Create key").click()
        expect(page.get_by_label("New API key")).to_have_text(re.compile(r"^ferry_"))

        # --- a phone-width look at the run list --------------------------------------------
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("navigation", name="Organisation").get_by_role("link", name="Migrations").click()
        expect(page.get_by_role("link", name="Trello to Asana")).to_be_visible()
        j.check("12-phone")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1

        # --- sign out ------------------------------------------------------------------------
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        page.screenshot(path=str(j.shots / "last.png"), full_page=True)
        context.close()
    assert not watch.dialogs, f"a page opened a dialog (script from a name ran?): {watch.dialogs}"
    assert not watch.errors, watch.errors
    assert not j.violations, j.violations
    assert dev_issuer.token_grants["refresh_token"] > grants_before["refresh_token"], "no silent renewal happened"
