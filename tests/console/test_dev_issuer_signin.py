"""The development issuer as the console's OIDC provider: authorization code + PKCE (S256),
refresh-token rotation, prompt=none, sign-out — and tokens the API's validator accepts."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from starlette.testclient import TestClient

from tools.dev_issuer import DEFAULT_AUDIENCE, DevIssuer

REDIRECT = "http://127.0.0.1:7071/console/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorize_params(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": "ferry-console",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid email",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


@pytest.fixture()
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path, issuer="http://127.0.0.1:8765")


def _sign_in(client: TestClient, challenge: str, email: str = "ada@example.com") -> str:
    page = client.get("/authorize", params=_authorize_params(challenge))
    assert page.status_code == 200 and 'name="email"' in page.text
    assert "script" not in page.text.lower() and "default-src 'none'" in page.headers["content-security-policy"]
    answer = client.post(
        "/authorize", data={**_authorize_params(challenge), "email": email, "action": "sign-in"}, follow_redirects=False
    )
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    query = parse_qs(back.query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def test_code_flow_with_pkce_issues_tokens_for_the_api(issuer: DevIssuer) -> None:
    client = TestClient(issuer.app)
    verifier, challenge = _pkce()
    code = _sign_in(client, challenge)
    r = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "ferry-console",
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*" and r.headers["cache-control"] == "no-store"
    body = r.json()
    key = issuer.public_pem()
    access = jwt.decode(body["access_token"], key, algorithms=["RS256"], audience=DEFAULT_AUDIENCE)
    ident = jwt.decode(body["id_token"], key, algorithms=["RS256"], audience="ferry-console")
    assert access["email"] == "ada@example.com" and access["iss"] == issuer.issuer
    assert ident["nonce"] == "n-1"
    # A code works once.
    again = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "ferry-console",
            "code_verifier": verifier,
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # Refresh rotates: the new refresh token works, the used one does not.
    r2 = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "ferry-console"},
    )
    assert r2.status_code == 200 and r2.json()["refresh_token"] != body["refresh_token"]
    r3 = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "ferry-console"},
    )
    assert r3.status_code == 400
    assert issuer.token_grants == {"authorization_code": 1, "refresh_token": 1}


def test_wrong_verifier_and_bad_requests_are_refused(issuer: DevIssuer) -> None:
    client = TestClient(issuer.app)
    _, challenge = _pkce()
    code = _sign_in(client, challenge)
    other, _ = _pkce()
    r = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "ferry-console",
            "code_verifier": other,
        },
    )
    assert r.status_code == 400 and "PKCE" in r.json()["error_description"]
    no_pkce = _authorize_params(challenge)
    del no_pkce["code_challenge"]
    assert client.get("/authorize", params=no_pkce).status_code == 400
    elsewhere = _authorize_params(challenge, redirect_uri="https://evil.example/cb")
    refused = client.get("/authorize", params=elsewhere, follow_redirects=False)
    assert refused.status_code == 400 and "evil.example" not in refused.headers.get("location", "")


def test_prompt_none_needs_a_session_and_logout_ends_it(issuer: DevIssuer) -> None:
    client = TestClient(issuer.app)
    _, challenge = _pkce()
    silent = client.get("/authorize", params=_authorize_params(challenge, prompt="none"), follow_redirects=False)
    assert parse_qs(urlsplit(silent.headers["location"]).query)["error"] == ["login_required"]
    _sign_in(client, challenge)
    silent = client.get("/authorize", params=_authorize_params(challenge, prompt="none"), follow_redirects=False)
    assert "code" in parse_qs(urlsplit(silent.headers["location"]).query)
    out = client.get(
        "/logout", params={"post_logout_redirect_uri": "http://127.0.0.1:7071/console/"}, follow_redirects=False
    )
    assert out.status_code == 302 and out.headers["location"] == "http://127.0.0.1:7071/console/"
    silent = client.get("/authorize", params=_authorize_params(challenge, prompt="none"), follow_redirects=False)
    assert "login_required" in silent.headers["location"]


def test_sign_in_page_escapes_what_it_echoes(issuer: DevIssuer) -> None:
    client = TestClient(issuer.app)
    _, challenge = _pkce()
    page = client.get("/authorize", params=_authorize_params(challenge, state='"><script>alert(1)</script>'))
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    bad = client.post("/authorize", data={**_authorize_params(challenge), "email": "not-an-email", "action": "sign-in"})
    assert bad.status_code == 400 and "Enter an email address" in bad.text


def test_discovery_names_the_endpoints(issuer: DevIssuer) -> None:
    doc = TestClient(issuer.app).get("/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"].endswith("/authorize") and doc["token_endpoint"].endswith("/token")
    assert doc["code_challenge_methods_supported"] == ["S256"]
