"""The HTTP contract at the edge, through the local runner (issue 18, item 7): odd methods and
control characters in paths, 405s with a full `Allow`, no redirect built from a forged
`Host`, 404 for the runs of a missing or foreign migration, unknown body fields and unsafe
names refused naming the field, and oversized query strings and headers — every answer a
problem+json, never a framework's default page."""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, create_org, problem

ODD_METHODS = ["TRACE", "QUERY", "PROPFIND", "FERRY"]
#: Control characters that must not reach a store nor fall through every route.
CONTROL = ["%0A", "%0D", "%00", "%01", "%1B", "%7F", "%0D%0A"]
UNKNOWN = "ferryUnknownField"
UNSAFE_NAMES = {
    "nul": "Acme\x00",
    "bidi-override": "Acme\u202egnp.exe",
    "bidi-isolate": "Acme\u2066x",
    "newline": "Ac\nme",
    "escape": "Ac\x1bme",
    "line-separator": "Ac\u2028me",
}


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    return create_org(running_app, dev_issuer)


def _connector(c: httpx.Client, org_id: str, name: str) -> str:
    # Never called on: the vendor address only has to be a well-formed loopback URL.
    r = c.post(
        f"/api/orgs/{org_id}/connectors",
        json={
            "name": name,
            "connection": {
                "kind": "trello",
                "base_url": "http://127.0.0.1:9/1",
                "auth": {"type": "api_key_token", "api_key": "key0123456789", "token": "token0123456789"},
            },
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _migration(c: httpx.Client, org_id: str) -> str:
    source, destination = _connector(c, org_id, "source"), _connector(c, org_id, "destination")
    r = c.post(
        f"/api/orgs/{org_id}/migrations",
        json={
            "name": "contract",
            "sourceConnectorId": source,
            "destinationConnectorId": destination,
            "scopes": [{"id": "board1"}],
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _raw(base_url: str, request: bytes) -> bytes:
    """One request over a plain socket (no client library shapes or refuses it); the answer's head and body."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30) as s:
        s.sendall(request)
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    return answer


@pytest.mark.parametrize("method", ODD_METHODS)
def test_odd_methods_are_405_problems_with_allow(running_app: RunningApp, org: Org, method: str) -> None:
    with running_app.client(org.admin_token) as c:
        for path in ("/api/health", f"/api/orgs/{org.id}", "/api/no-such-route"):
            r = c.request(method, path)
            assert r.status_code == 405, (method, path, r.status_code, r.text[:200])
            assert problem(r)["type"] == "urn:ferry:problem:method-not-allowed"
            allow = {m.strip() for m in r.headers["allow"].split(",")}
            assert "GET" in allow and method not in allow, r.headers["allow"]


def test_a_405_allows_every_method_routed_on_the_path(running_app: RunningApp, org: Org) -> None:
    with running_app.client(org.admin_token) as c:
        on_org = c.put(f"/api/orgs/{org.id}")
        on_runs = c.delete(f"/api/orgs/{org.id}/migrations/mig_x/runs")
        on_health = c.patch("/api/health")
    for r, allow in ((on_org, "GET, DELETE"), (on_runs, "GET, POST"), (on_health, "GET")):
        assert r.status_code == 405, r.text
        assert problem(r)["type"] == "urn:ferry:problem:method-not-allowed"
        assert r.headers["allow"] == allow


@pytest.mark.parametrize("char", CONTROL)
def test_control_characters_in_paths_are_problems(running_app: RunningApp, org: Org, char: str) -> None:
    with running_app.client(org.admin_token) as c:
        in_id = c.get(f"/api/orgs/{org.id}/connectors/con{char}x")
        in_org = c.get(f"/api/orgs/org{char}x")
        unrouted = c.get(f"/api/no{char}where")
        in_console = c.get(f"/console/a{char}b")
    for r in (in_id, in_org):
        assert r.status_code == 422, (char, r.status_code, r.text[:200])
        assert problem(r)["errors"][0]["field"] in ("path.connectorId", "path.orgId")
    assert unrouted.status_code == 404 and problem(unrouted)["type"] == "urn:ferry:problem:not-found"
    # The console answers its page for any path below it (the browser's router decides), never a framework 404.
    assert in_console.status_code == 200 and in_console.headers["content-type"].startswith("text/html")


def test_a_newline_in_the_path_reaches_ferry(running_app: RunningApp) -> None:
    # Sent as raw bytes: the worker's catch-all route used to miss a decoded %0A and answer its
    # framework's {"detail": "Not Found"} without running Ferry at all.
    answer = _raw(running_app.base_url, b"GET /api/nothing%0Ahere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]
    assert b"application/problem+json" in answer and b"urn:ferry:problem:not-found" in answer


@pytest.mark.parametrize("path", ["/api/me/", "/api/health/", "/api/orgs/"])
def test_a_trailing_slash_never_redirects_to_the_host_header(running_app: RunningApp, org: Org, path: str) -> None:
    with running_app.client(org.admin_token) as c:
        r = c.get(path, headers={"Host": "evil.example"})
    assert r.status_code == 404, (r.status_code, r.headers)
    assert "location" not in r.headers
    assert problem(r)["type"] == "urn:ferry:problem:not-found"


def test_runs_of_a_missing_or_foreign_migration_are_404(running_app: RunningApp, org: Org, dev_issuer: Any) -> None:
    other = create_org(running_app, dev_issuer)
    with running_app.client(other.admin_token) as c:
        foreign = _migration(c, other.id)
        assert c.get(f"/api/orgs/{other.id}/migrations/{foreign}/runs").json() == {"items": [], "continuation": None}
    with running_app.client(org.admin_token) as c:
        for migration in ("mig_missing0000000000", foreign):
            r = c.get(f"/api/orgs/{org.id}/migrations/{migration}/runs")
            assert r.status_code == 404, (migration, r.status_code, r.text[:200])
            assert problem(r)["type"] == "urn:ferry:problem:not-found"


def _fill(path: str, org_id: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: org_id if m.group(1) == "orgId" else "abc_0123456789", path)


def test_every_request_body_refuses_an_unknown_field_by_name(running_app: RunningApp, dev_issuer: Any) -> None:
    # An org of its own: DELETE /api/orgs/{orgId} takes a body, and must refuse this one.
    own = create_org(running_app, dev_issuer, name="Unknown fields")
    with running_app.client(own.admin_token) as c:
        spec = c.get("/api/openapi.json").json()
        operations = [
            (method.upper(), path)
            for path, ops in spec["paths"].items()
            for method, op in ops.items()
            if isinstance(op, dict) and "requestBody" in op
        ]
        assert len(operations) >= 10, operations
        missed = []
        for method, path in operations:
            r = c.request(method, _fill(path, own.id), json={UNKNOWN: 1})
            fields = {e.get("field") for e in r.json().get("errors", [])} if r.status_code == 422 else set()
            if UNKNOWN not in fields or not r.headers["content-type"].startswith("application/problem+json"):
                missed.append(f"{method} {path}: {r.status_code} {r.text[:150]}")
        assert c.get(f"/api/orgs/{own.id}").status_code == 200  # the deletion body was refused too
    assert not missed, "\n".join(missed)


def test_unknown_fields_in_nested_objects_are_named(running_app: RunningApp, org: Org) -> None:
    with running_app.client(org.admin_token) as c:
        source, destination = _connector(c, org.id, "nested source"), _connector(c, org.id, "nested destination")
        r = c.post(
            f"/api/orgs/{org.id}/migrations",
            json={
                "name": "nested",
                "sourceConnectorId": source,
                "destinationConnectorId": destination,
                "scopes": [{"id": "board1", "colour": "red"}],
                "userMapping": {"emails": {}, "default": "x@example.com"},
            },
        )
    assert r.status_code == 422, r.text
    assert {e["field"] for e in problem(r)["errors"]} == {"scopes.0.colour", "userMapping.default"}


@pytest.mark.parametrize("kind", sorted(UNSAFE_NAMES))
def test_names_with_control_or_bidi_characters_are_refused(running_app: RunningApp, org: Org, kind: str) -> None:
    name = UNSAFE_NAMES[kind]
    with running_app.client(org.admin_token) as c:
        source = _connector(c, org.id, f"names {kind}")
        answers = {
            "org": c.post("/api/orgs", json={"name": name, "country": "DE"}),
            "key": c.post(f"/api/orgs/{org.id}/keys", json={"name": name, "scopes": ["read"]}),
            "connector": c.post(
                f"/api/orgs/{org.id}/connectors",
                json={
                    "name": name,
                    "connection": {
                        "kind": "trello",
                        "auth": {"type": "api_key_token", "api_key": "k0123456789", "token": "t0123456789"},
                    },
                },
            ),
            "connector rename": c.patch(f"/api/orgs/{org.id}/connectors/{source}", json={"name": name}),
            "migration": c.post(
                f"/api/orgs/{org.id}/migrations",
                json={
                    "name": name,
                    "sourceConnectorId": source,
                    "destinationConnectorId": source,
                    "destinationWorkspace": "w1",
                    "scopes": [{"id": "board1"}],
                },
            ),
        }
        renamed = c.get(f"/api/orgs/{org.id}/connectors/{source}").json()["name"]
    for what, r in answers.items():
        assert r.status_code == 422, (what, r.status_code, r.text[:200])
        body = problem(r)
        assert [e["field"] for e in body["errors"]] == ["name"], (what, body)
        assert name not in r.text  # the character is named by its code point, never echoed
        assert re.search(r"U\+[0-9A-F]{4}", body["errors"][0]["message"]), body
    assert renamed == f"names {kind}"


def test_names_in_any_script_and_emoji_are_kept(running_app: RunningApp, org: Org, dev_issuer: Any) -> None:
    name = "שלום 👩\u200d👩\u200d👧 Équipe"
    with running_app.client(org.admin_token) as c:
        created = c.post("/api/orgs", json={"name": f"  {name} ", "country": "DE"})
        key = c.post(f"/api/orgs/{org.id}/keys", json={"name": name, "scopes": ["read"]})
    assert created.status_code == 201 and created.json()["name"] == name, created.text
    assert key.status_code == 201 and key.json()["name"] == name, key.text


def test_an_oversized_query_string_is_a_414_problem(running_app: RunningApp) -> None:
    with running_app.client() as c:
        fits = c.get("/api/health", params={"q": "a" * 4000})
        too_long = c.get("/api/health", params={"q": "a" * 9000})
    assert fits.status_code == 200, fits.text
    assert too_long.status_code == 414, too_long.text[:200]
    assert problem(too_long)["type"] == "urn:ferry:problem:uri-too-long"
    answer = _raw(running_app.base_url, b"GET /api/health?q=" + b"a" * 2_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert re.match(rb"HTTP/1.1 (414|431) ", answer), answer[:200]
    assert b"application/problem+json" in answer


def test_oversized_headers_are_a_431_problem(running_app: RunningApp) -> None:
    with running_app.client() as c:
        fits = c.get("/api/health", headers={"X-Big": "a" * 16_000})
        too_big = c.get("/api/health", headers={"X-Big": "a" * 40_000})
    assert fits.status_code == 200, fits.text
    assert too_big.status_code == 431, too_big.text[:200]
    assert problem(too_big)["type"] == "urn:ferry:problem:header-fields-too-large"
    # Beyond what the runner reads at all (1 MiB of head) it answers the same problem itself.
    answer = _raw(
        running_app.base_url,
        b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-Big-%d: %s\r\n" % (n, b"a" * 8000) for n in range(400))
        + b"\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer and b"header-fields-too-large" in answer
