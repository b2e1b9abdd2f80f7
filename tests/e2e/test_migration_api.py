"""A Trello → Asana migration through the public API, the queue and the worker (runner
subprocess), against the vendor simulators: dry run, full run, delta with 0 writes, report."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.e2e.conftest import RunningApp
from tests.e2e.connectors import post_trello_and_asana
from tests.e2e.identity_helpers import Org, create_org

TRELLO_KEY, TRELLO_TOKEN = "migrationkey0123456789", "migrationtoken0123456789"


class Pair:
    def __init__(self, trello: str, asana: str, asana_app: Any) -> None:
        self.trello, self.asana, self.asana_app = trello, asana, asana_app

    def asana_writes(self) -> int:
        stats = httpx.get(f"{self.asana}/_sim/stats").json()
        return sum(
            n
            for route, n in _flatten(stats).items()
            if route.split(" ")[0] in ("POST", "PUT", "DELETE") and "/_sim" not in route
        )


def _flatten(stats: dict[str, Any]) -> dict[str, int]:
    return {route: sum(by_status.values()) for route, by_status in stats["by_route"].items()}


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    trello = trello_app(
        TrelloSeed(
            boards=2,
            cards_per_board=6,
            many_comments=3,
            members=2,
            attachment_sizes=(2048,),
            api_key=TRELLO_KEY,
            extra_tokens={TRELLO_TOKEN: "owner"},
        )
    )
    asana = asana_app(AsanaSeed(projects=0, tasks_per_project=0))
    with serve(trello) as t, serve(asana) as a:
        yield Pair(t, a, asana)


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    return create_org(running_app, dev_issuer, country="NL")


def _wait_run(c: httpx.Client, base: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = c.get(f"{base}/runs/{run_id}").json()
        if run["status"] in ("succeeded", "partially_succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def test_trello_to_asana_full_then_delta(running_app: RunningApp, org: Org, pair: Pair) -> None:
    with running_app.client(org.admin_token) as c:
        src, dst = post_trello_and_asana(
            c, org.id, trello=pair.trello, asana=pair.asana, trello_key=TRELLO_KEY, trello_token=TRELLO_TOKEN
        )
        assert src.status_code == 201 and dst.status_code == 201, (src.text, dst.text)
        boards = [
            x
            for x in c.get(f"/api/orgs/{org.id}/connectors/{src.json()['id']}/containers").json()["items"]
            if x["kind"] != "workspace"
        ]
        workspace = next(
            x
            for x in c.get(f"/api/orgs/{org.id}/connectors/{dst.json()['id']}/containers").json()["items"]
            if x["kind"] == "workspace"
        )
        assert len(boards) == 2
        mig = c.post(
            f"/api/orgs/{org.id}/migrations",
            json={
                "name": "Trello to Asana",
                "sourceConnectorId": src.json()["id"],
                "destinationConnectorId": dst.json()["id"],
                "scopes": [{"id": b["id"], "name": b["name"]} for b in boards],
                "destinationWorkspace": workspace["id"],
            },
        )
        assert mig.status_code == 201, mig.text
        base = f"/api/orgs/{org.id}/migrations/{mig.json()['id']}"

        writes_before = pair.asana_writes()
        dry = c.post(f"{base}/runs", json={"mode": "dry_run"})
        assert dry.status_code == 202, dry.text
        dry_run = _wait_run(c, base, dry.json()["id"])
        assert dry_run["status"] == "succeeded", dry_run
        assert dry_run["counts"]["task"].get("would_create", 0) > 0
        assert pair.asana_writes() == writes_before, "a dry run writes nothing"

        full = _wait_run(c, base, c.post(f"{base}/runs", json={"mode": "full"}).json()["id"])
        assert full["status"] in ("succeeded", "partially_succeeded"), full
        created = full["counts"]["task"]["created"]
        assert created == dry_run["counts"]["task"]["would_create"]
        state = httpx.get(f"{pair.asana}/_sim/state").json()
        assert state and pair.asana_writes() > writes_before

        writes_after_full = pair.asana_writes()
        delta = _wait_run(c, base, c.post(f"{base}/runs", json={"mode": "delta"}).json()["id"])
        assert delta["status"] in ("succeeded", "partially_succeeded"), delta
        assert delta["counts"]["task"].get("created", 0) == 0
        assert pair.asana_writes() == writes_after_full, "an unchanged delta makes 0 destination writes"

        report = c.get(f"{base}/runs/{full['id']}/report", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(report.text)))
        assert report.status_code == 200 and rows
        assert {"kind", "sourceId", "destinationId", "action", "reason"} <= set(rows[0])
        created_rows = [r for r in rows if r["action"] == "created" and r["kind"] == "task"]
        assert len(created_rows) == created and all(r["destinationId"] for r in created_rows)
        listed = c.get(f"{base}/runs").json()["items"]
        assert [r["mode"] for r in listed] == ["delta", "full", "dry_run"]


def test_second_active_run_is_refused_and_bad_specs_are_422(running_app: RunningApp, org: Org) -> None:
    with running_app.client(org.admin_token) as c:
        r = c.post(
            f"/api/orgs/{org.id}/migrations",
            json={"name": "x", "sourceConnectorId": "nope", "destinationConnectorId": "nope2", "scopes": [{"id": "b"}]},
        )
        assert r.status_code == 422 and "sourceConnectorId" in r.text
        r = c.post(f"/api/orgs/{org.id}/migrations", json={"name": "x"})
        assert r.status_code == 422
