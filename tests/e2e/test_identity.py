"""Organisations, members, roles, API keys and audit through the real API and runner."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import RunningApp, fresh_source
from tests.e2e.identity_helpers import add_key, add_member, create_org, email, problem, token


def test_signed_in_user_creates_an_org_and_becomes_admin(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer, country="FR", name="Équipe Ω")
    with running_app.client(org.admin_token) as c:
        me = c.get("/api/me").json()
        shown = c.get(f"/api/orgs/{org.id}").json()
    assert org.id.startswith("org_eu_")
    assert shown["region"] == "eu" and shown["name"] == "Équipe Ω" and shown["country"] == "FR"
    assert shown["you"]["role"] == "admin" and "members.manage" in shown["you"]["allowed"]
    assert [o["id"] for o in me["organisations"]] == [org.id]


@pytest.mark.parametrize(
    ("country", "region"), [("GB", "eu"), ("CH", "eu"), ("NO", "eu"), ("US", "us"), ("JP", "us"), ("br", "us")]
)
def test_country_decides_region(running_app: RunningApp, dev_issuer: Any, country: str, region: str) -> None:
    assert create_org(running_app, dev_issuer, country=country).id.startswith(f"org_{region}_")


def test_bad_org_input_is_422_naming_the_field(running_app: RunningApp, dev_issuer: Any) -> None:
    with running_app.client(token(dev_issuer, email("x"))) as c:
        bad_country = c.post("/api/orgs", json={"name": "A", "country": "XX"})
        no_name = c.post("/api/orgs", json={"country": "DE"})
        bad_region = c.post("/api/orgs", json={"name": "A", "country": "DE", "region": "mars"})
    assert bad_country.status_code == 422 and "country" in problem(bad_country)["detail"]
    assert no_name.status_code == 422 and problem(no_name)["errors"][0]["field"] == "name"
    assert bad_region.status_code == 422


def test_anonymous_and_forged_tokens_are_401(running_app: RunningApp, dev_issuer: Any) -> None:
    forged = dev_issuer.mint(email("x"), audience="someone-else")
    with running_app.client(source=fresh_source()) as c:
        assert c.get("/api/me").status_code == 401
        r = c.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and problem(r)["type"] == "urn:ferry:problem:unauthenticated"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_member_lifecycle_and_last_admin_rule(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    member_token = add_member(running_app, dev_issuer, org, "bob")
    bob = org.member_ids["bob"]
    admin = org.member_ids["admin"]
    with running_app.client(org.admin_token) as c:
        assert c.patch(f"/api/orgs/{org.id}/members/{admin}", json={"role": "member"}).status_code == 409
        assert c.delete(f"/api/orgs/{org.id}/members/{admin}").status_code == 409
        dup = c.post(
            f"/api/orgs/{org.id}/members", json={"email": "BOB@x.example", "role": "admin", "memberType": "external"}
        )
        assert dup.status_code == 422  # an external admin is refused
        assert (
            c.patch(f"/api/orgs/{org.id}/members/{bob}", json={"status": "deactivated"}).json()["status"]
            == "deactivated"
        )
    with running_app.client(member_token) as c:
        refused = c.get(f"/api/orgs/{org.id}")
    assert refused.status_code == 403 and "deactivated" in problem(refused)["detail"]
    with running_app.client(org.admin_token) as c:
        assert (
            c.patch(f"/api/orgs/{org.id}/members/{bob}", json={"status": "active", "role": "admin"}).status_code == 200
        )
        # With bob an active admin, the first admin may step down.
        assert c.patch(f"/api/orgs/{org.id}/members/{admin}", json={"role": "member"}).json()["role"] == "member"
    with running_app.client(member_token) as c:
        assert c.delete(f"/api/orgs/{org.id}/members/{admin}").status_code == 204
        assert c.get(f"/api/orgs/{org.id}/members/{admin}").status_code == 404
    with running_app.client(org.admin_token) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 404  # removed: the org is gone for them


def test_api_keys_are_shown_once_hashed_and_revocable(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    key = add_key(running_app, org, "ci", ["read"])
    assert key.startswith("ferry_") and len(key) == 48
    with running_app.client(org.admin_token) as c:
        listed = c.get(f"/api/orgs/{org.id}/keys").json()["items"]
    assert key not in str(listed) and listed[0]["prefix"] == key[:18]
    with running_app.client(key) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 200
    with running_app.client() as c:
        assert c.get(f"/api/orgs/{org.id}", headers={"X-Ferry-Key": key}).status_code == 200
    with running_app.client(org.admin_token) as c:
        used = c.get(f"/api/orgs/{org.id}/keys").json()["items"][0]
        assert used["lastUsedAt"] is not None
        assert c.delete(f"/api/orgs/{org.id}/keys/{org.key_ids['ci']}").json()["revokedAt"]
    with running_app.client(key) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 401


def test_audit_records_security_events_for_admins_only(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    member_token = add_member(running_app, dev_issuer, org, "carol")
    add_key(running_app, org, "bot", ["write"])
    with running_app.client(member_token) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 200  # carol's first sign-in
        assert c.get(f"/api/orgs/{org.id}/audit").status_code == 403
    with running_app.client(org.admin_token) as c:
        c.delete(f"/api/orgs/{org.id}/keys/{org.key_ids['bot']}")
        seen: list[dict[str, Any]] = []
        token_ = None
        while True:
            r = c.get(
                f"/api/orgs/{org.id}/audit", params={"pageSize": 2, **({"continuation": token_} if token_ else {})}
            )
            assert r.status_code == 200, r.text
            seen += r.json()["items"]
            token_ = r.json()["continuation"]
            if not token_:
                break
    actions = [e["action"] for e in seen]
    for expected in ("org.created", "member.added", "key.created", "key.revoked", "signin"):
        assert expected in actions, actions
    assert actions.index("key.revoked") < actions.index("key.created")  # newest first
    assert all(e["actor"] and e["at"] for e in seen)
    assert any(e["userAgent"] and e["ip"] for e in seen)


def test_repeated_failed_sign_ins_get_429(running_app: RunningApp, dev_issuer: Any) -> None:
    with running_app.client(source=fresh_source()) as c:
        codes = [c.get("/api/me", headers={"Authorization": "Bearer nonsense"}).status_code for _ in range(25)]
        last = c.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    assert codes[0] == 401 and 429 in codes
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1


def test_guessing_api_keys_gets_429(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    with running_app.client(source=fresh_source()) as c:
        codes = [
            c.get(f"/api/orgs/{org.id}", headers={"X-Ferry-Key": "ferry_" + "A" * 42}).status_code for _ in range(25)
        ]
    assert codes[0] == 401 and codes[-1] == 429
