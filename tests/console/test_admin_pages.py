"""The admin pages' actions in headless Chromium, which the main journey only visits: the
connector form for a Microsoft 365 sign-in and an OAuth app, members (added by email, the
API refusing an external admin, role and type changed, deactivated, removed after a
confirmation that Escape cancels), API keys (scopes, the key shown once with a working copy
button, revoke), the data export downloaded, and deleting the organisation (its name typed)
followed to its receipt — each checked against the API, with axe-core on every page, an API
problem shown at the field it names, times shown in the browser's time zone, and the pages at
a phone's width."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch, artifacts_dir, run_axe

EMAIL = "admin@console.example"
HELPER = "helper@console.example"
ORG = "Admin Pages Org"
TIME_ZONE = "Asia/Tokyo"  # UTC+9 all year: a time shown in UTC would differ
DELETION_TIMEOUT_MS = 120_000


class Pages:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.violations: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str) -> None:
        self.page.screenshot(path=str(artifacts_dir() / f"admin-{name}.png"), full_page=True)
        found = run_axe(self.page)
        if found:
            self.violations[name] = found

    def open(self, link: str) -> None:
        from playwright.sync_api import expect

        self.page.get_by_role("navigation", name="Organisation").get_by_role("link", name=link).click()
        expect(self.page.get_by_role("heading", name=link, level=1)).to_be_visible()
        expect(self.page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)


def _shown_in_browser_zone(page: Any, time: Any) -> None:
    """A <time> shows its instant in the browser's zone (the API answers UTC)."""
    shown, local, utc = time.evaluate(
        """(t, zone) => {
             const d = new Date(t.dateTime), o = {dateStyle: "medium", timeStyle: "medium"};
             return [t.textContent, new Intl.DateTimeFormat(undefined, {...o, timeZone: zone}).format(d),
                     new Intl.DateTimeFormat(undefined, {...o, timeZone: "UTC"}).format(d)];
           }""",
        TIME_ZONE,
    )
    assert shown == local != utc, (shown, local, utc)


