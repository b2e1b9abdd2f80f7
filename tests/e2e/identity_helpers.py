"""Helpers for e2e tests that need signed-in users, orgs, members and keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import AUDIENCE
from tests.e2e.conftest import RunningApp


def email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"


def token(issuer: Any, address: str) -> str:
    return issuer.mint(address, audience=AUDIENCE)


@dataclass
class Org:
    id: str
    admin_token: str
    tokens: dict[str, str] = field(default_factory=dict)
    member_ids: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, str] = field(default_factory=dict)


def create_org(app: RunningApp, issuer: Any, *, country: str = "DE", name: str = "Acme") -> Org:
    admin = email("admin")
    tok = token(issuer, admin)
    with app.client(tok) as c:
        r = c.post("/api/orgs", json={"name": name, "country": country})
        assert r.status_code == 201, r.text
        org = Org(r.json()["id"], tok, {"admin": tok})
        org.member_ids["admin"] = c.get(f"/api/orgs/{org.id}").json()["you"]["id"]
    return org


def add_member(
    app: RunningApp, issuer: Any, org: Org, tag: str, *, role: str = "member", member_type: str = "internal"
) -> str:
    address = email(tag)
    with app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/members", json={"email": address, "role": role, "memberType": member_type})
        assert r.status_code == 201, r.text
        org.member_ids[tag] = r.json()["id"]
    org.tokens[tag] = token(issuer, address)
    return org.tokens[tag]


def add_key(app: RunningApp, org: Org, tag: str, scopes: list[str]) -> str:
    with app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/keys", json={"name": tag, "scopes": scopes})
        assert r.status_code == 201, r.text
        org.keys[tag] = r.json()["key"]
        org.key_ids[tag] = r.json()["id"]
    return org.keys[tag]


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/problem+json"), (r.status_code, r.text)
    return r.json()
