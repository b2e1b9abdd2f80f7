"""The Asana simulator's consent page (``/-/oauth_authorize``): what it refuses before any
redirect, what Allow and Deny send back, and the code it makes — bound to its client, redirect
URI and PKCE challenge, used once."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simulators.asana import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, SeedConfig, create_app
from simulators.common import serve

REDIRECT = "http://127.0.0.1:9/console/oauth/callback"
VERIFIER = "a" * 64
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
GOOD = {
    "client_id": OAUTH_CLIENT_ID,
    "redirect_uri": REDIRECT,
    "response_type": "code",
    "state": "st<>&\"'",
    "code_challenge": CHALLENGE,
    "code_challenge_method": "S256",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[str, Any]]:
    app = create_app(SeedConfig(projects=0, tasks_per_project=0))
    with serve(app) as base:
        yield base, app


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "unknown"},
        {"redirect_uri": "javascript:alert(1)"},
        {"response_type": "token"},
        {"code_challenge_method": "plain"},
    ],
)
def test_the_page_refuses_a_bad_request_without_redirecting(sim: tuple[str, Any], change: dict[str, str]) -> None:
    base, _ = sim
    page = httpx.get(f"{base}/-/oauth_authorize", params={**GOOD, **change})
    assert page.status_code == 400 and "location" not in page.headers
    posted = httpx.post(f"{base}/-/oauth_authorize", data={**GOOD, **change, "decision": "allow", "email": "x@y.z"})
    assert posted.status_code == 400 and "location" not in posted.headers


def test_a_registered_redirect_uri_is_the_only_one(sim: tuple[str, Any]) -> None:
    base, app = sim
    store = app.state.asana_store
    store.oauth_redirect_uris[OAUTH_CLIENT_ID] = ["https://ferry.example/console/oauth/callback"]
    try:
        assert httpx.get(f"{base}/-/oauth_authorize", params=GOOD).status_code == 400
        ok = httpx.get(
            f"{base}/-/oauth_authorize", params={**GOOD, "redirect_uri": "https://ferry.example/console/oauth/callback"}
        )
        assert ok.status_code == 200
    finally:
        store.oauth_redirect_uris.clear()


def test_allow_and_deny_and_the_code_they_make(sim: tuple[str, Any]) -> None:
    base, app = sim
    user = next(iter(app.state.asana_store.users.values()))
    page = httpx.get(f"{base}/-/oauth_authorize", params=GOOD)
    assert page.status_code == 200 and "script-src" not in page.headers["content-security-policy"]
    assert "st<>&" not in page.text  # the state is escaped into the form

    denied = httpx.post(f"{base}/-/oauth_authorize", data={**GOOD, "decision": "deny"})
    assert denied.status_code == 302 and _query(denied.headers["location"]) == {
        "error": "access_denied",
        "state": GOOD["state"],
    }
    nobody = httpx.post(f"{base}/-/oauth_authorize", data={**GOOD, "decision": "allow", "email": "nobody@x.example"})
    assert nobody.status_code == 400

    allowed = httpx.post(f"{base}/-/oauth_authorize", data={**GOOD, "decision": "allow", "email": user.email})
    assert allowed.status_code == 302 and allowed.headers["location"].startswith(REDIRECT + "?")
    back = _query(allowed.headers["location"])
    assert back["state"] == GOOD["state"]
    form = {
        "grant_type": "authorization_code",
        "code": back["code"],
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    other_redirect = httpx.post(f"{base}/-/oauth_token", data={**form, "redirect_uri": "http://127.0.0.1:9/else"})
    assert other_redirect.status_code == 400  # (the simulator spends a code at its first exchange attempt)
    again = httpx.post(f"{base}/-/oauth_authorize", data={**GOOD, "decision": "allow", "email": user.email})
    form["code"] = _query(again.headers["location"])["code"]
    token = httpx.post(f"{base}/-/oauth_token", data=form)
    assert token.status_code == 200, token.text
    assert token.json()["refresh_token"] and token.json()["data"]["email"] == user.email
    assert httpx.post(f"{base}/-/oauth_token", data=form).status_code == 400  # used once