def test_members_keys_export_and_deletion(
    console_app: ConsoleApp, browser: Any, dev_issuer: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id=TIME_ZONE, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_app.base_url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch()
    watch.attach(page)
    pages = Pages(page)
    try:
        page.goto(f"{console_app.base_url}/console/")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible(timeout=30_000)
        page.get_by_label("Name").fill(ORG)
        page.get_by_role("button", name="Create organisation").click()
        expect(page.get_by_role("heading", name="Connectors", level=1)).to_be_visible(timeout=60_000)
        org_id = re.search(r"/console/orgs/([^/]+)/", page.url).group(1)  # type: ignore[union-attr]
        api = httpx.Client(
            base_url=f"{console_app.base_url}/api/orgs/{org_id}",
            timeout=30,
            headers={"Authorization": f"Bearer {dev_issuer.mint(EMAIL, audience=AUDIENCE)}"},
        )

        # --- the connector form per tool and sign-in method: secrets are password fields ------
        add = page.get_by_role("region", name="Add a connector")
        add.get_by_label("Tool").select_option("planner")
        add.get_by_label("Sign-in method").select_option(label="Microsoft 365 username and password")
        expect(add.get_by_label("Username")).to_have_attribute("type", "email")
        expect(add.get_by_label("Password (secret)")).to_have_attribute("type", "password")
        expect(add.get_by_label("Password (secret)")).to_have_attribute("autocomplete", "new-password")
        add.get_by_label("Tool").select_option("asana")
        add.get_by_label("Sign-in method").select_option(label="OAuth app")
        expect(add.get_by_label("Client ID")).to_be_visible()
        expect(add.get_by_label("Client secret (secret)")).to_have_attribute("type", "password")
        expect(add.get_by_label("Password (secret)")).to_have_count(0)  # the form follows the method
        pages.check("connector-forms")

        # --- a reload signs in silently (the issuer's session) and comes back here; from the
        # top, the first Tab reaches the skip link, and following it the next Tab lands in the
        # page's content, past the navigation ----------------------------------------------
        connectors_url = page.url
        page.reload()
        expect(page.get_by_role("heading", name="Connectors", level=1)).to_be_visible()
        assert page.url == connectors_url
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")

        # --- members (reached by a link: the focus moves to the new page's content) ----------
        pages.open("Members")
        assert page.evaluate("() => document.activeElement === document.getElementById('main')")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")
        add = page.get_by_role("region", name="Add a member")
        email = add.get_by_label("Email")
        email.fill("someone@localhost")  # the browser takes it; the API does not (no dot in the domain)
        add.get_by_role("button", name="Add member").click()
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(email).to_have_accessible_description(re.compile(r"\S"))  # the API's message, at the field
        expect(add.get_by_role("alert")).to_contain_text("email")
        email.fill(HELPER)
        add.get_by_label("Role").select_option("admin")
        add.get_by_label("Type").select_option("external")
        add.get_by_role("button", name="Add member").click()
        expect(add.get_by_role("alert")).to_contain_text("external members cannot be admins")  # the API's rule
        add.get_by_label("Type").select_option("internal")
        add.get_by_role("button", name="Add member").click()
        row = page.get_by_role("row").filter(has_text=HELPER)
        expect(row.get_by_label(f"Role of {HELPER}")).to_have_value("admin")
        expect(row.get_by_label(f"Type of {HELPER}")).to_have_value("internal")
        expect(add.get_by_role("alert")).to_have_count(0)
        _shown_in_browser_zone(page, row.locator("time"))
        row.get_by_label(f"Role of {HELPER}").select_option("member")
        expect(row.get_by_label(f"Role of {HELPER}")).to_have_value("member")
        row.get_by_label(f"Type of {HELPER}").select_option("external")
        expect(row.get_by_label(f"Type of {HELPER}")).to_have_value("external")
        row.get_by_role("button", name="Deactivate").click()
        expect(row.get_by_role("cell", name="deactivated", exact=True)).to_be_visible()
        (helper,) = [m for m in api.get("/members").raise_for_status().json()["items"] if m["email"] == HELPER]
        assert (helper["role"], helper["memberType"], helper["status"]) == ("member", "external", "deactivated")
        pages.check("members")
        row.get_by_role("button", name="Remove").click()
        dialog = page.get_by_role("dialog", name=f"Remove {HELPER}?")
        expect(dialog).to_be_visible()
        page.keyboard.press("Escape")  # cancels: nobody is removed
        expect(dialog).to_be_hidden()
        expect(row).to_have_count(1)
        row.get_by_role("button", name="Remove").click()
        dialog.get_by_role("button", name="Remove member").click()
        expect(row).to_have_count(0)
        assert HELPER not in {m["email"] for m in api.get("/members").raise_for_status().json()["items"]}

        # --- API keys: shown once, copied, revoked ------------------------------------------
        pages.open("API keys")
        expect(page.get_by_text("No API keys.")).to_be_visible()  # the empty state
        new_key = page.get_by_role("region", name="Create a key")
        new_key.get_by_label("Name").fill("nightly export")
        new_key.get_by_label(re.compile(r"^write:")).check()
        new_key.get_by_role("button", name="Create key").click()
        shown = page.get_by_label("New API key")
        expect(shown).to_have_text(re.compile(r"^ferry_"))
        key = shown.inner_text().strip()
        page.get_by_role("button", name="Copy", exact=True).click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("() => navigator.clipboard.readText()") == key
        key_row = page.get_by_role("row").filter(has_text="nightly export")
        expect(key_row.get_by_role("cell", name="read, write")).to_be_visible()
        assert (
            httpx.get(
                f"{console_app.base_url}/api/orgs/{org_id}/migrations",
                timeout=30,
                headers={"Authorization": f"Bearer {key}"},
            ).status_code
            == 200
        )
        pages.check("keys")
        pages.open("Members")
        pages.open("API keys")
        expect(page.get_by_label("New API key")).to_have_count(0)  # shown once only
        assert key not in page.content()
        key_row.get_by_role("button", name="Revoke").click()
        page.get_by_role("dialog", name="Revoke key “nightly export”?").get_by_role("button", name="Revoke key").click()
        expect(key_row).to_contain_text("revoked")
        assert (
            httpx.get(
                f"{console_app.base_url}/api/orgs/{org_id}/migrations",
                timeout=30,
                headers={"Authorization": f"Bearer {key}"},
            ).status_code
            == 401
        )

        # --- audit log: what was just done is there -------------------------------------------
        pages.open("Audit log")
        events = page.get_by_role("table", name="Audit events")
        for action in (
            "member.added",
            "member.role_changed",
            "member.type_changed",
            "member.deactivated",
            "member.removed",
            "key.created",
            "key.revoked",
        ):
            expect(events.get_by_role("cell", name=action, exact=True)).to_have_count(1)
        added = events.get_by_role("row").filter(has=page.get_by_role("cell", name="member.added", exact=True))
        expect(added).to_contain_text(helper["id"])  # the member's id, not their e-mail
        pages.check("audit")

        # --- a phone: the admin pages fit its width, nothing scrolls sideways --------------
        page.set_viewport_size({"width": 390, "height": 844})
        for link in ("Audit log", "Members", "API keys"):
            pages.open(link)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390 + 1, link
        pages.check("phone-keys")
        page.set_viewport_size({"width": 1280, "height": 800})

        # --- data export, then the organisation deleted and followed to its receipt ---------
        pages.open("Data & deletion")
        page.get_by_role("button", name="Prepare export").click()
        expect(page.get_by_text("Export ready")).to_be_visible(timeout=60_000)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download zip").click()
        archive = Path(download.value.path()).read_bytes()
        assert zipfile.is_zipfile(io.BytesIO(archive)), archive[:64]
        pages.check("data")
        page.get_by_role("button", name="Delete organisation…").click()
        confirm = page.get_by_role("dialog", name="Delete this organisation?")
        everything = confirm.get_by_role("button", name="Delete everything")
        expect(everything).to_be_disabled()
        confirm.get_by_label("Organisation name").fill(ORG.lower())  # close is not the name
        expect(everything).to_be_disabled()
        confirm.get_by_label("Organisation name").fill(ORG)
        pages.check("delete-confirm")
        everything.click()
        expect(page.get_by_text("Receipt: organisation hash")).to_be_visible(timeout=DELETION_TIMEOUT_MS)
        pages.check("deleted")
        page.get_by_role("button", name="Back to your organisations").click()
        expect(page.get_by_text("You are not a member of any organisation yet")).to_be_visible()
        assert api.get("/members").status_code in (403, 404, 410)
    finally:
        page.screenshot(path=str(artifacts_dir() / "admin-last.png"), full_page=True)
        context.close()
    # Chromium logs each refused request: the two the test provoked (the e-mail, the external
    # admin) and nothing else.
    refused = [e for e in watch.errors if "status of 422" in e]
    assert len(refused) == 2 and len(watch.errors) == 2 and not watch.dialogs, (watch.errors, watch.dialogs)
    assert not pages.violations, pages.violations
