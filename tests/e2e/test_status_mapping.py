"""statusMapping through the public API, the queue and the worker, Trello → Asana on the
simulators: validation errors name the field, the dry run says what the mapping will do, the
full run puts tasks in the mapped sections with the mapped completion (a target the board
has no list for is created once), and no scope name is kept."""

from __future__ import annotations

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

TRELLO_KEY, TRELLO_TOKEN = "statuskey0123456789abc", "statustoken0123456789abc"
FINAL = ("succeeded", "partially_succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[str, str]]:
    trello = trello_app(
        TrelloSeed(
            boards=1,
            lists_per_board=3,
            cards_per_board=12,
            many_comments=0,
            comments_per_card=0,
            attachment_sizes=(),
            link_attachment_every=0,
            closed_list=False,
            closed_card_every=0,
            api_key=TRELLO_KEY,
            extra_tokens={TRELLO_TOKEN: "owner"},
        )
    )
    asana = asana_app(AsanaSeed(projects=1, tasks_per_project=1))
    with serve(trello) as t, serve(asana) as a:
        yield t, a


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    return create_org(running_app, dev_issuer, country="DE")


def _wait(c: httpx.Client, base: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = c.get(f"{base}/runs/{run_id}").json()
        if run["status"] in FINAL:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def test_status_mapping_end_to_end(running_app: RunningApp, org: Org, sims: tuple[str, str]) -> None:
    trello, asana = sims
    board = httpx.get(f"{trello}/_sim/state").json()["boards"][0]
    lists = sorted(
        (x for x in httpx.get(f"{trello}/_sim/state").json()["lists"] if x["idBoard"] == board["id"]),
        key=lambda x: x["pos"],
    )
    first, second, third = lists
    mapping = {first["name"].upper(): {"section": "Done (migrated)", "completed": True}, second["id"]: third["name"]}
    with running_app.client(org.admin_token) as c:
        src, dst = post_trello_and_asana(
            c, org.id, trello=trello, asana=asana, trello_key=TRELLO_KEY, trello_token=TRELLO_TOKEN
        )
        assert src.status_code == 201 and dst.status_code == 201, (src.text, dst.text)
        workspace = next(
            x
            for x in c.get(f"/api/orgs/{org.id}/connectors/{dst.json()['id']}/containers").json()["items"]
            if x["kind"] == "workspace"
        )
        body = {
            "name": "status",
            "sourceConnectorId": src.json()["id"],
            "destinationConnectorId": dst.json()["id"],
            "scopes": [{"id": board["id"], "name": board["name"]}],
            "destinationWorkspace": workspace["id"],
        }

        bad = c.post(f"/api/orgs/{org.id}/migrations", json={**body, "statusMapping": {"Done": {"colour": "red"}}})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert all(e["field"].startswith("statusMapping") for e in bad.json()["errors"]), bad.json()

        mig = c.post(f"/api/orgs/{org.id}/migrations", json={**body, "statusMapping": mapping})
        assert mig.status_code == 201, mig.text
        assert mig.json()["scopes"] == [{"id": board["id"]}]  # the name sent is not kept
        assert mig.json()["statusMapping"][second["id"]] == {"section": third["name"], "completed": None}
        base = f"/api/orgs/{org.id}/migrations/{mig.json()['id']}"

        dry = _wait(c, base, c.post(f"{base}/runs", json={"mode": "dry_run"}).json()["id"])
        cards = [x for x in httpx.get(f"{trello}/_sim/state").json()["cards"] if x["idBoard"] == board["id"]]
        in_first = [x for x in cards if x["idList"] == first["id"]]
        in_second = [x for x in cards if x["idList"] == second["id"]]
        assert in_first and in_second
        assert dry["counts"]["adapt"]["task.status_section_mapped"] == len(in_first) + len(in_second)
        assert dry["counts"]["adapt"]["task.status_completed"] == sum(not x["dueComplete"] for x in in_first)
        assert dry["counts"]["section"]["would_create"] == 4  # three lists and "Done (migrated)"

        full = _wait(c, base, c.post(f"{base}/runs", json={"mode": "full"}).json()["id"])
        assert full["status"] == "succeeded", full
        rows = c.get(f"{base}/runs/{full['id']}/report").json()["items"]
        task_of = {r["sourceId"]: r["destinationId"] for r in rows if r["kind"] == "task"}

    state = httpx.get(f"{asana}/_sim/state").json()
    section_name = {g: s["name"] for g, s in state["sections"].items() if not s.get("deleted")}
    project = state["tasks"][task_of[cards[0]["id"]]]["memberships"][0][0]
    names = [section_name[g] for g, s in state["sections"].items() if s["project"] == project and not s.get("deleted")]
    assert sorted(names) == sorted([first["name"], second["name"], third["name"], "Done (migrated)"])
    for card in cards:
        task = state["tasks"][task_of[card["id"]]]
        placed = section_name[task["memberships"][0][1]]
        if card["idList"] == first["id"]:
            assert placed == "Done (migrated)" and task["completed"], card
        elif card["idList"] == second["id"]:
            assert placed == third["name"] and task["completed"] == card["dueComplete"], card
        else:
            assert placed == third["name"] and task["completed"] == card["dueComplete"], card
