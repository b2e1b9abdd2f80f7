"""Graph JSON batching in the Planner simulator (https://learn.microsoft.com/graph/json-batching):
requests run as if sent alone (etags, throttling, faults), ``dependsOn`` failures answer 424,
malformed batches 400, and the stats count the batch once with its requests apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.planner import SeedConfig, create_app
from tests.simulators.test_planner import _client, bearer, first_plan, user_token

CFG = SeedConfig(tasks_per_plan=4, deleted_tasks_per_plan=0)


@pytest.fixture
def app() -> Any:
    return create_app(CFG, clock=FakeClock(), app_limit=(1000, 10.0))


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


def _by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in body["responses"]}


async def test_requests_run_as_if_alone_in_dependency_order(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    _, plan = await first_plan(client, token)
    plan_id = plan["id"]
    task = (await client.get(f"/v1.0/planner/plans/{plan_id}/tasks", headers=bearer(token))).json()["value"][0]
    details = (await client.get(f"/v1.0/planner/tasks/{task['id']}/details", headers=bearer(token))).json()
    await client.post("/_sim/stats/reset")
    answer = await client.post(
        "/v1.0/$batch",
        headers=bearer(token),
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "PATCH",
                    "url": f"/planner/tasks/{task['id']}/details",
                    "headers": {
                        "Content-Type": "application/json",
                        "If-Match": details["@odata.etag"],
                        "Prefer": "return=representation",
                    },
                    "body": {"description": "batched"},
                },
                {"id": "2", "method": "GET", "url": f"/planner/tasks/{task['id']}/details", "dependsOn": ["1"]},
                {
                    "id": "3",
                    "method": "PATCH",
                    "url": f"/planner/tasks/{task['id']}/details",
                    "headers": {"Content-Type": "application/json", "If-Match": details["@odata.etag"]},
                    "body": {"description": "stale"},
                    "dependsOn": ["2"],
                },
                {"id": "4", "method": "GET", "url": f"/planner/tasks/{task['id']}", "dependsOn": ["3"]},
            ]
        },
    )
    assert answer.status_code == 200
    got = _by_id(answer.json())
    assert got["1"]["status"] == 200 and got["1"]["body"]["description"] == "batched"
    assert got["1"]["headers"]["ETag"] == got["1"]["body"]["@odata.etag"] != details["@odata.etag"]
    assert got["2"]["status"] == 200 and got["2"]["body"]["description"] == "batched"
    assert got["3"]["status"] == 412  # the etag the batch itself made stale
    assert got["4"]["status"] == 424  # its dependency failed: not run
    stats = (await client.get("/_sim/stats")).json()
    assert stats["total"] == 1 and stats["by_route"]["POST /v1.0/$batch"] == {"200": 1}
    assert stats["by_route"]["$batch › PATCH /v1.0/planner/tasks/{task_id}/details"] == {"200": 1, "412": 1}


async def test_throttling_and_faults_apply_to_each_request(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    _, plan = await first_plan(client, token)
    plan_id = plan["id"]
    await client.post(
        "/_sim/faults",
        json={
            "faults": [
                {
                    "kind": "status",
                    "status": 409,
                    "method": "GET",
                    "path": "/buckets$",
                    "count": 1,
                    "body": '{"error":{"code":"Conflict","message":"simulated"}}',
                }
            ]
        },
    )
    await client.post("/_sim/limits", json={"limiters": {"app": {"limit": 2}}, "reset": True})
    answer = await client.post(
        "/v1.0/$batch",
        headers=bearer(token),
        json={
            "requests": [
                {"id": "a", "method": "GET", "url": f"/planner/plans/{plan_id}/buckets"},
                {"id": "b", "method": "GET", "url": f"/planner/plans/{plan_id}"},
                {"id": "c", "method": "GET", "url": f"/planner/plans/{plan_id}/details"},
                {"id": "d", "method": "GET", "url": f"/planner/plans/{plan_id}/tasks"},
            ]
        },
    )
    got = _by_id(answer.json())
    assert got["a"]["status"] == 409  # the fault, before the limiter
    assert [got[k]["status"] for k in "bc"] == [200, 200]
    assert got["d"]["status"] == 429 and int(got["d"]["headers"]["Retry-After"]) >= 1
    assert (await client.get("/_sim/faults")).json()["faults"] == []
    assert (await client.get("/_sim/stats")).json()["throttled"] == 1


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"requests": []}, "format"),
        ({"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]}, "maximum of 20"),
        (
            {"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]},
            "unique",
        ),
        (
            {
                "requests": [
                    {"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]},
                    {"id": "2", "method": "GET", "url": "/me"},
                ]
            },
            "depends on",
        ),
        ({"requests": [{"id": "1", "method": "POST", "url": "/planner/tasks", "body": {}}]}, "Content-Type"),
        ({"requests": [{"id": "1", "method": "GET", "url": "https://elsewhere.test/v1.0/me"}]}, "relative"),
    ],
)
async def test_malformed_batches_are_refused(
    client: httpx.AsyncClient, app: Any, payload: dict[str, Any], needle: str
) -> None:
    token = await user_token(client, app)
    answer = await client.post("/v1.0/$batch", headers=bearer(token), json=payload)
    assert answer.status_code == 400 and needle in answer.json()["error"]["message"]


async def test_a_batch_needs_a_token(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1.0/$batch", json={"requests": [{"id": "1", "method": "GET", "url": "/me"}]})
    assert answer.status_code == 401
