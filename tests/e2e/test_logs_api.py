"""Run logs through the API and the local runner: pages, long-poll, live SSE with
Last-Event-ID resume, failures view, deletion on request."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from shared.errors import SkippableItemError
from shared.logs.model import LogEvent
from shared.logs.writer import RunLogWriter
from shared.tenancy.context import TenantContext
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, add_member, create_org, problem


async def _run(stores: Any, org: Org, status: str = "running") -> tuple[TenantContext, str]:
    ctx = TenantContext.for_org(stores, org.id)
    run_id = f"run_{uuid.uuid4().hex[:12]}"
    await (
        stores.cosmos(ctx.region)
        .container("runs")
        .upsert_item({"id": run_id, "tenantId": org.id, "pk": org.id, "status": status})
    )
    return ctx, run_id


async def _write(ctx: TenantContext, run_id: str, ids: range, *, fail_every: int = 0) -> None:
    async with RunLogWriter(ctx, run_id) as log:
        for i in ids:
            if fail_every and i % fail_every == 0:
                log.failure(kind="task", source_id=f"t{i}", error=SkippableItemError("x"), code="over_size_limit")
            else:
                log.item(LogEvent.ITEM_CREATED, kind="task", source_id=f"t{i}", dest_id=f"d{i}")


def _events(lines: list[str]) -> list[dict[str, Any]]:
    """Parse SSE lines into events (id, event, data)."""
    out, current = [], {}
    for line in lines:
        if not line:
            if current:
                out.append(current)
            current = {}
        elif not line.startswith(":") and ":" in line:
            key, _, value = line.partition(":")
            current[key] = value.removeprefix(" ")
    return out


async def _read_events(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], count: int | None, until_end: bool = False
) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    pending: list[str] = []
    async with client.stream("GET", url, headers={"Accept": "text/event-stream", **headers}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            pending.append(line)
            if line == "":
                got += [e for e in _events(pending) if "event" in e]
                pending = []
                if count is not None and len([e for e in got if e["event"] == "log"]) >= count:
                    return got
                if until_end and got and got[-1]["event"] == "end":
                    return got
    return got


async def test_pages_levels_failures_and_unknown_runs(running_app: RunningApp, dev_issuer: Any, stores: Any) -> None:
    org = create_org(running_app, dev_issuer)
    outsider = create_org(running_app, dev_issuer)
    ctx, run_id = await _run(stores, org)
    await _write(ctx, run_id, range(25), fail_every=10)
    base = f"/api/orgs/{org.id}/runs/{run_id}/logs"
    seen, cursor = [], None
    with running_app.client(org.admin_token) as c:
        while True:
            r = c.get(base, params={"limit": 7, **({"after": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            seen += r.json()["items"]
            cursor = r.json()["cursor"]
            if not r.json()["items"]:
                break
        errors = c.get(base, params={"level": "error"}).json()["items"]
        failures = c.get(f"{base}/failures").json()
        bad_cursor = c.get(base, params={"after": "x;1"})
        missing = c.get(f"/api/orgs/{org.id}/runs/run_nope/logs")
    assert [line["sourceId"] for line in seen] == [f"t{i}" for i in range(25)]
    assert [line["sourceId"] for line in errors] == ["t0", "t10", "t20"]
    assert failures["summary"]["failures"] == 3 and failures["summary"]["byCode"] == {"over_size_limit": 3}
    assert bad_cursor.status_code == 422 and problem(bad_cursor)["type"] == "urn:ferry:problem:validation"
    assert missing.status_code == 404
    with running_app.client(outsider.admin_token) as c:  # another org's admin: the org is not found
        assert "organisation not found" in c.get(base).text


async def test_long_poll_answers_when_a_line_arrives(running_app: RunningApp, dev_issuer: Any, stores: Any) -> None:
    org = create_org(running_app, dev_issuer)
    ctx, run_id = await _run(stores, org)
    await _write(ctx, run_id, range(2))
    async with httpx.AsyncClient(
        base_url=running_app.base_url, timeout=30, headers={"Authorization": f"Bearer {org.admin_token}"}
    ) as c:
        first = (await c.get(f"/api/orgs/{org.id}/runs/{run_id}/logs")).json()

        async def later() -> None:
            await asyncio.sleep(0.5)
            await _write(ctx, run_id, range(2, 3))

        task = asyncio.create_task(later())
        r = await c.get(f"/api/orgs/{org.id}/runs/{run_id}/logs", params={"after": first["cursor"], "wait": 20})
        await task
    assert [line["sourceId"] for line in r.json()["items"]] == ["t2"]


async def test_sse_streams_live_and_resumes_from_last_event_id(
    running_app: RunningApp, dev_issuer: Any, stores: Any
) -> None:
    org = create_org(running_app, dev_issuer)
    ctx, run_id = await _run(stores, org)
    await _write(ctx, run_id, range(10))
    url = f"/api/orgs/{org.id}/runs/{run_id}/logs"
    async with httpx.AsyncClient(
        base_url=running_app.base_url, timeout=30, headers={"Authorization": f"Bearer {org.admin_token}"}
    ) as c:
        first = await _read_events(c, url, {}, count=4)  # the client drops after 4 lines
        last_id = [e for e in first if e["event"] == "log"][-1]["id"]

        # Reconnect with Last-Event-ID while lines keep arriving: live lines reach the open stream.
        async def more() -> None:
            await asyncio.sleep(0.8)
            await _write(ctx, run_id, range(10, 15))

        writer = asyncio.create_task(more())
        second = await _read_events(c, url, {"Last-Event-ID": last_id}, count=11)
        await writer
        # The run ends: the stream sends what is left, then `end`.
        await (
            stores.cosmos(ctx.region)
            .container("runs")
            .upsert_item({"id": run_id, "tenantId": org.id, "pk": org.id, "status": "succeeded"})
        )
        last_id = [e for e in second if e["event"] == "log"][-1]["id"]
        third = await _read_events(c, url, {"Last-Event-ID": last_id}, count=None, until_end=True)
    ids = [json.loads(e["data"])["sourceId"] for e in first + second + third if e["event"] == "log"]
    assert ids[:4] == ["t0", "t1", "t2", "t3"]
    assert ids == [f"t{i}" for i in range(15)]  # no gap, no repeat across three connections
    assert third[-1]["event"] == "end"
    assert all(e["id"] == json.loads(e["data"])["id"] for e in first + second if e["event"] == "log")


async def test_logs_deleted_on_request_by_admins_only(running_app: RunningApp, dev_issuer: Any, stores: Any) -> None:
    org = create_org(running_app, dev_issuer)
    external = add_member(running_app, dev_issuer, org, "ext", member_type="external")
    ctx, run_id = await _run(stores, org, status="succeeded")
    await _write(ctx, run_id, range(3))
    url = f"/api/orgs/{org.id}/runs/{run_id}/logs"
    with running_app.client(external) as c:
        assert len(c.get(url).json()["items"]) == 3  # externals read logs
        assert c.delete(url).status_code == 403
    with running_app.client(org.admin_token) as c:
        assert c.delete(url).status_code == 204
        assert c.get(url).json()["items"] == []
        actions = [(e["action"], e["target"]) for e in c.get(f"/api/orgs/{org.id}/audit").json()["items"]]
    assert ("logs.deleted", run_id) in actions
