"""One request budget per credential across worker processes, end to end: four organisations
migrate Asana projects to Trello at once on a runner with four worker processes, every org
through the same Trello token (and the same Asana token). The Trello simulator is held to the
limit Ferry declares for Trello (90 requests per 10 s per token, below Trello's 100), so any
window over the budget is a 429; with the ledger the simulators answer none.

Whether four workers *without* the ledger would overrun depends on how many of the orgs'
chunks run in different processes at once, which a busy machine decides; the test that
fails whenever the ledger is bypassed is ``tests/integration/test_budget_processes.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.connectors.trello import TRELLO_RATE_LIMIT
from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.common import serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.e2e.conftest import RunningApp
from tests.e2e.connectors import post_trello_and_asana
from tests.e2e.identity_helpers import create_org
from tools.devhost.process import runner_process
from tools.stack import free_port, start_stack

TRELLO_KEY, TRELLO_TOKEN = "budgetkey0123456789abcd", "budgettoken0123456789ab"
FINAL = ("succeeded", "partially_succeeded", "failed", "cancelled")
ORGS = 4


@pytest.fixture()
def app_four_workers(local_env: dict[str, str], tmp_path: Path) -> Iterator[RunningApp]:
    # A stack of its own, so no other runner's workers take these chunks: exactly four
    # processes share the credentials here.
    private = start_stack(tmp_path / "stack", fresh=True)
    port = free_port()
    log = tmp_path / "runner.log"
    env = {**os.environ, **local_env, **private.values()}
    try:
        with runner_process(env, port, log, workers=4) as proc:
            yield RunningApp(f"http://127.0.0.1:{port}", proc, log)
    finally:
        private.stop()


@pytest.fixture()
def sims() -> Iterator[tuple[str, str]]:
    asana = asana_app(
        AsanaSeed(
            projects=ORGS,
            tasks_per_project=14,
            subtasks_every=0,
            comments_per_task=2,
            attachment_sizes=[512],
            deleted_per_project=0,
            archived_projects=0,
            long_text_chars=200,
        )
    )
    trello = trello_app(
        TrelloSeed(boards=0, cards_per_board=0, members=1, api_key=TRELLO_KEY, extra_tokens={TRELLO_TOKEN: "owner"})
    )
    with serve(asana) as a, serve(trello) as t:
        limit = {
            "limiters": {"token": {"limit": TRELLO_RATE_LIMIT.requests, "window_s": TRELLO_RATE_LIMIT.per_seconds}}
        }
        httpx.post(f"{t}/_sim/limits", json=limit).raise_for_status()
        yield a, t


def _migration(c: httpx.Client, org_id: str, asana: str, trello: str, project: int) -> str:
    dst, src = post_trello_and_asana(
        c, org_id, trello=trello, asana=asana, trello_key=TRELLO_KEY, trello_token=TRELLO_TOKEN
    )
    assert src.status_code == 201 and dst.status_code == 201, (src.text, dst.text)
    projects = sorted(
        (
            x
            for x in c.get(f"/api/orgs/{org_id}/connectors/{src.json()['id']}/containers").json()["items"]
            if x["kind"] != "workspace"
        ),
        key=lambda x: x["id"],
    )
    workspace = next(
        x
        for x in c.get(f"/api/orgs/{org_id}/connectors/{dst.json()['id']}/containers").json()["items"]
        if x["kind"] == "workspace"
    )
    mig = c.post(
        f"/api/orgs/{org_id}/migrations",
        json={
            "name": f"shared budget {project}",
            "sourceConnectorId": src.json()["id"],
            "destinationConnectorId": dst.json()["id"],
            "scopes": [{"id": projects[project]["id"]}],
            "destinationWorkspace": workspace["id"],
        },
    )
    assert mig.status_code == 201, mig.text
    return f"/api/orgs/{org_id}/migrations/{mig.json()['id']}"


def test_four_workers_and_four_orgs_on_one_credential_get_no_429(
    app_four_workers: RunningApp, dev_issuer: Any, sims: tuple[str, str]
) -> None:
    app = app_four_workers
    asana, trello = sims
    clients = []
    runs = []
    for n in range(ORGS):
        org = create_org(app, dev_issuer, name=f"Budget {n}")
        c = app.client(org.admin_token)
        clients.append(c)
        runs.append((c, _migration(c, org.id, asana, trello, n)))
    for url in (asana, trello):
        httpx.post(f"{url}/_sim/stats/reset").raise_for_status()
    started = [(c, base, c.post(f"{base}/runs", json={"mode": "full"}).json()["id"]) for c, base in runs]
    deadline = time.monotonic() + 900
    views: dict[str, dict[str, Any]] = {}
    while len(views) < ORGS and time.monotonic() < deadline:
        for c, base, run_id in started:
            if run_id not in views:
                view = c.get(f"{base}/runs/{run_id}").json()
                if view["status"] in FINAL:
                    views[run_id] = view
        time.sleep(1)
    for c in clients:
        c.close()
    assert len(views) == ORGS, f"runs still going; runner log tail:\n{app.output()[-4000:]}"
    trello_stats = httpx.get(f"{trello}/_sim/stats").json()
    asana_stats = httpx.get(f"{asana}/_sim/stats").json()
    # enough traffic that per-process pacing alone would overrun Trello's window
    assert trello_stats["total"] > 150, trello_stats["total"]
    assert trello_stats["throttled"] == 0, trello_stats["by_status"]
    assert asana_stats["throttled"] == 0, asana_stats["by_status"]
    assert all(v["status"] == "succeeded" for v in views.values()), [v["statusReason"] for v in views.values()]
