"""Every org route × every kind of caller, generated from the served OpenAPI document.

A route that has no row in ROUTES fails the test, so a new route cannot skip this matrix.
Allowed callers are sent ids that do not exist and bodies that do not validate, so nothing
is changed: their answer only has to show that authorization let them through.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningApp, fresh_source
from tests.e2e.identity_helpers import Org, add_key, add_member, create_org

# The spec under test, written independently of shared/identity/access.py.
ADMIN, MEMBER, EXTERNAL, K_READ, K_WRITE, K_ADMIN = "admin", "member", "external", "key_read", "key_write", "key_admin"
EVERYONE = {ADMIN, MEMBER, EXTERNAL, K_READ, K_WRITE, K_ADMIN}
INTERNAL_READ = {ADMIN, MEMBER, K_READ, K_WRITE, K_ADMIN}
ADMINS = {ADMIN, K_ADMIN}
WORKERS = {ADMIN, MEMBER, K_WRITE, K_ADMIN}
CONNECTOR_MANAGERS = {ADMIN, MEMBER, K_ADMIN}

#: (method, path) → who may call it. Every route under /api/orgs/{orgId} needs a row.
ROUTES: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/orgs/{orgId}"): EVERYONE,
    ("GET", "/api/orgs/{orgId}/members"): INTERNAL_READ,
    ("POST", "/api/orgs/{orgId}/members"): ADMINS,
    ("GET", "/api/orgs/{orgId}/members/{memberId}"): INTERNAL_READ,
    ("PATCH", "/api/orgs/{orgId}/members/{memberId}"): ADMINS,
    ("DELETE", "/api/orgs/{orgId}/members/{memberId}"): ADMINS,
    ("GET", "/api/orgs/{orgId}/keys"): ADMINS,
    ("POST", "/api/orgs/{orgId}/keys"): ADMINS,
    ("DELETE", "/api/orgs/{orgId}/keys/{keyId}"): ADMINS,
    ("GET", "/api/orgs/{orgId}/audit"): ADMINS,
    ("GET", "/api/orgs/{orgId}/runs/{runId}/logs"): EVERYONE,
    ("GET", "/api/orgs/{orgId}/runs/{runId}/logs/failures"): EVERYONE,
    ("DELETE", "/api/orgs/{orgId}/runs/{runId}/logs"): ADMINS,
    ("DELETE", "/api/orgs/{orgId}"): ADMINS,
    ("POST", "/api/orgs/{orgId}/exports"): ADMINS,
    ("GET", "/api/orgs/{orgId}/exports/{exportId}"): ADMINS,
    ("GET", "/api/orgs/{orgId}/exports/{exportId}/download"): ADMINS,
    ("GET", "/api/orgs/{orgId}/connectors"): INTERNAL_READ,
    ("POST", "/api/orgs/{orgId}/connectors"): CONNECTOR_MANAGERS,
    ("GET", "/api/orgs/{orgId}/connectors/{connectorId}"): INTERNAL_READ,
    ("PATCH", "/api/orgs/{orgId}/connectors/{connectorId}"): CONNECTOR_MANAGERS,
    ("DELETE", "/api/orgs/{orgId}/connectors/{connectorId}"): CONNECTOR_MANAGERS,
    ("POST", "/api/orgs/{orgId}/connectors/{connectorId}/test"): CONNECTOR_MANAGERS,
    ("GET", "/api/orgs/{orgId}/connectors/{connectorId}/containers"): INTERNAL_READ,
    ("GET", "/api/orgs/{orgId}/connectors/{connectorId}/people"): INTERNAL_READ,
    ("POST", "/api/orgs/{orgId}/connectors/{connectorId}/consent"): CONNECTOR_MANAGERS,
    ("POST", "/api/orgs/{orgId}/connectors/{connectorId}/consent/callback"): CONNECTOR_MANAGERS,
    # issue 17: any member asks (externals get answers trimmed to what they may read)
    ("POST", "/api/orgs/{orgId}/assistant/ask"): EVERYONE,
    ("GET", "/api/orgs/{orgId}/migrations"): EVERYONE,
    ("POST", "/api/orgs/{orgId}/migrations"): WORKERS,
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}"): EVERYONE,
    ("DELETE", "/api/orgs/{orgId}/migrations/{migrationId}"): WORKERS,
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}/runs"): EVERYONE,
    ("POST", "/api/orgs/{orgId}/migrations/{migrationId}/runs"): WORKERS,
    ("POST", "/api/orgs/{orgId}/migrations/{migrationId}/rollback"): WORKERS,
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}"): EVERYONE,
    ("POST", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}/pause"): WORKERS,
    ("POST", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}/resume"): WORKERS,
    ("POST", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}/cancel"): WORKERS,
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}/report"): EVERYONE,
}

#: Routes outside any org: what an anonymous caller gets.
PUBLIC_ROUTES: dict[tuple[str, str], int] = {
    ("GET", "/api/health"): 200,
    ("GET", "/api/me"): 401,
    ("POST", "/api/orgs"): 401,
    ("GET", "/api/deletions/{jobId}"): 401,
}

CALLERS = [
    ADMIN,
    MEMBER,
    EXTERNAL,
    K_READ,
    K_WRITE,
    K_ADMIN,
    "foreign",
    "foreign_key",
    "deactivated",
    "revoked_key",
    "anonymous",
]


@pytest.fixture(scope="module")
def orgs(running_app: RunningApp, dev_issuer: Any) -> tuple[Org, Org]:
    a = create_org(running_app, dev_issuer, country="DE")
    add_member(running_app, dev_issuer, a, MEMBER)
    add_member(running_app, dev_issuer, a, EXTERNAL, member_type="external")
    add_member(running_app, dev_issuer, a, "deactivated")
    for tag, scopes in ((K_READ, ["read"]), (K_WRITE, ["write"]), (K_ADMIN, ["admin"]), ("revoked_key", ["admin"])):
        add_key(running_app, a, tag, scopes)
    with running_app.client(a.admin_token) as c:
        assert (
            c.patch(
                f"/api/orgs/{a.id}/members/{a.member_ids['deactivated']}", json={"status": "deactivated"}
            ).status_code
            == 200
        )
        assert c.delete(f"/api/orgs/{a.id}/keys/{a.key_ids['revoked_key']}").status_code == 200
    b = create_org(running_app, dev_issuer, country="US")
    # A key of another org in the same region as `a`: its org ids must look missing too.
    neighbour = create_org(running_app, dev_issuer, country="FR")
    a.keys["foreign_key"] = add_key(running_app, neighbour, "neighbour", ["admin"])
    return a, b


def _headers(caller: str, a: Org, b: Org) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "foreign":
        return {"Authorization": f"Bearer {b.admin_token}"}
    if caller in a.keys:
        return {"Authorization": f"Bearer {a.keys[caller]}"}
    return {"Authorization": f"Bearer {a.tokens[caller]}"}


def _url(path: str, org_id: str) -> str:
    # Sub-resources that do not exist: an allowed caller gets their 404, never a change.
    return re.sub(r"\{(\w+)\}", lambda m: org_id if m.group(1) == "orgId" else f"missing-{m.group(1)}", path)


def _served_routes(client: httpx.Client) -> list[tuple[str, str]]:
    spec = client.get("/api/openapi.json").json()
    return [
        (m.upper(), p)
        for p, ops in spec["paths"].items()
        for m in ops
        if m in ("get", "post", "put", "patch", "delete")
    ]


def test_every_served_route_has_a_row(running_app: RunningApp) -> None:
    with running_app.client() as c:
        served = _served_routes(c)
    missing = [r for r in served if r not in ROUTES and r not in PUBLIC_ROUTES]
    stale = [r for r in ROUTES if r not in served]
    assert not missing, f"routes without a cross-tenant row: {missing}"
    assert not stale, f"rows for routes that are not served: {stale}"


def test_public_routes(running_app: RunningApp) -> None:
    with running_app.client() as c:
        for (method, path), status in PUBLIC_ROUTES.items():
            assert c.request(method, path, json={}).status_code == status, path


def _expected(caller: str, allowed: set[str]) -> str:
    if caller == "anonymous" or caller == "revoked_key":
        return "401"
    if caller in ("foreign", "foreign_key"):
        return "404"
    if caller == "deactivated":
        return "403"
    return "allowed" if caller in allowed else "403"


@pytest.mark.parametrize("caller", CALLERS)
def test_matrix(running_app: RunningApp, orgs: tuple[Org, Org], caller: str) -> None:
    a, b = orgs
    failures = []
    for (method, path), allowed in ROUTES.items():
        # Each request from its own address: the failed-authentication throttle is per client.
        with running_app.client(source=fresh_source()) as c:
            r = c.request(
                method,
                _url(path, a.id),
                headers=_headers(caller, a, b),
                json={"__not_a_field__": True} if method in ("POST", "PATCH", "PUT") else None,
            )
            want = _expected(caller, allowed)
            org_hidden = r.status_code == 404 and "organisation not found" in r.text
            if want == "allowed":
                ok = r.status_code in (200, 201, 202, 204, 404, 409, 422) and not org_hidden
            elif want == "404":
                ok = org_hidden
            else:
                ok = r.status_code == int(want)
            if r.status_code >= 400:
                ok = ok and r.headers["content-type"].startswith("application/problem+json")
            if not ok:
                failures.append(f"{method} {path}: {caller} expected {want}, got {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)
