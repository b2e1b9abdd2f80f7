"""Deleting an organisation on request: API → deletions queue → job in the runner's
worker → nothing of the org left in any container or blob prefix; others untouched."""

from __future__ import annotations

import time
from typing import Any

from bench.purge_seed import footprint
from shared.logs.model import LogEvent
from shared.logs.writer import RunLogWriter
from shared.tenancy.context import TenantContext
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import add_key, add_member, create_org, problem


def _wait_for_receipt(app: RunningApp, url: str, token: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with app.client() as c:
        while True:
            r = c.get(url, headers={"X-Ferry-Job-Token": token})
            assert r.status_code == 200, r.text
            if r.json()["status"] == "succeeded" or time.monotonic() > deadline:
                return r.json()
            time.sleep(0.3)  # polling a job, not timing it


async def test_org_deleted_on_request_leaves_nothing(running_app: RunningApp, dev_issuer: Any, stores: Any) -> None:
    doomed = create_org(running_app, dev_issuer, name="Doomed Ltd")
    member = add_member(running_app, dev_issuer, doomed, "mia")
    key = add_key(running_app, doomed, "ci", ["admin"])
    kept = create_org(running_app, dev_issuer, name="Kept Ltd")
    add_member(running_app, dev_issuer, kept, "kim")
    for org in (doomed, kept):
        ctx = TenantContext.for_org(stores, org.id)
        await (
            stores.cosmos("eu")
            .container("runs")
            .upsert_item({"id": "run_1", "tenantId": org.id, "pk": org.id, "status": "succeeded"})
        )
        async with RunLogWriter(ctx, "run_1") as log:
            log.event(LogEvent.RUN_FINISHED)
    with running_app.client(kept.admin_token) as c:
        assert c.post(f"/api/orgs/{kept.id}/exports", json={}).status_code == 201
    kept_before = await footprint(stores, kept.id, "eu")
    doomed_before = await footprint(stores, doomed.id, "eu")
    assert {"tenants", "members", "userOrgs", "apiKeys", "keyIndex", "audit", "runs", "blob:logs"} <= set(doomed_before)

    url = f"/api/orgs/{doomed.id}"
    with running_app.client(member) as c:
        assert c.request("DELETE", url, json={"confirm": "Doomed Ltd"}).status_code == 403
    with running_app.client(doomed.admin_token) as c:
        wrong = c.request("DELETE", url, json={"confirm": "doomed ltd"})
        assert wrong.status_code == 422 and problem(wrong)["field"] == "confirm"
        assert c.get(url).status_code == 200  # nothing happened
        accepted = c.request("DELETE", url, json={"confirm": "Doomed Ltd"})
        assert accepted.status_code == 202, accepted.text
        assert c.get(url).status_code == 404  # gone for everyone at once
        assert doomed.id not in str(c.get("/api/me").json())
    body = accepted.json()
    assert accepted.headers["location"] == body["statusUrl"] and body["token"] and body["status"] == "queued"

    with running_app.client() as c:
        assert c.get(body["statusUrl"]).status_code == 401
        assert c.get(body["statusUrl"], headers={"X-Ferry-Job-Token": "guess"}).status_code == 404
    receipt = _wait_for_receipt(running_app, body["statusUrl"], body["token"])
    assert receipt["status"] == "succeeded", receipt
    assert receipt["counts"]["cosmos-tenants"] == 1 and receipt["counts"]["cosmos-members"] == 2
    assert receipt["counts"]["blobs-logs"] == 1 and receipt["counts"]["cosmos-keyIndex"] == 1
    for personal in (doomed.id, "Doomed", "@example.com"):
        assert personal not in str(receipt)

    assert await footprint(stores, doomed.id, "eu") == {}
    assert await footprint(stores, doomed.id, "us") == {}
    assert await footprint(stores, kept.id, "eu") == kept_before
    with running_app.client(key) as c:
        assert c.get(url).status_code in (401, 404)
    with running_app.client(kept.admin_token) as c:
        assert c.get(f"/api/orgs/{kept.id}/members").status_code == 200
