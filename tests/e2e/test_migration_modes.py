"""Run modes through the public API, the queue and the worker (runner subprocess), Trello →
Asana on the simulators: the run ETA from a dry run, retry_failed touching only the items
that failed, and rollback restoring the destination (then a no-op)."""

from __future__ import annotations

import time
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
from tests.e2e.connectors import post_trello_and_asana
from tests.e2e.identity_helpers import Org, create_org

TRELLO_KEY, TRELLO_TOKEN = "modeskey0123456789abc", "modestoken0123456789abc"
FINAL = ("succeeded", "partially_succeeded", "failed", "cancelled")
WRITE_METHODS = ("POST", "PUT", "DELETE")


class Sims:
    def __init__(self, trello: str, asana: str) -> None:
        self.trello, self.asana = trello, asana

    @staticmethod
    def _routes(base: str) -> dict[str, int]:
        stats = httpx.get(f"{base}/_sim/stats").json()
        return {
            route: sum(by_status.values()) for route, by_status in stats["by_route"].items() if "/_sim" not in route
        }

    def asana_writes(self) -> int:
        """Writes as Asana counts them: each action of a ``/batch`` call (``batch › …``), not the call."""
        return sum(
            n
            for route, n in self._routes(self.asana).items()
            if route.removeprefix("batch › ").split(" ")[0] in WRITE_METHODS and not route.endswith(" /batch")
        )

    def trello_reads(self) -> dict[str, int]:
        return {r: n for r, n in self._routes(self.trello).items() if r.startswith("GET ")}

    def asana_live(self) -> dict[str, set[str]]:
        """Gids of every live Asana object (children of deleted parents do not count)."""
        state = httpx.get(f"{self.asana}/_sim/state").json()
        tasks = {g for g, t in state["tasks"].items() if not t.get("deleted")}
        projects = {g for g, p in state["projects"].items() if not p.get("deleted")}
        return {
            "projects": projects,
            "sections": {
                g for g, s in state["sections"].items() if not s.get("deleted") and s.get("project") in projects
            },
            "tasks": tasks,
            "tags": {g for g, t in state["tags"].items() if not t.get("deleted")},
            "stories": {g for g, s in state["stories"].items() if not s.get("deleted") and s.get("target") in tasks},
            "attachments": {
                g
                for g, a in state["attachments"].items()
                if not a.get("deleted") and a.get("parent") in tasks | projects
            },
        }


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    trello = trello_app(
        TrelloSeed(
            boards=1,
            cards_per_board=6,
            many_comments=2,
            members=2,
            attachment_sizes=(1024,),
            api_key=TRELLO_KEY,
            extra_tokens={TRELLO_TOKEN: "owner"},
        )
    )
    asana = asana_app(AsanaSeed(projects=1, tasks_per_project=3))  # content that predates Ferry
    with serve(trello) as t, serve(asana) as a:
        yield Sims(t, a)


@pytest.fixture(scope="module")
def org(running_app: RunningApp, dev_issuer: Any) -> Org:
    return create_org(running_app, dev_issuer, country="FR")


def _wait(c: httpx.Client, base: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = c.get(f"{base}/runs/{run_id}").json()
        if run["status"] in FINAL:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def _migration(c: httpx.Client, org: Org, sims: Sims, **extra: Any) -> str:
    src, dst = post_trello_and_asana(
        c, org.id, trello=sims.trello, asana=sims.asana, trello_key=TRELLO_KEY, trello_token=TRELLO_TOKEN
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
    mig = c.post(
        f"/api/orgs/{org.id}/migrations",
        json={
            "name": "modes",
            "sourceConnectorId": src.json()["id"],
            "destinationConnectorId": dst.json()["id"],
            "scopes": [{"id": b["id"]} for b in boards],
            "destinationWorkspace": workspace["id"],
            "pageSize": 20,
            **extra,
        },
    )
    assert mig.status_code == 201, mig.text
    return f"/api/orgs/{org.id}/migrations/{mig.json()['id']}"


def test_eta_retry_failed_and_rollback(running_app: RunningApp, org: Org, sims: Sims) -> None:
    with running_app.client(org.admin_token) as c:
        base = _migration(c, org, sims)
        before = sims.asana_live()
        assert before["projects"] and before["tasks"]

        dry = _wait(c, base, c.post(f"{base}/runs", json={"mode": "dry_run"}).json()["id"])
        assert dry["status"] == "succeeded" and dry["eta"]["seconds"] == 0 and dry["eta"]["basis"] == "finished"
        planned = sum(dry["counts"][k].get("would_create", 0) for k in dry["counts"] if k != "scope")

        # two comments are refused (400) by the destination: they fail alone
        httpx.post(
            f"{sims.asana}/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "status",
                        "status": 400,
                        "method": "POST",
                        "path": "/stories$",
                        "count": 2,
                        "body": '{"errors":[{"message":"text: simulated refusal"}]}',
                    }
                ]
            },
        ).raise_for_status()
        started = c.post(f"{base}/runs", json={"mode": "full"})
        assert started.status_code == 202
        run_id = started.json()["id"]
        paused = c.post(f"{base}/runs/{run_id}/pause")  # hold it still to read its ETA
        assert paused.status_code == 200, paused.text
        view = c.get(f"{base}/runs/{run_id}").json()
        eta = view["eta"]
        assert eta["basis"] == f"dry_run:{dry['id']}"
        assert eta["requestsPerSecond"] and eta["requestsPerSecond"] > 0
        assert 0 < eta["itemsLeft"] <= planned and eta["seconds"] is not None and eta["seconds"] > 0
        assert eta["seconds"] == pytest.approx(eta["requestsLeft"] / eta["requestsPerSecond"], abs=0.11)
        assert c.post(f"{base}/runs/{run_id}/resume").status_code == 200
        full = _wait(c, base, run_id)
        assert full["status"] == "partially_succeeded", full
        assert full["counts"]["comment"]["failed"] == 2
        created = {k: v.get("created", 0) for k, v in full["counts"].items()}

        # retry_failed: only the two comments, only the comment pages of their boards
        writes, reads = sims.asana_writes(), sims.trello_reads()
        retry = c.post(f"{base}/runs", json={"mode": "retry_failed"})
        assert retry.status_code == 202, retry.text
        retried = _wait(c, base, retry.json()["id"])
        assert retried["status"] == "succeeded", retried
        assert retried["counts"]["comment"] == {"created": 2}
        assert set(retried["counts"]) <= {"comment", "adapt"}, retried["counts"]
        assert sims.asana_writes() - writes == 2
        read_now = sims.trello_reads()
        during = {r: n - reads.get(r, 0) for r, n in read_now.items() if n - reads.get(r, 0)}
        assert not any("/lists" in r or "/labels" in r for r in during), during
        again = c.post(f"{base}/runs", json={"mode": "retry_failed"})
        assert again.status_code == 409  # nothing failed any more

        # rollback: back to the content that predates Ferry, children before parents
        rollback = _wait(c, base, c.post(f"{base}/rollback").json()["id"])
        assert rollback["status"] == "succeeded", rollback
        assert sims.asana_live() == before
        for kind in ("task", "comment", "project"):
            deleted = rollback["counts"][kind]["deleted"]
            assert deleted == created.get(kind, 0) + (2 if kind == "comment" else 0), (kind, rollback["counts"])
        report = c.get(f"{base}/runs/{rollback['id']}/report").json()["items"]
        assert report and {r["action"] for r in report} == {"deleted"}

        writes = sims.asana_writes()
        second = _wait(c, base, c.post(f"{base}/rollback").json()["id"])
        assert second["status"] == "succeeded" and second["counts"] == {}
        assert sims.asana_writes() == writes  # a second rollback is a no-op
        # (a full run after a rollback creates everything anew: tests/integration/test_rollback_cosmos.py)


