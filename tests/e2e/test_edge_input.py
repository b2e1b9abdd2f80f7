"""Odd input at the edge: ids no store could hold and continuation tokens Ferry did not
issue are 4xx problems at once, never a 500 (or a 500 after minutes of storage retries)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from functions.http_api.ids import ID_PATTERN
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, create_org, problem

# A path with %0A reaches Ferry too: the worker's catch-all route takes a newline since
# front_door registers a `path` convertor that does (issue 18, item 7; test_http_contract.py).
BAD_IDS = {
    "control": "run\x01x",
    "newline": "run\nx",
    "nul": "run\x00x",
    "question-mark": "run?x=1",
    "bidi": "run\u202ex",
    "space": "run x",
    "30KB": "r" * 30_000,  # two in one path; httpx refuses URLs over 64 KiB
}

#: Every route with an id below the org, as `{name}` placeholders (ids from the OpenAPI document).
ID_ROUTES = [
    ("GET", "/api/orgs/{orgId}/runs/{runId}/logs"),
    ("GET", "/api/orgs/{orgId}/runs/{runId}/logs/failures"),
    ("DELETE", "/api/orgs/{orgId}/runs/{runId}/logs"),
    ("GET", "/api/orgs/{orgId}/connectors/{connectorId}"),
    ("GET", "/api/orgs/{orgId}/connectors/{connectorId}/containers"),
    ("POST", "/api/orgs/{orgId}/connectors/{connectorId}/test"),
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}/runs"),
    ("GET", "/api/orgs/{orgId}/migrations/{migrationId}/runs/{runId}"),
    ("GET", "/api/orgs/{orgId}/members/{memberId}"),
    ("DELETE", "/api/orgs/{orgId}/keys/{keyId}"),
    ("GET", "/api/orgs/{orgId}/exports/{exportId}"),
]


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    return create_org(running_app, dev_issuer)


def _url(path: str, org_id: str, bad: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: org_id if m.group(1) == "orgId" else quote(bad, safe=""), path)


@pytest.mark.parametrize("kind", sorted(BAD_IDS))
def test_ids_outside_the_grammar_are_422_naming_the_parameter(running_app: RunningApp, org: Org, kind: str) -> None:
    bad = BAD_IDS[kind]
    failures = []
    with running_app.client(org.admin_token) as c:
        for method, path in ID_ROUTES:
            r = c.request(method, _url(path, org.id, bad))
            if r.status_code != 422 or not r.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{method} {path}: {r.status_code} {r.text[:100]}")
                continue
            fields = {e["field"] for e in r.json()["errors"]}
            if not fields & {
                "path.runId",
                "path.connectorId",
                "path.migrationId",
                "path.memberId",
                "path.keyId",
                "path.exportId",
            }:
                failures.append(f"{method} {path}: errors name {fields}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", ["nul", "question-mark", "30KB"])
def test_odd_org_and_job_ids_are_problems(running_app: RunningApp, org: Org, kind: str) -> None:
    bad = quote(BAD_IDS[kind], safe="")
    with running_app.client(org.admin_token) as c:
        as_org = c.get(f"/api/orgs/{bad}")
        as_job = c.get(f"/api/deletions/{bad}", headers={"X-Ferry-Job-Token": "x"})
    for r in (as_org, as_job):
        assert r.status_code == 422, (r.status_code, r.text[:200])
        assert problem(r)["type"] == "urn:ferry:problem:validation"


def test_every_path_parameter_declares_the_id_grammar(running_app: RunningApp) -> None:
    with running_app.client() as c:
        spec = c.get("/api/openapi.json").json()
    params = [
        (path, method, p)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p.get("in") == "path"
    ]
    assert params
    loose = [
        f"{m.upper()} {path} {p['name']}"
        for path, m, p in params
        if p["schema"].get("pattern") != ID_PATTERN or p["schema"].get("maxLength") != 100
    ]
    assert not loose, loose


@pytest.mark.parametrize("token", ["TRUE", "eyJ0b2tlbiI6IitSSUQ6fmFiYyJ9", "c1.e30.AAAA"])
def test_continuation_tokens_ferry_did_not_issue_are_422(running_app: RunningApp, org: Org, token: str) -> None:
    with running_app.client(org.admin_token) as c:
        for path in ("keys", "members", "audit", "connectors", "migrations"):
            r = c.get(f"/api/orgs/{org.id}/{path}", params={"continuation": token})
            assert r.status_code == 422, (path, r.status_code, r.text[:200])
            assert problem(r)["errors"][0]["field"] == "continuation"


def test_a_list_token_of_one_org_is_refused_by_another(running_app: RunningApp, dev_issuer: Any) -> None:
    first, second = create_org(running_app, dev_issuer), create_org(running_app, dev_issuer)
    with running_app.client(first.admin_token) as c:
        for name in ("a", "b", "c"):
            assert c.post(f"/api/orgs/{first.id}/keys", json={"name": name, "scopes": ["read"]}).status_code == 201
        token = c.get(f"/api/orgs/{first.id}/keys", params={"pageSize": 1}).json()["continuation"]
    assert token
    with running_app.client(second.admin_token) as c:
        r = c.get(f"/api/orgs/{second.id}/keys", params={"pageSize": 1, "continuation": token})
    assert r.status_code == 422 and problem(r)["errors"][0]["field"] == "continuation"
