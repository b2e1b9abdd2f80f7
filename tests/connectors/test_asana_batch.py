"""Asana writes made at the same time go out as one ``/batch`` (``AsanaClient`` on the kit's
``Coalescer``), against the simulator: what the vendor ends up with is what single calls
would have made, and a fault before or after an action applies ends as it would alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.connectors.asana import AsanaClient
from shared.errors import TransientError
from tests.connectors.test_asana import make_client, sim  # noqa: F401 - the module's simulator

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")


@pytest.fixture
async def client(sim: tuple[Any, str]) -> AsyncIterator[AsanaClient]:  # noqa: F811
    c = make_client(sim[1])
    await _sim(sim[1], "/stats/reset")
    yield c
    await _sim(sim[1], "/faults", {"faults": []})
    await c.aclose()


async def _sim(base: str, path: str, body: Any = None) -> None:
    async with httpx.AsyncClient() as http:
        (await http.post(f"{base}/_sim{path}", json=body)).raise_for_status()


async def _stats(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        stats: dict[str, Any] = (await http.get(f"{base}/_sim/stats")).json()
    return stats


def _throttled_once(path: str) -> dict[str, Any]:
    """A simulator fault: the next POST matching ``path`` answers 429, Retry-After 0."""
    return {
        "kind": "status",
        "status": 429,
        "method": "POST",
        "path": path,
        "count": 1,
        "headers": {"Retry-After": "0"},
    }


async def _comments(client: AsanaClient, task: str) -> list[str]:
    """The texts of the task's comment stories, in Asana's order."""
    stories = await client.get(f"/tasks/{task}/stories", opt_fields="text,type")
    return [s["text"] for s in stories if s["type"] == "comment"]


async def _a_task(client: AsanaClient) -> str:
    ws = (await client.get("/workspaces"))[0]["gid"]
    project = (await client.get("/projects", workspace=ws))[0]["gid"]
    return str((await client.post("/tasks", {"name": "parent", "projects": [project]}))["gid"])


async def test_writes_made_together_are_one_batch_and_land_as_single_calls_would(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    task = await _a_task(client)
    await _sim(sim[1], "/stats/reset")
    made = await asyncio.gather(
        *(client.post(f"/tasks/{task}/stories", {"text": f"comment {n}"}, opt_fields="created_at") for n in range(6)),
        client.put(f"/tasks/{task}", {"notes": "updated"}),
    )
    stats = await _stats(sim[1])
    assert stats["total"] == 1 and stats["by_route"]["POST /batch"] == {"200": 1}
    assert stats["by_route"]["batch › POST /api/1.0/tasks/{task_gid}/stories"] == {"201": 6}
    assert all(m["gid"] for m in made[:6]) and made[6]["notes"] == "updated"
    assert sorted(await _comments(client, task)) == [f"comment {n}" for n in range(6)]


async def test_one_write_after_another_is_never_in_the_same_batch(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    task = await _a_task(client)
    await _sim(sim[1], "/stats/reset")
    for n in range(3):
        await client.post(f"/tasks/{task}/stories", {"text": f"in order {n}"})
    assert (await _stats(sim[1]))["by_route"]["POST /batch"] == {"200": 3}
    assert await _comments(client, task) == [f"in order {n}" for n in range(3)]


async def test_an_update_refused_before_it_applied_is_sent_again_and_a_create_is_ambiguous(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    task = await _a_task(client)
    faults = [
        {"kind": "status", "status": 503, "method": "PUT", "path": r"/tasks/\d+$", "count": 1},
        {"kind": "apply_then_status", "status": 502, "method": "POST", "path": "/tasks/*/subtasks", "count": 1},
    ]
    await _sim(sim[1], "/faults", {"faults": faults})
    results = await asyncio.gather(
        client.put(f"/tasks/{task}", {"notes": "second try"}),
        client.post(f"/tasks/{task}/subtasks", {"name": "lost answer"}),
        client.post(f"/tasks/{task}/stories", {"text": "fine"}),
        return_exceptions=True,
    )
    assert results[0]["notes"] == "second try"  # the pacer's retry, in a later batch
    assert isinstance(results[1], TransientError)  # applied, answer lost: the engine reconciles
    assert results[2]["gid"]
    subtasks = await client.get(f"/tasks/{task}/subtasks", opt_fields="name")
    assert [s["name"] for s in subtasks] == ["lost answer"]  # made once, not twice
    routes = (await _stats(sim[1]))["by_route"]
    assert routes["batch › PUT /api/1.0/tasks/{task_gid}"] == {"503": 1, "200": 1}


async def test_a_batch_whose_answer_is_lost_leaves_every_create_to_the_engine(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    task = await _a_task(client)
    fault = {"kind": "apply_then_drop", "method": "POST", "path": "/batch$", "count": 1}
    await _sim(sim[1], "/faults", {"faults": [fault]})
    results = await asyncio.gather(
        *(client.post(f"/tasks/{task}/stories", {"text": f"dropped {n}"}) for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, TransientError) for r in results)  # ambiguous: not sent again
    assert sorted(await _comments(client, task)) == [f"dropped {n}" for n in range(3)]


async def test_a_throttled_batch_is_sent_again_whole_and_applies_once(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    task = await _a_task(client)
    await _sim(sim[1], "/stats/reset")
    fault = _throttled_once("/batch$")
    await _sim(sim[1], "/faults", {"faults": [fault]})
    await asyncio.gather(*(client.post(f"/tasks/{task}/stories", {"text": f"throttled {n}"}) for n in range(4)))
    assert sorted(await _comments(client, task)) == [f"throttled {n}" for n in range(4)]
    answered = {
        k: v for k, v in (await _stats(sim[1]))["by_route"].items() if k.startswith("POST ") and k.endswith("/batch")
    }
    assert sum(v.get("429", 0) for v in answered.values()) == 1 and sum(v.get("200", 0) for v in answered.values()) == 1


async def test_an_action_refused_with_429_is_sent_again_even_a_create(
    client: AsanaClient,
    sim: tuple[Any, str],  # noqa: F811
) -> None:
    """A 429 means the action did not run: a create is sent again, not left to reconcile."""
    task = await _a_task(client)
    fault = _throttled_once("/tasks/*/stories")
    await _sim(sim[1], "/faults", {"faults": [fault]})
    made = await asyncio.gather(*(client.post(f"/tasks/{task}/stories", {"text": f"again {n}"}) for n in range(2)))
    assert all(m["gid"] for m in made)
    assert sorted(await _comments(client, task)) == ["again 0", "again 1"]
