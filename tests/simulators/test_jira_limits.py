"""Jira simulator: the burst and per-issue write limits (429 + Retry-After and Jira's
rate-limit headers, on a fake clock) and the fault API over a real socket, including a
create that is applied and whose answer is then lost."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock, serve
from simulators.jira import DEFAULT_EMAIL, DEFAULT_TOKEN, SeedConfig, create_app

API = "/rest/api/3"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{DEFAULT_EMAIL}:{DEFAULT_TOKEN}".encode()).decode()}
TINY = SeedConfig(
    projects=1, issues_per_project=3, subtasks_every=0, comments_per_issue=0, attachment_sizes=[], links=0
)


@pytest.fixture
async def sim(
    asgi_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(TINY, clock=fake_clock)
    async with asgi_client(app) as client:
        client.headers.update(AUTH)
        yield app, client


def _comment(i: int) -> dict[str, Any]:
    return {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": f"c{i}"}]}],
        }
    }


async def test_per_issue_write_limit(sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock) -> None:
    app, c = sim
    store = app.state.jira_store
    issue, other = sorted(store.issues.values(), key=lambda i: int(i.id))[:2]
    for i in range(20):  # 20 writes within 2 s are allowed
        assert (await c.post(f"{API}/issue/{issue.key}/comment", json=_comment(i))).status_code == 201
    refused = await c.put(f"{API}/issue/{issue.id}", json={"fields": {"summary": "x"}})
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Limit"] == "20"
    assert refused.headers["X-RateLimit-Reset"].endswith("Z")
    assert store.issues[issue.id].summary != "x"  # refused: not applied
    # another issue is not limited, nor are reads of this one
    assert (await c.put(f"{API}/issue/{other.id}", json={"fields": {"summary": "y"}})).status_code == 204
    assert (await c.get(f"{API}/issue/{issue.id}")).status_code == 200
    fake_clock.advance(2.5)
    assert (await c.put(f"{API}/issue/{issue.id}", json={"fields": {"summary": "x"}})).status_code == 204
    stats = (await c.get("/_sim/stats")).json()
    assert stats["throttled"] == 1


async def test_per_issue_long_window(sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock) -> None:
    app, c = sim
    issue = next(iter(app.state.jira_store.issues.values()))
    for i in range(100):  # 100 writes spread so the 2 s window never fills
        if i and i % 15 == 0:
            fake_clock.advance(2.1)
        r = await c.post(f"{API}/issue/{issue.id}/comment", json=_comment(i))
        assert r.status_code == 201, i
    fake_clock.advance(2.1)
    refused = await c.post(f"{API}/issue/{issue.id}/comment", json=_comment(100))
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "100"
    assert int(refused.headers["Retry-After"]) > 2


async def test_burst_limit_and_sim_limits_control(sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock) -> None:
    _, c = sim
    conf = await c.post("/_sim/limits", json={"limiters": {"burst_read": {"rate": 1, "capacity": 3}}})
    assert conf.json()["burst_read"] == {"type": "token_bucket", "rate": 1.0, "capacity": 3, "enabled": True}
    for _ in range(3):
        assert (await c.get(f"{API}/myself")).status_code == 200
    refused = await c.get(f"{API}/myself")
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["errorMessages"]
    # per API: another endpoint has its own bucket; writes have theirs
    assert (await c.get(f"{API}/project/search")).status_code == 200
    fake_clock.advance(1.0)
    assert (await c.get(f"{API}/myself")).status_code == 200
    await c.post("/_sim/limits", json={"enabled": False})
    for _ in range(10):
        assert (await c.get(f"{API}/myself")).status_code == 200


def test_faults_over_a_socket_incl_apply_then_drop() -> None:
    app = create_app(TINY)
    with serve(app) as base, httpx.Client(base_url=base, headers=AUTH, timeout=10) as http:
        store = app.state.jira_store
        before = len(store.issues)
        plan = {
            "faults": [
                {"kind": "apply_then_drop", "method": "POST", "path": "/rest/api/3/issue$"},
                {"kind": "status", "status": 503, "method": "POST", "path": "/issue/*/comment", "nth": 2},
            ]
        }
        assert http.post("/_sim/faults", json=plan).status_code == 200
        fields = {"project": {"key": "FER"}, "issuetype": {"name": "Task"}, "summary": "lost"}
        with pytest.raises(httpx.TransportError):
            http.post(f"{API}/issue", json={"fields": fields})
        assert len(store.issues) == before + 1  # the write happened; its answer was lost
        found = http.get(f"{API}/search/jql", params={"jql": "project = FER", "fields": "summary", "maxResults": 100})
        assert "lost" in {i["fields"]["summary"] for i in found.json()["issues"]}
        again = http.post(f"{API}/issue", json={"fields": fields})
        assert again.status_code == 201  # count 1: the rule is spent
        key = again.json()["key"]
        codes = [http.post(f"{API}/issue/{key}/comment", json=_comment(i)).status_code for i in range(3)]
        assert codes == [201, 503, 201]  # nth=2 hits exactly the second call
        comments = http.get(f"{API}/issue/{key}/comment").json()
        assert comments["total"] == 2  # the 503 came before the write
        injected = http.get("/_sim/faults").json()["injected"]
        assert [(f["kind"], f["status"]) for f in injected] == [("apply_then_drop", "drop"), ("status", 503)]
        stats = http.get("/_sim/stats").json()
        assert stats["faults_injected"] == 2 and stats["by_status"]["drop"] == 1
        assert http.delete("/_sim/faults").json()["faults"] == []
