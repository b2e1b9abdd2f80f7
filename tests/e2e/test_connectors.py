"""The connectors API through the local runner, against the vendor simulators.

Simulators run in this process on free loopback ports (the runner's settings allow
loopback connectors, as local runs do). Secrets are canaries: random values that are
also the simulators' valid credentials, so the tests can prove they work *and* that
they never come back out of the API, the logs, queue messages or Cosmos.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.store.cosmos import CONTAINERS
from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import FaultPlan, FaultRule, serve
from simulators.planner import SeedConfig as PlannerSeed
from simulators.planner import create_app as planner_app
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, add_key, add_member, create_org, problem
from tools.stack import free_port


def canary(tag: str) -> str:
    return f"canary{tag}{uuid.uuid4().hex}"


TRELLO_KEY, TRELLO_TOKEN, TRELLO_TOKEN_2 = canary("tk"), canary("tt"), canary("tt2")
PLANNER_SECRET = canary("ps")
BAD_SECRET = canary("bad")
CANARIES = (TRELLO_KEY, TRELLO_TOKEN, TRELLO_TOKEN_2, PLANNER_SECRET, BAD_SECRET)


class Sims:
    def __init__(
        self, trello: str, asana: str, planner: str, planner_tenant: str, planner_client: str, trello_app: Any
    ) -> None:
        self.trello, self.asana, self.planner, self.trello_app = trello, asana, planner, trello_app
        self.planner_tenant, self.planner_client = planner_tenant, planner_client

    def trello_conn(self, token: str = TRELLO_TOKEN, key: str = TRELLO_KEY, base: str | None = None) -> dict[str, Any]:
        return {
            "kind": "trello",
            "base_url": base or f"{self.trello}/1",
            "auth": {"type": "api_key_token", "api_key": key, "token": token},
        }

    def asana_conn(self, token: str = ASANA_TOKEN, base: str | None = None) -> dict[str, Any]:
        return {"kind": "asana", "base_url": base or f"{self.asana}/api/1.0", "auth": {"type": "pat", "token": token}}

    def planner_conn(self, secret: str = PLANNER_SECRET) -> dict[str, Any]:
        return {
            "kind": "planner",
            "base_url": f"{self.planner}/v1.0",
            "auth": {
                "type": "client_credentials",
                "entra_tenant_id": self.planner_tenant,
                "client_id": self.planner_client,
                "client_secret": secret,
            },
        }


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    trello = trello_app(
        TrelloSeed(
            boards=2,
            cards_per_board=3,
            many_comments=2,
            members=2,
            attachment_sizes=(1024,),
            api_key=TRELLO_KEY,
            extra_tokens={TRELLO_TOKEN: "canary", TRELLO_TOKEN_2: "canary2"},
        )
    )
    asana = asana_app(AsanaSeed(projects=2, tasks_per_project=3, attachment_sizes=[1024], long_text_chars=100))
    pseed = PlannerSeed(
        users=2,
        plans_per_group=2,
        tasks_per_plan=2,
        deleted_tasks_per_plan=0,
        attachment_sizes=[1024],
        long_text_chars=100,
        client_secret=PLANNER_SECRET,
    )
    planner = planner_app(pseed)
    with serve(trello) as t, serve(asana) as a, serve(planner) as p:
        yield Sims(t, a, p, planner.state.planner.store.tenant_id, pseed.client_id, trello)


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    o = create_org(running_app, dev_issuer, country="DE")
    add_member(running_app, dev_issuer, o, "member")
    add_member(running_app, dev_issuer, o, "external", member_type="external")
    add_key(running_app, o, "reader", ["read"])
    return o


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return ""


def _create(
    app: RunningApp, org: Org, connection: dict[str, Any], name: str = "c", token: str | None = None
) -> dict[str, Any]:
    with app.client(token or org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": name, "connection": connection})
    assert r.status_code == 201, r.text
    return r.json()


def _test(app: RunningApp, org: Org, connector_id: str) -> dict[str, Any]:
    with app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/connectors/{connector_id}/test")
    assert r.status_code == 200, r.text
    return r.json()


def test_create_show_list_patch_delete(running_app: RunningApp, org: Org, sims: Sims) -> None:
    created = _create(running_app, org, sims.trello_conn(), name="Team boards")
    cid = created["id"]
    assert created["kind"] == "trello" and created["version"] == 1
    assert created["secretFields"] == ["auth.api_key", "auth.token"]
    assert created["connection"] == {
        "kind": "trello",
        "base_url": f"{sims.trello}/1",
        "auth": {"type": "api_key_token"},
    }
    with running_app.client(org.tokens["member"]) as c:
        assert c.get(f"/api/orgs/{org.id}/connectors/{cid}").json()["name"] == "Team boards"
        listed = c.get(f"/api/orgs/{org.id}/connectors", params={"pageSize": 200}).json()
        assert cid in [i["id"] for i in listed["items"]]
        renamed = c.patch(f"/api/orgs/{org.id}/connectors/{cid}", json={"name": "Renamed"})
        assert renamed.status_code == 200 and renamed.json()["version"] == 2
        # Only the token changes: the key is kept, the new token is what the vendor sees.
        patched = c.patch(
            f"/api/orgs/{org.id}/connectors/{cid}", json={"connection": {"auth": {"token": TRELLO_TOKEN_2}}}
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["version"] == 3 and patched.json()["secretFields"] == ["auth.api_key", "auth.token"]
    result = _test(running_app, org, cid)
    assert result["status"] == "ok" and result["account"]["displayName"] == "Canary2"
    with running_app.client(org.admin_token) as c:
        events = c.get(f"/api/orgs/{org.id}/audit").json()["items"]
        assert {"connector.created", "connector.updated"} <= {e["action"] for e in events if e["target"] == cid}
        assert c.delete(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 204
        assert c.get(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 404
        assert c.delete(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 404
        assert "connector.deleted" in {e["action"] for e in c.get(f"/api/orgs/{org.id}/audit").json()["items"]}


async def test_delete_purges_the_ciphertext(running_app: RunningApp, org: Org, sims: Sims, stores: Any) -> None:
    cid = _create(running_app, org, sims.trello_conn())["id"]
    container = stores.cosmos("eu").container("connectors")
    before = await container.read_item(cid, partition_key=org.id)
    assert before["sealed"]["auth.token"].startswith("fv1.")
    with running_app.client(org.admin_token) as c:
        assert c.delete(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 204
    found = container.query_items("SELECT * FROM c WHERE c.id = @id", parameters=[{"name": "@id", "value": cid}])
    assert [d async for d in found] == []


def test_connection_test_ok_refused_unreachable(running_app: RunningApp, org: Org, sims: Sims) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    cases = {
        "trello ok": (sims.trello_conn(), "ok"),
        "trello bad token": (sims.trello_conn(token=BAD_SECRET), "authentication_failed"),
        "trello closed port": (sims.trello_conn(base=f"{closed}/1"), "unreachable"),
        "asana ok": (sims.asana_conn(), "ok"),
        "asana bad token": (sims.asana_conn(token=BAD_SECRET), "authentication_failed"),
        "asana closed port": (sims.asana_conn(base=f"{closed}/api/1.0"), "unreachable"),
        "planner ok": (sims.planner_conn(), "ok"),
        "planner bad secret": (sims.planner_conn(secret=BAD_SECRET), "authentication_failed"),
        "planner closed port": ({**sims.planner_conn(), "base_url": f"{closed}/v1.0"}, "unreachable"),
    }
    failures = []
    for label, (connection, want) in cases.items():
        result = _test(running_app, org, _create(running_app, org, connection, name=label)["id"])
        if result["status"] != want:
            failures.append(f"{label}: {result}")
        if want != "ok" and not result["message"]:
            failures.append(f"{label}: no message")
        if want == "ok" and not result["account"]:
            failures.append(f"{label}: no account")
    assert not failures, "\n".join(failures)


def test_a_vendor_message_echoing_the_secret_is_redacted(running_app: RunningApp, org: Org, sims: Sims) -> None:
    cid = _create(running_app, org, sims.trello_conn())["id"]
    echo = f"invalid token {TRELLO_TOKEN} (key={TRELLO_KEY})"
    sims.trello_app.state.sim.faults = FaultPlan(faults=[FaultRule(status=401, path="/members/me", body=echo)])
    result = _test(running_app, org, cid)
    assert result["status"] == "authentication_failed" and "token ***" in result["message"]
    assert TRELLO_TOKEN not in result["message"] and TRELLO_KEY not in result["message"]
    assert _test(running_app, org, cid)["status"] == "ok"  # the fault was used up


def test_containers_list_the_sources_boards(running_app: RunningApp, org: Org, sims: Sims) -> None:
    cid = _create(running_app, org, sims.trello_conn())["id"]
    with running_app.client(org.keys["reader"]) as c:
        r = c.get(f"/api/orgs/{org.id}/connectors/{cid}/containers")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    workspaces = {i["id"] for i in items if i["kind"] == "workspace"}
    boards = [i for i in items if i["kind"] == "board"]
    assert workspaces and boards and all(b["name"] and b["parentId"] in workspaces for b in boards)
    bad = _create(running_app, org, sims.trello_conn(token=BAD_SECRET))["id"]
    with running_app.client(org.admin_token) as c:
        refused = c.get(f"/api/orgs/{org.id}/connectors/{bad}/containers")
    assert refused.status_code == 424 and problem(refused)["type"] == "urn:ferry:problem:remote-auth"
    closed = _create(running_app, org, sims.trello_conn(base=f"http://127.0.0.1:{free_port()}/1"))["id"]
    with running_app.client(org.admin_token) as c:
        down = c.get(f"/api/orgs/{org.id}/connectors/{closed}/containers")
    assert down.status_code == 502 and problem(down)["type"] == "urn:ferry:problem:remote-transient"


@pytest.mark.parametrize(
    ("connection", "field"),
    [
        (
            {
                "kind": "jira",
                "site_url": "https://169.254.169.254",
                "auth": {"type": "api_token", "email": "a@b.example", "api_token": BAD_SECRET},
            },
            "connection.site_url",
        ),
        (
            {
                "kind": "jira",
                "site_url": "https://10.20.30.40:8443",
                "auth": {"type": "api_token", "email": "a@b.example", "api_token": BAD_SECRET},
            },
            "connection.site_url",
        ),
        (
            {
                "kind": "azure_devops",
                "organization_url": "https://[::ffff:10.0.0.1]/org",
                "auth": {"type": "pat", "pat": BAD_SECRET},
            },
            "connection.organization_url",
        ),
        (
            {
                "kind": "azure_devops",
                "organization_url": "https://192.168.1.5/tfs",
                "auth": {"type": "pat", "pat": BAD_SECRET},
            },
            "connection.organization_url",
        ),
        (
            {
                "kind": "trello",
                "base_url": "http://169.254.169.254/latest",
                "auth": {"type": "api_key_token", "api_key": BAD_SECRET, "token": BAD_SECRET},
            },
            "connection.base_url",
        ),
    ],
)
def test_ssrf_guard_refuses_private_addresses_at_create(
    running_app: RunningApp, org: Org, connection: dict[str, Any], field: str
) -> None:
    with running_app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": "x", "connection": connection})
    assert r.status_code == 422, r.text
    body = problem(r)
    assert body["errors"][0]["field"] == field and BAD_SECRET not in r.text


def test_patch_to_a_private_address_is_refused(running_app: RunningApp, org: Org, sims: Sims) -> None:
    cid = _create(running_app, org, sims.trello_conn())["id"]
    with running_app.client(org.admin_token) as c:
        r = c.patch(f"/api/orgs/{org.id}/connectors/{cid}", json={"connection": {"base_url": "http://10.1.1.1/1"}})
        kind = c.patch(f"/api/orgs/{org.id}/connectors/{cid}", json={"connection": {"kind": "asana"}})
        after = c.get(f"/api/orgs/{org.id}/connectors/{cid}").json()
    assert r.status_code == 422 and problem(r)["errors"][0]["field"] == "connection.base_url"
    assert kind.status_code == 422 and problem(kind)["errors"][0]["field"] == "connection.kind"
    assert after["version"] == 1 and after["connection"]["base_url"] == f"{sims.trello}/1"


def test_invalid_connections_name_the_field_and_never_echo_secrets(running_app: RunningApp, org: Org) -> None:
    bodies = {
        "connection.auth.token": {
            "kind": "trello",
            "auth": {"type": "api_key_token", "api_key": BAD_SECRET, "token": ""},
        },
        "connection.kind": {"kind": "notion", "auth": {"type": "pat", "token": BAD_SECRET}},
        "connection.site_url": {
            "kind": "jira",
            "site_url": "ftp://x.example",
            "auth": {"type": "api_token", "email": "a@b.example", "api_token": BAD_SECRET},
        },
        "connection.auth.surprise": {
            "kind": "asana",
            "auth": {"type": "pat", "token": BAD_SECRET, "surprise": BAD_SECRET},
        },
    }
    with running_app.client(org.admin_token) as c:
        for field, connection in bodies.items():
            r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": "x", "connection": connection})
            assert r.status_code == 422, (field, r.text)
            assert field in [e["field"] for e in problem(r)["errors"]], (field, r.text)
            assert BAD_SECRET not in r.text


def test_external_members_never_see_connectors_and_other_orgs_get_404(
    running_app: RunningApp, dev_issuer: Any, org: Org, sims: Sims
) -> None:
    cid = _create(running_app, org, sims.trello_conn())["id"]
    with running_app.client(org.tokens["external"]) as c:
        assert c.get(f"/api/orgs/{org.id}/connectors").status_code == 403
        assert c.get(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 403
    with running_app.client(org.keys["reader"]) as c:
        assert c.post(f"/api/orgs/{org.id}/connectors/{cid}/test").status_code == 403
    other = create_org(running_app, dev_issuer, country="DE")
    with running_app.client(other.admin_token) as c:
        assert c.get(f"/api/orgs/{other.id}/connectors/{cid}").status_code == 404
        assert c.post(f"/api/orgs/{other.id}/connectors/{cid}/test").status_code == 404
        assert c.delete(f"/api/orgs/{other.id}/connectors/{cid}").status_code == 404
    with running_app.client(org.admin_token) as c:
        assert c.get(f"/api/orgs/{org.id}/connectors/{cid}").status_code == 200


async def test_canaries_never_leave_the_vault(running_app: RunningApp, org: Org, sims: Sims, stores: Any) -> None:
    """After a full lifecycle (all tests above ran in this module too), no canary appears in
    API answers, the runner's log, any queue message or any Cosmos document in clear."""
    answers: list[str] = []
    with running_app.client(org.admin_token) as c:
        for connection in (sims.trello_conn(), sims.planner_conn(), sims.trello_conn(token=BAD_SECRET)):
            r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": "scan", "connection": connection})
            answers.append(r.text)
            cid = r.json()["id"]
            base = f"/api/orgs/{org.id}/connectors/{cid}"
            answers += [
                c.get(base).text,
                c.post(f"{base}/test").text,
                c.get(f"{base}/containers").text,
                c.patch(base, json={"name": "scanned"}).text,
            ]
        answers.append(c.get(f"/api/orgs/{org.id}/connectors", params={"pageSize": 200}).text)
        answers.append(c.get(f"/api/orgs/{org.id}/audit", params={"pageSize": 200}).text)
    documents: list[str] = []
    for region in stores.regions:
        for name in CONTAINERS:
            found = (
                stores.cosmos(region)
                .container(name)
                .query_items("SELECT * FROM c WHERE c.tenantId = @t", parameters=[{"name": "@t", "value": org.id}])
            )
            documents += [str(d) async for d in found]
    messages: list[str] = []
    for region in stores.regions:
        storage = stores.storage(region)
        async for q in storage.queue_service.list_queues():
            client = storage.queue_service.get_queue_client(q.name)
            for m in await client.peek_messages(max_messages=32):
                messages += [str(m.content), _b64(str(m.content))]
    assert any("fv1." in d for d in documents) and any("datakey-" in d for d in documents)
    places = {
        "API answers": "\n".join(answers),
        "runner log": running_app.output(),
        "queue messages": "\n".join(messages),
        "Cosmos documents": "\n".join(documents),
    }
    leaks = [f"{where}: {secret[:10]}…" for where, text in places.items() for secret in CANARIES if secret in text]
    assert not leaks, leaks