def test_verify_run_and_verify_after_run(running_app: RunningApp, org: Org, sims: Sims) -> None:
    """`verify` through the public API: every migrated item `ok`, a planted edit `different`
    (field named, value not), no write at either side; `verifyAfterRun` starts one by itself."""
    with running_app.client(org.admin_token) as c:
        base = _migration(c, org, sims)
        full = _wait(c, base, c.post(f"{base}/runs", json={"mode": "full"}).json()["id"])
        assert full["status"] == "succeeded", full
        writes = sims.asana_writes()
        verify = c.post(f"{base}/runs", json={"mode": "verify"})
        assert verify.status_code == 202, verify.text
        clean = _wait(c, base, verify.json()["id"])
        defects = [r for r in c.get(f"{base}/runs/{clean['id']}/report").json()["items"] if r["action"] != "ok"]
        assert clean["status"] == "succeeded", "\n".join(f"{r['kind']} {r['action']} {r['reason']}" for r in defects)
        assert clean["counts"]["task"].get("ok", 0) >= 6, clean["counts"]
        assert not any(
            k in v for v in clean["counts"].values() for k in ("missing", "different", "duplicate", "unexpected")
        ), clean["counts"]
        assert sims.asana_writes() == writes  # reads only
        # plant a defect at the destination: a migrated task renamed by someone
        report = c.get(f"{base}/runs/{full['id']}/report").json()["items"]
        task = next(r for r in report if r["kind"] == "task" and r["action"] == "created")
        httpx.put(
            f"{sims.asana}/api/1.0/tasks/{task['destinationId']}",
            headers={"Authorization": f"Bearer {ASANA_TOKEN}"},
            json={"data": {"name": "Renamed at the destination"}},
        ).raise_for_status()
        found = _wait(c, base, c.post(f"{base}/runs", json={"mode": "verify"}).json()["id"])
        assert found["status"] == "partially_succeeded", found
        assert found["counts"]["task"]["different"] == 1, found["counts"]
        rows = c.get(f"{base}/runs/{found['id']}/report").json()["items"]
        (row,) = [r for r in rows if r["action"] == "different"]
        assert row["sourceId"] == task["sourceId"] and "task.name" in row["reason"]
        assert "Renamed" not in row["reason"]
        logs = c.get(f"/api/orgs/{org.id}/runs/{found['id']}/logs").json()["items"]
        assert any(line.get("event") == "item.different" for line in logs), logs[-5:]

        # verifyAfterRun: a full run is followed by a verify run, started by the worker
        after = _migration(c, org, sims, verifyAfterRun=True)
        assert c.get(after).json()["verifyAfterRun"] is True
        first = _wait(c, after, c.post(f"{after}/runs", json={"mode": "full"}).json()["id"])
        assert first["status"] == "succeeded", first
        deadline = time.monotonic() + 120
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = c.get(f"{after}/runs").json()["items"]
            verifies = [r for r in runs if r["mode"] == "verify" and r["status"] in FINAL]
            if verifies:
                view = c.get(f"{after}/runs/{verifies[0]['id']}").json()
                assert view["status"] == "succeeded", view
                assert view["counts"]["task"].get("ok", 0) >= 6, view["counts"]
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"no verify run followed the full run: {runs}")
