"""`GET /api/orgs/{orgId}/connectors/{id}/people` through the local runner, against the
Asana and Trello simulators: the people of a workspace and of a project, paged; who may ask
(as `/containers`); problems naming what is wrong; and nothing of a person in the runner's
output (people are personal data: nothing stored, nothing logged)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import FaultPlan, FaultRule, serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, add_key, add_member, create_org, problem

KEY, TOKEN = "peoplekey0123456789", "peopletoken0123456789"


class Sims:
    def __init__(self, asana: str, asana_app: Any, trello: str, trello_app: Any) -> None:
        self.asana, self.asana_app, self.trello, self.trello_app = asana, asana_app, trello, trello_app

    @property
    def store(self) -> Any:
        return self.asana_app.state.asana_store


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    asana = asana_app(AsanaSeed(projects=2, tasks_per_project=1, attachment_sizes=[]))
    trello = trello_app(
        TrelloSeed(
            boards=1,
            cards_per_board=1,
            members=3,
            attachment_sizes=(),
            api_key=KEY,
            extra_tokens={TOKEN: "owner"},
            enterprise_managed=True,
        )
    )
    with serve(asana) as a, serve(trello) as t:
        yield Sims(a, asana, t, trello)


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    o = create_org(running_app, dev_issuer, country="NL")
    add_member(running_app, dev_issuer, o, "external", member_type="external")
    add_key(running_app, o, "reader", ["read"])
    return o


def _connector(app: RunningApp, org: Org, connection: dict[str, Any]) -> str:
    with app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": "people", "connection": connection})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _asana(sims: Sims, token: str = ASANA_TOKEN) -> dict[str, Any]:
    return {"kind": "asana", "base_url": f"{sims.asana}/api/1.0", "auth": {"type": "pat", "token": token}}


def _all_pages(app: RunningApp, token: str, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    with app.client(token) as c:
        while True:
            r = c.get(url, params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            items += body["items"]
            if not body["continuation"]:
                return items
            params = {**params, "continuation": body["continuation"]}


def test_people_of_a_workspace_and_a_project_paged(running_app: RunningApp, org: Org, sims: Sims) -> None:
    cid = _connector(running_app, org, _asana(sims))
    url = f"/api/orgs/{org.id}/connectors/{cid}/people"
    workspace = next(iter(sims.store.workspaces.values()))
    want = {(u.name, u.email) for u in (sims.store.users[g] for g in workspace.user_gids)}
    one_by_one = _all_pages(running_app, org.keys["reader"], url, container=workspace.gid, pageSize=1)
    assert {(p["name"], p["email"]) for p in one_by_one} == want and len(one_by_one) == len(want)
    assert [p["name"].casefold() for p in one_by_one] == sorted(p["name"].casefold() for p in one_by_one)
    project = next(iter(sims.store.projects.values()))
    members = _all_pages(running_app, org.admin_token, url, container=project.gid)
    assert {p["id"] for p in members} == set(project.members)
    everyone = _all_pages(running_app, org.admin_token, url)
    assert {(p["name"], p["email"]) for p in everyone} >= want

    # people are personal data: none of them reaches the runner's output
    output = running_app.output()
    assert not [email for _, email in want if email in output]


def test_who_may_list_people_and_the_problems(running_app: RunningApp, org: Org, sims: Sims) -> None:
    cid = _connector(running_app, org, _asana(sims))
    url = f"/api/orgs/{org.id}/connectors/{cid}/people"
    with running_app.client(org.tokens["external"]) as c:
        assert c.get(url).status_code == c.get(f"/api/orgs/{org.id}/connectors/{cid}/containers").status_code == 403
    with running_app.client(org.admin_token) as c:
        unknown = c.get(url, params={"container": "1" * 16})
        assert unknown.status_code == 422 and problem(unknown)["errors"][0]["field"] == "container"
        token = c.get(url, params={"continuation": "not-a-token"})
        assert token.status_code == 422 and problem(token)["errors"][0]["field"] == "continuation"
        missing = c.get(f"/api/orgs/{org.id}/connectors/con_missing/people")
        assert missing.status_code == 404 and problem(missing)

    refused = _connector(running_app, org, _asana(sims, token="not-a-valid-token"))
    with running_app.client(org.admin_token) as c:
        r = c.get(f"/api/orgs/{org.id}/connectors/{refused}/people")
    assert r.status_code == 424 and problem(r)["type"] == "urn:ferry:problem:remote-auth"

    # a vendor that fails once is asked again (the probe pacer retries a 503)
    rule = FaultRule(status=503, path=r"/workspaces/[^/]+/users$", count=1)
    sims.asana_app.state.sim.faults = FaultPlan(faults=[rule])
    try:
        with running_app.client(org.admin_token) as c:
            r = c.get(url, params={"container": next(iter(sims.store.workspaces))})
    finally:
        sims.asana_app.state.sim.faults = FaultPlan()
    assert r.status_code == 200 and rule.seen >= 1 and r.json()["items"]


def test_trello_board_members_with_their_emails(running_app: RunningApp, org: Org, sims: Sims) -> None:
    conn = {
        "kind": "trello",
        "base_url": f"{sims.trello}/1",
        "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN},
    }
    cid = _connector(running_app, org, conn)
    store = sims.trello_app.state.trello.store
    board = next(iter(store.boards.values()))
    people = _all_pages(running_app, org.admin_token, f"/api/orgs/{org.id}/connectors/{cid}/people", container=board.id)
    assert {p["email"] for p in people} == {store.members[i].email for i in board.members}
