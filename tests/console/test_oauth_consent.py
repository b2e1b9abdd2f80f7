"""An Asana connector signed in with an OAuth app, end to end in headless Chromium: the
connector is added in the console with the app's credentials only, "Sign in with Asana" opens
the simulator's consent page, Allow sends the browser back to the console, which (signed in
again silently) hands code and state to the API; the refresh token is then sealed in the
connector and the connector's test passes as the consenting Asana user. Deny is shown as
such. Through the API: a state serves once, only its caller may finish it, and a code
exchanged without the PKCE verifier is refused by the vendor."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simulators.asana import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import serve
from tests.conftest import AUDIENCE
from tests.console.conftest import ConsoleApp, PageWatch
from tests.console.test_journey import EMAIL, Journey

OTHER = "colleague@console.example"


@pytest.fixture(scope="module")
def asana() -> Iterator[tuple[str, Any]]:
    app = asana_app(AsanaSeed(projects=1, tasks_per_project=0))
    with serve(app) as base:
        yield base, app


def _allow(sim: str, authorize_url: str, email: str, decision: str = "allow") -> dict[str, str]:
    """What the consent page's form posts; the query of the redirect it answers."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    r = httpx.post(f"{sim}/-/oauth_authorize", data={**query, "email": email, "decision": decision})
    assert r.status_code == 302, r.text
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


def test_oauth_app_consent_in_the_browser(
    console_app: ConsoleApp, browser: Any, dev_issuer: Any, asana: tuple[str, Any]
) -> None:
    from playwright.sync_api import expect

    sim, sim_app = asana
    store = sim_app.state.asana_store
    consenting = next(iter(store.users.values()))
    token = dev_issuer.mint(EMAIL, audience=AUDIENCE)
    api = httpx.Client(base_url=console_app.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    org = api.post("/api/orgs", json={"name": "Consent Org", "country": "NL"}).raise_for_status().json()
    api.post(
        f"/api/orgs/{org['id']}/members", json={"email": OTHER, "role": "member", "memberType": "internal"}
    ).raise_for_status()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
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
        page.goto(f"{console_app.base_url}/console/orgs/{org['id']}/connectors")

        # --- the connector: the app's credentials only ------------------------------------
        add = page.get_by_role("region", name="Add a connector")
        add.get_by_label("Connector name").fill("Asana by OAuth")
        add.get_by_label("Tool").select_option("asana")
        add.get_by_label("Sign-in method").select_option("oauth_app")
        add.get_by_label("Client ID").fill(OAUTH_CLIENT_ID)
        add.get_by_label("Client secret (secret)").fill(OAUTH_CLIENT_SECRET)
        add.get_by_text("Advanced").click()
        add.get_by_label("API base URL override").fill(f"{sim}/api/1.0")
        add.get_by_role("button", name="Add connector").click()
        card = page.get_by_role("listitem", name="Connector Asana by OAuth")
        expect(card.get_by_text("Not connected yet")).to_be_visible()
        j.check("o1-oauth-connector")

        # --- Deny: nothing changes --------------------------------------------------------
        card.get_by_role("button", name="Sign in with Asana").click()
        page.wait_for_url(re.compile(re.escape(sim) + r"/-/oauth_authorize\?"))
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_role("alert")).to_have_text(re.compile(r"did not grant access \(access_denied\)"))
        j.check("o2-consent-denied")
        page.get_by_role("link", name="Back to the connectors").click()

        # --- Allow: back in the console, connected ----------------------------------------
        card.get_by_role("button", name="Sign in with Asana").click()
        page.wait_for_url(re.compile(re.escape(sim) + r"/-/oauth_authorize\?"))
        asked = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["redirect_uri"] == f"{console_app.base_url}/console/oauth/callback"
        assert asked["state"].startswith(f"{org['id']}.")
        with page.expect_request(re.compile(r"/console/oauth/callback\?code=")) as back:
            page.get_by_label("Your Asana e-mail").fill(consenting.email)
            page.get_by_role("button", name="Allow").click()
        returned = {k: v[0] for k, v in parse_qs(urlsplit(back.value.url).query).items()}
        expect(page.get_by_role("heading", name="Connectors", level=1)).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="is connected")).to_be_visible()
        assert "code=" not in page.url
        card = page.get_by_role("listitem", name="Connector Asana by OAuth")
        expect(card.get_by_text("Not connected yet")).to_have_count(0)
        expect(card.get_by_role("button", name="Sign in with Asana again")).to_be_visible()
        card.get_by_role("button", name="Test").click()
        expect(card.get_by_role("status")).to_contain_text("connected")
        expect(card.get_by_role("status")).to_contain_text(consenting.name)
        j.check("o3-consent-connected")
    finally:
        page.screenshot(path=str(j.shots / "consent-last.png"), full_page=True)
        context.close()

    try:
        connector = next(
            c
            for c in api.get(f"/api/orgs/{org['id']}/connectors").raise_for_status().json()["items"]
            if c["name"] == "Asana by OAuth"
        )
        assert "auth.refresh_token" in connector["secretFields"]
        assert not any(v == consenting.gid for v in connector["connection"].values())
        base = f"/api/orgs/{org['id']}/connectors/{connector['id']}/consent"
        # the state the browser used is spent
        again = api.post(f"{base}/callback", json=returned)
        assert again.status_code == 422 and again.json()["errors"][0]["field"] == "state", again.text

        # a state serves its own caller only, and once: the colleague's attempt spends it
        started = api.post(base, json={}).raise_for_status().json()
        answer = _allow(sim, started["authorizeUrl"], consenting.email)
        colleague = httpx.Client(
            base_url=console_app.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {dev_issuer.mint(OTHER, audience=AUDIENCE)}"},
        )
        with colleague:
            theirs = colleague.post(f"{base}/callback", json=answer)
        assert theirs.status_code == 403, theirs.text
        mine = api.post(f"{base}/callback", json=answer)
        assert mine.status_code == 422, mine.text
        # a redirect URI that is neither the connector's nor this console's is refused
        elsewhere = api.post(base, json={"redirectUri": "https://attacker.example/callback"})
        assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "redirectUri"
        # a PAT connector has no consent step
        pat_connection = {"kind": "asana", "base_url": f"{sim}/api/1.0", "auth": {"type": "pat", "token": "x"}}
        pat = api.post(f"/api/orgs/{org['id']}/connectors", json={"name": "pat", "connection": pat_connection})
        pat.raise_for_status()
        assert api.post(f"/api/orgs/{org['id']}/connectors/{pat.json()['id']}/consent", json={}).status_code == 422

        # the vendor side of PKCE: a code is only exchanged with the verifier of its challenge
        verifier = "v" * 64
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        url = (
            f"{sim}/-/oauth_authorize?client_id={OAUTH_CLIENT_ID}&redirect_uri=http://127.0.0.1/cb"
            f"&response_type=code&state=s&code_challenge={challenge}&code_challenge_method=S256"
        )
        code = _allow(sim, url, consenting.email)["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1/cb",
            "client_id": OAUTH_CLIENT_ID,
            "client_secret": OAUTH_CLIENT_SECRET,
            "code_verifier": "w" * 64,
        }
        refused = httpx.post(f"{sim}/-/oauth_token", data=form)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    finally:
        api.close()
    assert not watch.dialogs, watch.dialogs
    assert not watch.errors, watch.errors
    assert not j.violations, j.violations
