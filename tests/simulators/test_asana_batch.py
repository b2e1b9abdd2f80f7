"""Asana's Batch API in the Asana simulator (``POST /batch``; tag "Batch API" in
asana_oas.yaml): actions run as if sent alone, results come back in order, the whole batch
is counted per action against the rate and concurrency limits (and refused as a whole with
429), ``/_sim/stats`` counts it once with its actions apart, and fault rules apply to each
action and to the batch call itself. Every vendor-path exchange is validated against the
spec (requests to ``/batch`` too)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app, token_for
from simulators.asana.spec import is_vendor_path, load_spec, validate_request, validate_response
from simulators.common import FakeClock, SimulatedDrop, serve

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

SMALL = SeedConfig(projects=1, tasks_per_project=6, attachment_sizes=[], external_links=0, deleted_per_project=0)
API = "/api/1.0"


@pytest.fixture(scope="session", autouse=True)
def _spec_once() -> None:
    load_spec()


async def _validate(response: httpx.Response) -> None:
    path = response.request.url.path
    if not is_vendor_path(path) or response.status_code in (429, 502, 503, 504):
        return
    if path == f"{API}/batch" and not response.request.extensions.get("off_spec"):
        validate_request(response.request)
    validate_response(response)


@pytest.fixture
async def sim(asgi_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(SMALL, clock=FakeClock())
    async with asgi_client(app, base_url="http://sim", on_response=_validate) as client:
        client.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        yield app, client


async def _batch(
    c: httpx.AsyncClient, actions: list[dict[str, Any]], *, off_spec: bool = False, **params: str
) -> httpx.Response:
    """``POST /batch``; ``off_spec`` for the bodies a test sends against the spec on purpose
    (the request is then not validated, the answer still is)."""
    body = {"data": {"actions": actions}}
    return await c.post(f"{API}/batch", params=params, json=body, extensions={"off_spec": off_spec})


async def _project_and_task(c: httpx.AsyncClient) -> tuple[str, str]:
    ws = (await c.get(f"{API}/workspaces")).json()["data"][0]["gid"]
    project = (await c.get(f"{API}/projects", params={"workspace": ws})).json()["data"][0]["gid"]
    task = (await c.get(f"{API}/projects/{project}/tasks")).json()["data"][0]["gid"]
    return project, task


def _story(task: str, text: str) -> dict[str, Any]:
    return {"relative_path": f"/tasks/{task}/stories", "method": "post", "data": {"text": text}}


def _subtask(task: str, name: str) -> dict[str, Any]:
    return {"relative_path": f"/tasks/{task}/subtasks", "method": "post", "data": {"name": name}}


def _comments(app: Any, task: str) -> list[str]:
    store = app.state.asana_store
    return [s.text for s in store.stories.values() if s.target == task and s.type == "comment" and not s.deleted]


def _subtasks(app: Any, task: str) -> list[str]:
    store = app.state.asana_store
    return [store.tasks[g].name for g in store.tasks[task].subtask_gids]


# --- actions ---------------------------------------------------------------------------------


async def test_actions_run_as_if_alone_and_answer_in_order(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    project, task = await _project_and_task(c)
    r = await _batch(
        c,
        [
            _story(task, "batched comment"),
            _subtask(task, "batched subtask"),
            {"relative_path": f"/tasks/{task}", "method": "put", "data": {"name": "renamed in batch", "notes": "n"}},
            {"relative_path": f"/tasks/{task}", "method": "get", "options": {"fields": ["name", "notes"]}},
        ],
    )
    assert r.status_code == 200
    results = r.json()["data"]
    assert [x["status_code"] for x in results] == [201, 201, 200, 200]
    story, sub, updated, narrowed = (x["body"]["data"] for x in results)
    # the objects exist afterwards exactly as single calls show them
    again = (await c.get(f"{API}/stories/{story['gid']}")).json()["data"]
    assert again == {**story, "target": {**story["target"], "name": "renamed in batch"}}  # renamed after
    again = (await c.get(f"{API}/tasks/{sub['gid']}")).json()["data"]
    assert again == {**sub, "parent": {**sub["parent"], "name": "renamed in batch"}}
    assert sub["parent"]["gid"] == task and sub["name"] == "batched subtask"
    assert updated["name"] == "renamed in batch" and updated["notes"] == "n"
    assert story["gid"] in [s["gid"] for s in (await c.get(f"{API}/tasks/{task}/stories")).json()["data"]]
    # options.fields narrows the answer exactly like opt_fields
    single = await c.get(f"{API}/tasks/{task}", params={"opt_fields": "name,notes"})
    assert narrowed == single.json()["data"] == {"gid": task, "name": "renamed in batch", "notes": "n"}
    # a comment made by a single call has the same shape as the batched one
    alone = (await c.post(f"{API}/tasks/{task}/stories", json={"data": {"text": "alone"}})).json()["data"]
    assert set(alone) == set(story) and alone["created_by"] == story["created_by"]
    assert _comments(app, task)[-2:] == ["batched comment", "alone"]


async def test_get_data_is_the_query_and_options_paginate(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    project, _ = await _project_and_task(c)
    r = await _batch(
        c,
        [
            {
                "relative_path": "/tasks",
                "method": "get",
                "data": {"project": project},
                "options": {"limit": 2, "fields": ["name"]},
            },
            {"relative_path": "/tasks", "method": "get", "data": {"project": project, "limit": 2}},
            {"relative_path": f"/tasks?project={project}", "method": "get"},
        ],
    )
    page, in_data, in_path = r.json()["data"]
    assert page["status_code"] == 200 and len(page["body"]["data"]) == 2
    assert all(set(t) == {"gid", "name"} for t in page["body"]["data"])
    alone = (await c.get(f"{API}/tasks", params={"project": project, "limit": 2, "opt_fields": "name"})).json()
    assert page["body"]["data"] == alone["data"]
    # the offset a batched page hands out continues the listing in a single call
    next_page = page["body"]["next_page"]
    assert next_page["path"].startswith("/tasks?") and f"project={project}" in next_page["path"]
    follow = {"project": project, "limit": 2, "opt_fields": "name", "offset": next_page["offset"]}
    rest = await c.get(f"{API}/tasks", params=follow)
    assert rest.status_code == 200 and rest.json()["data"][0]["gid"] not in {t["gid"] for t in alone["data"]}
    # "Options and pagination are not accepted here" / "Query parameters are not accepted here"
    assert in_data["status_code"] == 400 and "options" in in_data["body"]["errors"][0]["message"]
    assert in_path["status_code"] == 400 and "data instead" in in_path["body"]["errors"][0]["message"]


async def test_actions_run_as_the_batch_user() -> None:
    app = create_app(SeedConfig(workspaces=2, users_per_workspace=2, projects=1, tasks_per_project=2))
    store = app.state.asana_store
    ws1, ws2 = list(store.workspaces)
    task1 = next(t.gid for t in store.tasks.values() if t.workspace == ws1 and not t.deleted)
    task2 = next(t.gid for t in store.tasks.values() if t.workspace == ws2 and not t.deleted)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://sim{API}",
        headers={"Authorization": f"Bearer {token_for(2)}"},  # a user of the second workspace
    ) as c:
        r = await c.post(
            "/batch",
            json={
                "data": {
                    "actions": [
                        {"relative_path": "/users/me", "method": "get", "options": {"fields": ["email"]}},
                        {"relative_path": f"/tasks/{task1}", "method": "get"},
                        {"relative_path": f"/tasks/{task2}", "method": "get"},
                    ]
                }
            },
        )
    me, foreign, own = r.json()["data"]
    assert me["body"]["data"]["email"].endswith("@ws2.example.com")
    assert foreign["status_code"] == 403 and own["status_code"] == 200


# --- malformed batches and refused actions ---------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"data": {"actions": []}}',
        b'{"data": {"actions": [' + b",".join([b'{"relative_path": "/users/me", "method": "get"}'] * 11) + b"]}}",
        b'{"data": {"actions": [{"relative_path": "/users/me", "method": "get"}',
        b'{"data": {}}',
        b'{"actions": [{"relative_path": "/users/me", "method": "get"}]}',
        b"",
    ],
    ids=["no-actions", "eleven-actions", "bad-json", "no-actions-field", "no-data-envelope", "empty"],
)
async def test_malformed_batches_answer_400(sim: tuple[Any, httpx.AsyncClient], content: bytes) -> None:
    app, c = sim
    window = app.state.sim.limiters["requests"]
    before = window.remaining(DEFAULT_TOKEN)
    r = await c.post(
        f"{API}/batch", content=content, headers={"Content-Type": "application/json"}, extensions={"off_spec": True}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"]
    assert window.remaining(DEFAULT_TOKEN) == before - 1  # not countable: one request
    stats = (await c.get("/_sim/stats")).json()
    assert not [k for k in stats["by_route"] if k.startswith("batch ›")]  # nothing ran


async def test_eleven_actions_run_none(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    before = _comments(app, task)
    r = await _batch(c, [_story(task, f"c{i}") for i in range(11)])
    assert r.status_code == 400 and "at most 10" in r.json()["errors"][0]["message"]
    assert _comments(app, task) == before


async def test_uploads_and_nested_batches_are_refused_per_action(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    r = await _batch(
        c,
        [
            {"relative_path": "/attachments", "method": "post", "data": {"parent": task, "name": "a.txt"}},
            _story(task, "still runs"),
            {"relative_path": "/batch", "method": "post", "data": {"actions": [_story(task, "nested")]}},
            {"relative_path": "/tasks/1", "method": "fetch"},
            _subtask(task, "also runs"),
            {"relative_path": "/users/me", "method": "GET"},  # the spec's enum is lowercase
        ],
        off_spec=True,
    )
    assert r.status_code == 200
    results = r.json()["data"]
    assert [x["status_code"] for x in results] == [400, 201, 400, 400, 201, 200]
    assert "attachments" in results[0]["body"]["errors"][0]["message"].lower()
    assert "batch" in results[2]["body"]["errors"][0]["message"].lower()
    assert _comments(app, task)[-1] == "still runs" and "nested" not in _comments(app, task)
    assert _subtasks(app, task)[-1] == "also runs"
    assert not [a for a in app.state.asana_store.attachments.values() if a.parent == task]


async def test_every_action_failing_still_answers_200(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    r = await _batch(
        c,
        [
            {"relative_path": "/tasks/999", "method": "get"},
            {"relative_path": "/no/such/route", "method": "get"},
            {"relative_path": "/tasks/999", "method": "put", "data": {"name": "x"}},
            {"relative_path": "/tasks", "method": "post"},
        ],
    )
    assert r.status_code == 200
    assert [x["status_code"] for x in r.json()["data"]] == [404, 404, 404, 400]
    assert all("errors" in x["body"] for x in r.json()["data"])


async def test_opt_fields_of_the_batch_itself(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    r = await _batch(c, [{"relative_path": "/users/me", "method": "get"}], opt_fields="status_code")
    assert r.json()["data"] == [{"status_code": 200}]


async def test_unauthenticated_batch_is_401(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    r = await c.post(
        f"{API}/batch",
        json={"data": {"actions": [{"relative_path": "/users/me", "method": "get"}]}},
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401


# --- rate limits -----------------------------------------------------------------------------


async def test_window_counts_each_action_and_refuses_the_whole_batch(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    await c.post("/_sim/limits", json={"limiters": {"requests": {"limit": 8}}, "reset": True})
    window = app.state.sim.limiters["requests"]
    assert window.remaining(DEFAULT_TOKEN) == 8
    r = await _batch(c, [{"relative_path": "/users/me", "method": "get"}] * 5)
    assert r.status_code == 200 and len(r.json()["data"]) == 5
    assert window.remaining(DEFAULT_TOKEN) == 3  # five actions; the batch call itself is free
    store = app.state.asana_store
    before = store.dump()
    refused = await _batch(c, [_story(task, f"over {i}") for i in range(4)])
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "too many requests" in refused.json()["errors"][0]["message"]
    assert store.dump() == before  # none of its actions ran
    assert window.remaining(DEFAULT_TOKEN) == 0  # refused actions count too
    app.state.sim.clock.advance(60)
    ok = await _batch(c, [_story(task, f"later {i}") for i in range(4)])
    assert [x["status_code"] for x in ok.json()["data"]] == [201] * 4
    stats = (await c.get("/_sim/stats")).json()
    assert stats["throttled"] == 1


async def test_concurrency_counts_each_action_while_the_batch_runs(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    writes, reads = app.state.sim.limiters["writes"], app.state.sim.limiters["reads"]
    assert writes.max_in_flight == 15
    store = app.state.asana_store
    seen: list[tuple[int, int]] = []
    add_story = store.add_story

    def spy(story: Any) -> Any:
        seen.append((writes.in_flight(DEFAULT_TOKEN), reads.in_flight(DEFAULT_TOKEN)))
        return add_story(story)

    store.add_story = spy
    r = await _batch(c, [_story(task, "a"), _story(task, "b"), {"relative_path": "/users/me", "method": "get"}])
    assert r.status_code == 200
    assert seen == [(2, 1), (2, 1)]  # one slot per action, of its kind, for the whole batch
    assert writes.in_flight(DEFAULT_TOKEN) == reads.in_flight(DEFAULT_TOKEN) == 0
    before = _comments(app, task)
    async with AsyncExitStack() as held:
        for _ in range(6):
            assert await held.enter_async_context(writes.slot(DEFAULT_TOKEN))
        refused = await _batch(c, [_story(task, f"w{i}") for i in range(10)])
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert _comments(app, task) == before
        assert writes.in_flight(DEFAULT_TOKEN) == 6  # the slots it could take were given back
        fits = await _batch(c, [_story(task, f"w{i}") for i in range(9)])  # 6 + 9 = 15
        assert fits.status_code == 200
        # reads are a limiter of their own
        for _ in range(9):
            assert await held.enter_async_context(writes.slot(DEFAULT_TOKEN))
        reads_only = await _batch(c, [{"relative_path": "/users/me", "method": "get"}] * 10)
        assert reads_only.status_code == 200
        mixed = await _batch(c, [{"relative_path": "/users/me", "method": "get"}, _story(task, "x")])
        assert mixed.status_code == 429
    assert writes.in_flight(DEFAULT_TOKEN) == 0


async def test_concurrent_batches_share_the_limit(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    await c.post("/_sim/limits", json={"limiters": {"writes": {"max_in_flight": 3}}})
    # The first batch streams its answer slowly, so its two slots stay taken.
    await c.post(
        "/_sim/faults",
        json={"faults": [{"kind": "slow_body", "path": "/batch$", "count": 1, "bytes_per_s": 200}]},
    )
    writes = app.state.sim.limiters["writes"]
    slow = asyncio.create_task(_batch(c, [_story(task, "s1"), _story(task, "s2")], opt_fields="status_code"))
    for _ in range(500):
        if writes.in_flight(DEFAULT_TOKEN):
            break
        await asyncio.sleep(0.01)
    assert (await _batch(c, [_story(task, "t1"), _story(task, "t2")])).status_code == 429
    assert (await _batch(c, [_story(task, "t3")])).status_code == 200
    assert (await slow).status_code == 200


# --- stats and faults ------------------------------------------------------------------------


async def test_stats_count_the_batch_once_and_its_actions_apart(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, task = await _project_and_task(c)
    await c.post("/_sim/stats/reset")
    r = await _batch(c, [_story(task, "a"), _story(task, "b"), {"relative_path": f"/tasks/{task}", "method": "get"}])
    assert r.status_code == 200
    stats = (await c.get("/_sim/stats")).json()
    assert stats["total"] == 1 and stats["by_status"] == {"200": 1}
    outer = {k: v for k, v in stats["by_route"].items() if not k.startswith("batch ›")}
    assert list(outer.values()) == [{"200": 1}] and next(iter(outer)).endswith("/batch")
    assert stats["by_route"]["batch › POST /api/1.0/tasks/{task_gid}/stories"] == {"201": 2}
    assert stats["by_route"]["batch › GET /api/1.0/tasks/{task_gid}"] == {"200": 1}


async def test_fault_rules_apply_to_each_action(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    name = app.state.asana_store.tasks[task].name
    plan = {
        "faults": [
            {"kind": "status", "status": 503, "method": "POST", "path": "/tasks/*/stories", "count": 1},
            {"kind": "apply_then_status", "status": 502, "method": "POST", "path": "/tasks/*/subtasks"},
            {"kind": "drop", "method": "PUT", "path": "/tasks/*$"},
        ]
    }
    assert (await c.post("/_sim/faults", json=plan)).status_code == 200
    before = _comments(app, task)
    r = await _batch(
        c,
        [
            _story(task, "faulted"),
            _subtask(task, "applied"),
            {"relative_path": f"/tasks/{task}", "method": "put", "data": {"name": "dropped"}},
            _story(task, "runs"),
        ],
    )
    assert r.status_code == 200
    results = r.json()["data"]
    assert [x["status_code"] for x in results] == [503, 502, 504, 201]
    assert results[0]["body"] == {"error": "simulated fault"}
    assert _comments(app, task) == [*before, "runs"]  # the 503 one did not run, the other did
    assert _subtasks(app, task)[-1] == "applied"  # apply_then_status: it ran
    assert app.state.asana_store.tasks[task].name == name  # drop: it did not run
    injected = (await c.get("/_sim/faults")).json()["injected"]
    assert [(i["kind"], i["status"], i.get("applied_status")) for i in injected] == [
        ("status", 503, None),
        ("apply_then_status", 502, 201),
        ("drop", 504, None),
    ]
    stats = (await c.get("/_sim/stats")).json()
    assert stats["by_route"]["batch › POST /api/1.0/tasks/{task_gid}/stories"] == {"503": 1, "201": 1}


async def test_apply_then_drop_on_the_batch_applies_every_action(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, task = await _project_and_task(c)
    await c.post("/_sim/faults", json={"faults": [{"kind": "apply_then_drop", "method": "POST", "path": "/batch$"}]})
    with pytest.raises(SimulatedDrop):
        await _batch(
            c,
            [
                _story(task, "lost answer"),
                _subtask(task, "lost answer too"),
                {"relative_path": f"/tasks/{task}", "method": "put", "data": {"name": "renamed, answer lost"}},
            ],
        )
    store = app.state.asana_store
    assert _comments(app, task)[-1] == "lost answer"
    assert _subtasks(app, task)[-1] == "lost answer too"
    assert store.tasks[task].name == "renamed, answer lost"
    stats = (await c.get("/_sim/stats")).json()
    assert [v for k, v in stats["by_route"].items() if k.endswith("/batch")] == [{"drop": 1}]
    assert stats["by_route"]["batch › POST /api/1.0/tasks/{task_gid}/stories"] == {"201": 1}


def test_real_server_drops_a_batch() -> None:
    app = create_app(SMALL)
    store = app.state.asana_store
    task = next(t.gid for t in store.tasks.values() if not t.deleted and t.parent is None)
    actions = {"data": {"actions": [_story(task, "over the wire"), _subtask(task, "wired")]}}
    with serve(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}) as c:
        c.post("/_sim/faults", json={"faults": [{"kind": "drop", "path": "/batch$"}]})
        with pytest.raises(httpx.TransportError):
            c.post(f"{API}/batch", json=actions)
        assert "over the wire" not in _comments(app, task)  # drop: nothing ran
        c.post("/_sim/faults", json={"faults": [{"kind": "apply_then_drop", "path": "/batch$"}]})
        with pytest.raises(httpx.TransportError):
            c.post(f"{API}/batch", json=actions)
        assert _comments(app, task)[-1] == "over the wire" and _subtasks(app, task)[-1] == "wired"
        r = c.post(f"{API}/batch", json=actions)
        assert r.status_code == 200 and [x["status_code"] for x in r.json()["data"]] == [201, 201]
