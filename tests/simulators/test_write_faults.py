"""Hard faults on every simulator, over a real socket: a write that is applied and whose
answer is then lost (connection reset or a 5xx), a fault at the n-th call of one route, and
the fail-before-write kinds, which must still leave the vendor's state untouched.

Each vendor case exposes one write route (the kind of write a redelivery must not repeat)
and a count of what that route created, read back through the vendor's own API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simulators.asana import DEFAULT_TOKEN
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import serve
from simulators.planner import SeedConfig as PlannerSeed
from simulators.planner import create_app as planner_app
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app


@dataclass
class WriteCase:
    """One simulator, one write route and a way to count what that route made."""

    http: httpx.Client
    method: str
    path: str  # fault-plan path of the route
    write: Callable[[int], httpx.Response]  # the i-th write
    count: Callable[[], int]  # items the route created, via the API


def _asana() -> Iterator[WriteCase]:
    app = asana_app(
        AsanaSeed(
            projects=1,
            tasks_per_project=2,
            subtasks_every=0,
            attachment_sizes=[],
            external_links=0,
            deleted_per_project=0,
        )
    )
    with (
        serve(app) as base,
        httpx.Client(base_url=f"{base}", timeout=10, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as http,
    ):
        ws = http.get("/api/1.0/workspaces").json()["data"][0]["gid"]
        parent = http.post("/api/1.0/tasks", json={"data": {"workspace": ws, "name": "parent"}}).json()["data"]["gid"]

        def write(i: int) -> httpx.Response:
            return http.post(f"/api/1.0/tasks/{parent}/subtasks", json={"data": {"name": f"checklist item {i}"}})

        def count() -> int:
            return len(http.get(f"/api/1.0/tasks/{parent}/subtasks").json()["data"])

        yield WriteCase(http, "POST", "/tasks/*/subtasks", write, count)


def _trello() -> Iterator[WriteCase]:
    app = trello_app(TrelloSeed(seed=5, boards=1, cards_per_board=2, attachment_sizes=()))
    summary = app.state.trello.summary
    with (
        serve(app) as base,
        httpx.Client(base_url=base, timeout=10, params={"key": summary["key"], "token": summary["token"]}) as http,
    ):
        board = http.get("/1/members/me/boards").json()[0]["id"]
        card = http.get(f"/1/boards/{board}/cards").json()[0]["id"]
        before = len(http.get(f"/1/cards/{card}/checklists").json())

        def write(i: int) -> httpx.Response:
            return http.post("/1/checklists", params={"idCard": card, "name": f"list {i}"})

        def count() -> int:
            return len(http.get(f"/1/cards/{card}/checklists").json()) - before

        yield WriteCase(http, "POST", "^/1/checklists$", write, count)


def _planner() -> Iterator[WriteCase]:
    cfg = PlannerSeed(tasks_per_plan=2, deleted_tasks_per_plan=0)
    app = planner_app(cfg)
    store = app.state.planner.store
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        token = http.post(
            f"/{store.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": cfg.client_id,
                "client_secret": cfg.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        plan = next(iter(store.plans))

        def write(i: int) -> httpx.Response:
            return http.post("/v1.0/planner/tasks", json={"planId": plan, "title": f"fault {i}"})

        def count() -> int:
            tasks = http.get(f"/v1.0/planner/plans/{plan}/tasks").json()["value"]
            return sum(t["title"].startswith("fault ") for t in tasks)

        yield WriteCase(http, "POST", "/planner/tasks$", write, count)


CASES: dict[str, Callable[[], Iterator[WriteCase]]] = {"asana": _asana, "trello": _trello, "planner": _planner}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Iterator[WriteCase]:
    yield from CASES[request.param]()


def _plan(case: WriteCase, **rule: Any) -> None:
    r = case.http.post("/_sim/faults", json={"faults": [{"method": case.method, "path": case.path, **rule}]})
    assert r.status_code == 200, r.text


def test_apply_then_drop_writes_and_resets_the_connection(case: WriteCase) -> None:
    _plan(case, kind="apply_then_drop")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # closed unanswered
        case.write(1)
    assert case.count() == 1  # the vendor has the item
    assert case.write(2).is_success  # the fault fired once
    assert case.count() == 2
    injected = case.http.get("/_sim/faults").json()["injected"]
    assert [(e["kind"], e["status"]) for e in injected] == [("apply_then_drop", "drop")]
    assert 200 <= injected[0]["applied_status"] < 300


def test_apply_then_status_writes_and_answers_the_error(case: WriteCase) -> None:
    _plan(case, kind="apply_then_status", status=500)
    r = case.write(1)
    assert r.status_code == 500
    assert case.count() == 1
    assert case.write(2).is_success and case.count() == 2


def test_nth_hits_exactly_the_nth_write(case: WriteCase) -> None:
    _plan(case, kind="apply_then_status", status=504, nth=3)
    statuses = [case.write(i).status_code for i in range(1, 7)]
    assert [s == 504 for s in statuses] == [False, False, True, False, False, False]
    assert all(200 <= s < 300 for i, s in enumerate(statuses) if i != 2)
    assert case.count() == 6  # the third write was applied too
    assert case.http.get("/_sim/faults").json()["faults"] == []


@pytest.mark.parametrize("kind", ["status", "drop"])
def test_fail_before_write_leaves_no_item(case: WriteCase, kind: str) -> None:
    _plan(case, kind=kind, status=503, nth=2)
    assert case.write(1).is_success
    if kind == "drop":
        # the connection is closed without an answer: the client sees it as a protocol error or
        # as a reset, depending on whether the close reaches it before or after it reads
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            case.write(2)
    else:
        assert case.write(2).status_code == 503
    assert case.count() == 1  # the second write never happened
    assert case.write(3).is_success and case.count() == 2
