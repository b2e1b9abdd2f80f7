"""A client that retries a create after a lost answer creates nothing twice (issue 18, item 11):
every creating POST takes `Idempotency-Key`; same key and body → the first answer again,
another body → 409 problem; keys are per organisation (per person for new organisations)."""

from __future__ import annotations

import uuid
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
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import create_org, email, problem, token

TRELLO_KEY, TRELLO_TOKEN = "idemkey0123456789", "idemtoken0123456789"


@pytest.fixture(scope="module")
def vendors() -> Iterator[tuple[str, str]]:
    trello = trello_app(
        TrelloSeed(
            boards=2,
            cards_per_board=2,
            members=2,
            attachment_sizes=(2048,),
            api_key=TRELLO_KEY,
            extra_tokens={TRELLO_TOKEN: "owner"},
        )
    )
    asana = asana_app(AsanaSeed(projects=0, tasks_per_project=0))
    with serve(trello) as t, serve(asana) as a:
        yield t, a


def _twice(c: httpx.Client, path: str, body: dict[str, Any]) -> tuple[httpx.Response, httpx.Response]:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = c.post(path, json=body, headers=key)
    # The client lost the first answer and retries: same key, same body (other spelling of the JSON).
    again = c.post(
        path,
        content=httpx.Request("POST", "/", json=dict(reversed(body.items()))).content,
        headers={**key, "Content-Type": "application/json"},
    )
    assert first.status_code in (201, 202), first.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.status_code == first.status_code, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    return first, again


def _ids(c: httpx.Client, path: str) -> list[str]:
    return [x["id"] for x in c.get(path, params={"pageSize": 200}).json()["items"]]


def test_every_create_answers_a_retry_with_the_first_answer(
    running_app: RunningApp, dev_issuer: Any, vendors: tuple[str, str]
) -> None:
    trello, asana = vendors
    person = token(dev_issuer, email("idem"))
    with running_app.client(person) as c:
        org_first, _ = _twice(c, "/api/orgs", {"name": "Idem Co", "country": "FR"})
        org = org_first.json()["id"]
        assert [o["id"] for o in c.get("/api/me").json()["organisations"]] == [org]
        base = f"/api/orgs/{org}"

        src, _ = _twice(
            c,
            f"{base}/connectors",
            {
                "name": "Trello",
                "connection": {
                    "kind": "trello",
                    "base_url": f"{trello}/1",
                    "auth": {"type": "api_key_token", "api_key": TRELLO_KEY, "token": TRELLO_TOKEN},
                },
            },
        )
        dst, _ = _twice(
            c,
            f"{base}/connectors",
            {
                "name": "Asana",
                "connection": {
                    "kind": "asana",
                    "base_url": f"{asana}/api/1.0",
                    "auth": {"type": "pat", "token": ASANA_TOKEN},
                },
            },
        )
        assert sorted(_ids(c, f"{base}/connectors")) == sorted([src.json()["id"], dst.json()["id"]])

        board = next(
            x
            for x in c.get(f"{base}/connectors/{src.json()['id']}/containers").json()["items"]
            if x["kind"] != "workspace"
        )
        workspace = next(
            x
            for x in c.get(f"{base}/connectors/{dst.json()['id']}/containers").json()["items"]
            if x["kind"] == "workspace"
        )
        mig, _ = _twice(
            c,
            f"{base}/migrations",
            {
                "name": "Idem",
                "sourceConnectorId": src.json()["id"],
                "destinationConnectorId": dst.json()["id"],
                "scopes": [{"id": board["id"]}],
                "destinationWorkspace": workspace["id"],
            },
        )
        assert _ids(c, f"{base}/migrations") == [mig.json()["id"]]

        runs = f"{base}/migrations/{mig.json()['id']}/runs"
        run, again = _twice(c, runs, {"mode": "dry_run"})
        assert run.status_code == 202 and _ids(c, runs) == [run.json()["id"]]
        assert again.json()["mode"] == "dry_run"

        key, key_again = _twice(c, f"{base}/keys", {"name": "ci", "scopes": ["read"]})
        assert key.json()["key"].startswith("ferry_")
        assert "key" not in key_again.json()  # the secret is only ever in the first answer
        assert key_again.json()["prefix"] == key.json()["prefix"]
        assert _ids(c, f"{base}/keys") == [key.json()["id"]]

        member, _ = _twice(c, f"{base}/members", {"email": email("invitee"), "role": "member"})
        assert member.json()["id"] in _ids(c, f"{base}/members") and len(_ids(c, f"{base}/members")) == 2

        export, again = _twice(c, f"{base}/exports", {})
        assert again.json()["download"] == export.json()["download"]


def test_same_key_with_another_body_is_a_409_problem(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    with running_app.client(org.admin_token) as c:
        first = c.post(f"/api/orgs/{org.id}/keys", json={"name": "one", "scopes": ["read"]}, headers=key)
        other = c.post(f"/api/orgs/{org.id}/keys", json={"name": "two", "scopes": ["read"]}, headers=key)
        elsewhere = c.post(f"/api/orgs/{org.id}/members", json={"email": email("m")}, headers=key)
        keys = _ids(c, f"/api/orgs/{org.id}/keys")
    assert first.status_code == 201
    for refused in (other, elsewhere):
        assert refused.status_code == 409
        body = problem(refused)
        assert body["type"] == "urn:ferry:problem:idempotency-key-reused"
        assert body["field"] == "Idempotency-Key"
    assert keys == [first.json()["id"]]


def test_keys_belong_to_their_org_and_a_failed_create_frees_its_key(running_app: RunningApp, dev_issuer: Any) -> None:
    a, b = create_org(running_app, dev_issuer), create_org(running_app, dev_issuer)
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    body = {"name": "same", "scopes": ["read"]}
    with running_app.client(a.admin_token) as c:
        in_a = c.post(f"/api/orgs/{a.id}/keys", json=body, headers=key)
    with running_app.client(b.admin_token) as c:
        in_b = c.post(f"/api/orgs/{b.id}/keys", json=body, headers=key)
    assert in_a.status_code == in_b.status_code == 201
    assert in_b.json()["id"] != in_a.json()["id"] and "Idempotent-Replayed" not in in_b.headers

    with running_app.client(a.admin_token) as c:
        bad = {
            "name": "m",
            "sourceConnectorId": "con_missing",
            "destinationConnectorId": "con_missing2",
            "scopes": [{"id": "b1"}],
            "destinationWorkspace": "w1",
        }
        failed = c.post(f"/api/orgs/{a.id}/migrations", json=bad, headers={"Idempotency-Key": "mig-1"})
        assert failed.status_code in (404, 422), failed.text
        # Nothing was made, so the key is free: the corrected request (another body) is not a reuse.
        again = c.post(f"/api/orgs/{a.id}/migrations", json={**bad, "name": "m2"}, headers={"Idempotency-Key": "mig-1"})
        assert again.status_code == failed.status_code, again.text
        malformed = c.post(f"/api/orgs/{a.id}/keys", json=body, headers={"Idempotency-Key": "two words"})
    assert malformed.status_code == 422 and problem(malformed)["errors"][0]["field"] == "Idempotency-Key"


def test_a_person_keys_are_not_another_persons(running_app: RunningApp, dev_issuer: Any) -> None:
    key = {"Idempotency-Key": f"org-{uuid.uuid4()}"}
    made = []
    for _ in range(2):
        with running_app.client(token(dev_issuer, email("founder"))) as c:
            r = c.post("/api/orgs", json={"name": "Twin", "country": "US"}, headers=key)
            assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers, r.text
            made.append(r.json()["id"])
    assert made[0] != made[1]
