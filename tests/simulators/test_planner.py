"""Microsoft Graph Planner simulator: auth, Planner rules, paging, group content, throttling.

Every Planner response these tests receive is validated against Planner.yml (with the
documented SPEC_FIXES) by an httpx response hook.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError

from simulators.common import FakeClock, make_blob, serve
from simulators.planner import SeedConfig, create_app
from simulators.planner.errors import GraphError
from simulators.planner.inspect_state import dump_state
from simulators.planner.rules import hint_between, resolve_order_hint
from simulators.planner.seed import encode_reference_key, seed_store
from simulators.planner.spec_check import validate_exchange

CFG = SeedConfig(tasks_per_plan=12, deleted_tasks_per_plan=2)
ORIGIN = "http://graph.test"


async def _validate(response: httpx.Response) -> None:
    await response.aread()
    validate_exchange(response)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=ORIGIN, event_hooks={"response": [_validate]}
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Any:
    return create_app(CFG, clock=clock, page_size=5)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


def tenant(app: Any) -> str:
    return app.state.planner.store.tenant_id


async def app_token(client: httpx.AsyncClient, app: Any) -> str:
    r = await client.post(
        f"/{tenant(app)}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CFG.client_id,
            "client_secret": CFG.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def user_token(client: httpx.AsyncClient, app: Any, nick: str = "alice") -> str:
    r = await client.post(
        f"/{tenant(app)}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": CFG.client_id,
            "username": f"{nick}@{CFG.tenant_domain}",
            "password": CFG.user_password,
            "scope": "https://graph.microsoft.com/.default offline_access",
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def first_plan(client: httpx.AsyncClient, token: str) -> tuple[str, dict[str, Any]]:
    groups = (await client.get("/v1.0/me/memberOf", headers=bearer(token))).json()["value"]
    group_id = groups[0]["id"]
    plans = await client.get(f"/v1.0/groups/{group_id}/planner/plans", headers=bearer(token))
    return group_id, plans.json()["value"][0]


# --------------------------------------------------------------------------- token endpoint


async def test_token_endpoint_grants_and_aad_errors(client: httpx.AsyncClient, app: Any) -> None:
    url = f"/{tenant(app)}/oauth2/v2.0/token"
    ok = await client.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": CFG.client_id,
            "client_secret": CFG.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3599
    cases = [
        (
            {
                "grant_type": "client_credentials",
                "client_id": CFG.client_id,
                "client_secret": "nope",
                "scope": "https://graph.microsoft.com/.default",
            },
            401,
            "invalid_client",
            7000215,
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": CFG.client_id,
                "client_secret": CFG.client_secret,
                "scope": "User.Read",
            },
            400,
            "invalid_scope",
            1002012,
        ),
        (
            {
                "grant_type": "password",
                "client_id": CFG.client_id,
                "scope": "User.Read",
                "username": f"alice@{CFG.tenant_domain}",
                "password": "wrong",
            },
            400,
            "invalid_grant",
            50126,
        ),
        (
            {
                "grant_type": "password",
                "client_id": CFG.client_id,
                "scope": "User.Read",
                "username": f"mfa.required@{CFG.tenant_domain}",
                "password": CFG.user_password,
            },
            400,
            "invalid_grant",
            50076,
        ),
        (
            {
                "grant_type": "password",
                "client_id": "unknown-app",
                "scope": "User.Read",
                "username": "x",
                "password": "y",
            },
            400,
            "unauthorized_client",
            700016,
        ),
        (
            {"grant_type": "password", "client_id": CFG.client_id, "username": "x", "scope": "a"},
            400,
            "invalid_grant",
            50034,
        ),
        ({"grant_type": "password", "client_id": CFG.client_id, "username": "x"}, 400, "invalid_request", 900144),
        ({"grant_type": "device_code", "client_id": CFG.client_id}, 400, "unsupported_grant_type", 70003),
    ]
    for form, status, error, code in cases:
        r = await client.post(url, data=form)
        body = r.json()
        assert (r.status_code, body["error"], body["error_codes"]) == (status, error, [code]), form
        assert body["error_description"].startswith(f"AADSTS{code}:")
    unknown = await client.post("/not-a-tenant/oauth2/v2.0/token", data=cases[0][0])
    assert unknown.json()["error_codes"] == [90002]


async def test_refresh_token_grant_rotates(client: httpx.AsyncClient, app: Any) -> None:
    url = f"/{tenant(app)}/oauth2/v2.0/token"
    first = await client.post(
        url,
        data={
            "grant_type": "password",
            "client_id": CFG.client_id,
            "username": f"bob@{CFG.tenant_domain}",
            "password": CFG.user_password,
            "scope": "offline_access Tasks.ReadWrite",
        },
    )
    refresh = first.json()["refresh_token"]
    again = await client.post(
        url, data={"grant_type": "refresh_token", "client_id": CFG.client_id, "refresh_token": refresh}
    )
    assert again.status_code == 200 and again.json()["refresh_token"] != refresh
    reused = await client.post(
        url, data={"grant_type": "refresh_token", "client_id": CFG.client_id, "refresh_token": refresh}
    )
    assert reused.json()["error"] == "invalid_grant"
    me = await client.get("/v1.0/me", headers=bearer(again.json()["access_token"]))
    assert me.json()["mail"] == f"bob@{CFG.tenant_domain}"


async def test_graph_rejects_missing_bogus_and_expired_tokens(
    client: httpx.AsyncClient, app: Any, clock: FakeClock
) -> None:
    missing = await client.get("/v1.0/me")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "www-authenticate" in missing.headers
    bogus = await client.get("/v1.0/me", headers=bearer("a.b.c"))
    assert bogus.status_code == 401
    token = await user_token(client, app)
    assert (await client.get("/v1.0/me", headers=bearer(token))).status_code == 200
    clock.advance(3600)
    expired = await client.get("/v1.0/me", headers=bearer(token))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


# --------------------------------------------------------------------------- directory


async def test_directory_lookups(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    me = (await client.get("/v1.0/me", headers=bearer(token))).json()
    assert me["userPrincipalName"] == f"alice@{CFG.tenant_domain}"
    by_mail = await client.get(
        "/v1.0/users",
        headers=bearer(token),
        params={"$filter": f"mail eq 'CHLOE@{CFG.tenant_domain}' or userPrincipalName eq 'bob@{CFG.tenant_domain}'"},
    )
    assert sorted(u["givenName"] for u in by_mail.json()["value"]) == ["Bob", "Chloé"]
    by_upn = await client.get(f"/v1.0/users/zoe@{CFG.tenant_domain}", headers=bearer(token))
    assert by_upn.json()["surname"] == "O'Neil"
    missing = await client.get("/v1.0/users/nobody@x", headers=bearer(token))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    bad_filter = await client.get("/v1.0/users", headers=bearer(token), params={"$filter": "mail gt 1"})
    assert bad_filter.status_code == 400
    app_only = await app_token(client, app)
    assert (await client.get("/v1.0/me", headers=bearer(app_only))).status_code == 400
    groups = await client.get(
        "/v1.0/groups", headers=bearer(app_only), params={"$filter": "groupTypes/any(c:c eq 'Unified')"}
    )
    assert len(groups.json()["value"]) == CFG.groups


# --------------------------------------------------------------------------- reading


async def test_paging_reads_every_live_task_once(client: httpx.AsyncClient, app: Any) -> None:
    token = await app_token(client, app)
    group_id = next(iter(app.state.planner.store.groups))
    plans = (await client.get(f"/v1.0/groups/{group_id}/planner/plans", headers=bearer(token))).json()
    assert len(plans["value"]) == CFG.plans_per_group
    plan_id = plans["value"][0]["id"]
    seen: list[str] = []
    url: str | None = f"/v1.0/planner/plans/{plan_id}/tasks?$top=4"
    pages = 0
    while url:
        page = (await client.get(url, headers=bearer(token))).json()
        seen += [t["id"] for t in page["value"]]
        url = page.get("@odata.nextLink")
        pages += 1
    state = (await client.get("/_sim/state")).json()
    live = [t["id"] for t in state["tasks"] if t["planId"] == plan_id and not t["deleted"]]
    deleted = [t["id"] for t in state["tasks"] if t["planId"] == plan_id and t["deleted"]]
    assert seen == live and len(seen) == CFG.tasks_per_plan and pages == 3
    for task_id in deleted:
        gone = await client.get(f"/v1.0/planner/tasks/{task_id}", headers=bearer(token))
        assert gone.status_code == 404


async def test_seeded_content_shapes(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    _group_id, plan = await first_plan(client, token)
    details = (await client.get(f"/v1.0/planner/plans/{plan['id']}/details", headers=bearer(token))).json()
    labels = details["categoryDescriptions"]
    assert labels["category1"] == "Urgent 🔥" and labels["category25"] == "Last label (category25)"
    assert set(labels) == {f"category{i}" for i in range(1, 26)}
    buckets = (await client.get(f"/v1.0/planner/plans/{plan['id']}/buckets", headers=bearer(token))).json()["value"]
    hints = [b["orderHint"] for b in buckets]
    assert hints == sorted(hints) and len(buckets) == CFG.buckets_per_plan
    state = (await client.get("/_sim/state")).json()
    tasks = [t for t in state["tasks"] if t["planId"] == plan["id"] and not t["deleted"]]
    assert any(len(t["title"]) == 255 for t in tasks)
    assert any(t["percentComplete"] == 100 and t["completedDateTime"] for t in tasks)
    assert any(len(t["details"]["checklist"]) == 20 for t in tasks)
    assert any(len(t["details"]["description"]) == CFG.long_text_chars for t in tasks)
    assert any(t["conversationThreadId"] for t in tasks)
    with_refs = [t for t in tasks if t["details"]["references"]]
    assert with_refs and all(":" not in key and "." not in key for t in with_refs for key in t["details"]["references"])


async def test_seed_is_deterministic() -> None:
    one, two = dump_state(seed_store(CFG)), dump_state(seed_store(CFG))
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    other = dump_state(seed_store(SeedConfig(seed=7, tasks_per_plan=12)))
    assert other["tasks"][0]["id"] != one["tasks"][0]["id"]


# --------------------------------------------------------------------------- writing


async def test_create_and_update_with_etags(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    group_id, _ = await first_plan(client, token)
    plan = await client.post(
        "/v1.0/planner/plans",
        headers=bearer(token),
        json={"title": "Migrated ✈︎", "container": {"url": f"https://graph.microsoft.com/v1.0/groups/{group_id}"}},
    )
    assert plan.status_code == 201 and plan.json()["container"]["containerId"] == group_id
    plan_id = plan.json()["id"]
    bucket = await client.post(
        "/v1.0/planner/buckets", headers=bearer(token), json={"name": "Backlog", "planId": plan_id, "orderHint": " !"}
    )
    assert bucket.status_code == 201
    bob = (await client.get(f"/v1.0/users/bob@{CFG.tenant_domain}", headers=bearer(token))).json()
    created = await client.post(
        "/v1.0/planner/tasks",
        headers=bearer(token),
        json={
            "planId": plan_id,
            "bucketId": bucket.json()["id"],
            "title": "Write the connector",
            "appliedCategories": {"category3": True, "category25": True},
            "dueDateTime": "2026-12-01T17:00:00Z",
            "assignments": {bob["id"]: {"@odata.type": "#microsoft.graph.plannerAssignment", "orderHint": " !"}},
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["assignments"][bob["id"]]["assignedBy"]["user"]["id"]
    assert task["dueDateTime"].startswith("2026-12-01T17:00:00")
    url = f"/v1.0/planner/tasks/{task['id']}"
    no_etag = await client.patch(url, headers=bearer(token), json={"title": "x"})
    assert no_etag.status_code == 400
    done = await client.patch(
        url, headers=bearer(token, **{"If-Match": task["@odata.etag"]}), json={"percentComplete": 100}
    )
    assert done.status_code == 204
    stale = await client.patch(url, headers=bearer(token, **{"If-Match": task["@odata.etag"]}), json={"title": "late"})
    assert stale.status_code == 412
    fresh = (await client.get(url, headers=bearer(token))).json()
    assert fresh["completedDateTime"] and fresh["completedBy"]["user"]["id"]
    rep = await client.patch(
        url,
        headers=bearer(token, **{"If-Match": fresh["@odata.etag"], "Prefer": "return=representation"}),
        json={"percentComplete": 50, "priority": 1},
    )
    assert rep.status_code == 200 and rep.json()["completedDateTime"] is None
    assert rep.json()["@odata.etag"] != fresh["@odata.etag"]
    for body in (
        {"appliedCategories": {"category26": True}},
        {"priority": 11},
        {"percentComplete": 101},
        {"title": "x" * 256},
        {"dueDateTime": "tomorrow"},
        {"unknownField": 1},
    ):
        bad = await client.patch(url, headers=bearer(token, **{"If-Match": rep.json()["@odata.etag"]}), json=body)
        assert bad.status_code == 400, body
    gone = await client.delete(url, headers=bearer(token, **{"If-Match": rep.json()["@odata.etag"]}))
    assert gone.status_code == 204
    assert (await client.get(url, headers=bearer(token))).status_code == 404


async def test_task_details_rules(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    _group, plan = await first_plan(client, token)
    task = (
        await client.post("/v1.0/planner/tasks", headers=bearer(token), json={"planId": plan["id"], "title": "Details"})
    ).json()
    url = f"/v1.0/planner/tasks/{task['id']}/details"
    details = (await client.get(url, headers=bearer(token))).json()
    items = {str(i): {"@odata.type": "microsoft.graph.plannerChecklistItem", "title": f"Item {i}"} for i in range(20)}
    link = "https://example.com/a.b/file.pdf#x"
    ok = await client.patch(
        url,
        headers=bearer(token, **{"If-Match": details["@odata.etag"], "Prefer": "return=representation"}),
        json={
            "description": "Ünïcode ✅",
            "checklist": items,
            "references": {
                encode_reference_key(link): {
                    "@odata.type": "#microsoft.graph.plannerExternalReference",
                    "alias": "Spec",
                    "type": "Pdf",
                }
            },
        },
    )
    assert ok.status_code == 200, ok.text
    etag = ok.json()["@odata.etag"]
    one_more = await client.patch(
        url,
        headers=bearer(token, **{"If-Match": etag}),
        json={"checklist": {"x": {"@odata.type": "microsoft.graph.plannerChecklistItem", "title": "21"}}},
    )
    assert one_more.status_code == 403
    assert one_more.json()["error"]["code"] == "MaximumChecklistItemsOnTask"
    raw_key = await client.patch(
        url,
        headers=bearer(token, **{"If-Match": etag}),
        json={"references": {link: {"@odata.type": "#microsoft.graph.plannerExternalReference"}}},
    )
    assert raw_key.status_code == 400
    untyped = await client.patch(
        url, headers=bearer(token, **{"If-Match": etag}), json={"checklist": {"new": {"title": "no type"}}}
    )
    assert untyped.status_code == 400
    refreshed = (await client.get(f"/v1.0/planner/tasks/{task['id']}", headers=bearer(token))).json()
    assert refreshed["@odata.etag"] != task["@odata.etag"]
    assert (refreshed["checklistItemCount"], refreshed["referenceCount"]) == (20, 1)
    assert refreshed["hasDescription"] is True


def test_order_hints() -> None:
    assert "" < hint_between("", None)
    assert "a" < hint_between("a", "b") < "b"
    assert "a" < hint_between("a", "a#") < "a#"
    assert "az" < hint_between("az", "b") < "b"
    assert "abc" < resolve_order_hint("abc abd!") < "abd"
    first = resolve_order_hint(" !")
    assert resolve_order_hint(f" {first}!") < first
    with pytest.raises(GraphError):
        resolve_order_hint("b a!")
    with pytest.raises(GraphError):  # nothing printable sorts between "a" and "a!"
        hint_between("a", "a!")


def test_order_hints_grow_instead_of_running_out() -> None:
    """Front insertion (a task created without orderHint) and appends ("<last> !") go on
    for a whole plan's worth of items; hints grow in length, never end on '!'."""
    first: str | None = None
    for _ in range(9000):
        hint = hint_between("", first)
        assert (first is None or hint < first) and not hint.endswith("!")
        first = hint
    assert first is not None and len(first) < 250
    last = ""
    for _ in range(9000):
        hint = resolve_order_hint(f"{last} !")
        assert hint > last and not hint.endswith("!")
        last = hint
    assert len(last) < 250
    rng = random.Random(5)
    hints = [hint_between("", None)]
    for _ in range(2000):  # anywhere in between
        i = rng.randrange(len(hints) + 1)
        low, high = (hints[i - 1] if i else ""), (hints[i] if i < len(hints) else None)
        hint = hint_between(low, high)
        assert low < hint and (high is None or hint < high) and not hint.endswith("!")
        hints.insert(i, hint)


async def test_tasks_created_without_hint_go_first_without_limit(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    group_id, _ = await first_plan(client, token)
    plan = (
        await client.post(
            "/v1.0/planner/plans",
            headers=bearer(token),
            json={"title": "Many", "container": {"url": f"https://graph.microsoft.com/v1.0/groups/{group_id}"}},
        )
    ).json()
    hints = []
    for n in range(40):
        made = await client.post(
            "/v1.0/planner/tasks", headers=bearer(token), json={"planId": plan["id"], "title": f"Task {n}"}
        )
        assert made.status_code == 201, made.text
        hints.append(made.json()["orderHint"])
    assert hints == sorted(hints, reverse=True) and len(set(hints)) == len(hints)


async def test_non_member_is_forbidden(client: httpx.AsyncClient, app: Any) -> None:
    alice = await user_token(client, app)
    _group, plan = await first_plan(client, alice)
    outsider = await user_token(client, app, "outsider")
    r = await client.get(f"/v1.0/planner/plans/{plan['id']}/tasks", headers=bearer(outsider))
    assert r.status_code == 403


# --------------------------------------------------------------------------- comments


async def test_comments_live_in_group_threads(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app, "chloe")
    group_id, plan = await first_plan(client, token)
    task = (
        await client.post(
            "/v1.0/planner/tasks", headers=bearer(token), json={"planId": plan["id"], "title": "Commented"}
        )
    ).json()
    thread = await client.post(
        f"/v1.0/groups/{group_id}/threads",
        headers=bearer(token),
        json={
            "topic": 'Comments on task "Commented"',
            "posts": [{"body": {"contentType": "html", "content": "<p>First 🎉</p>"}}],
        },
    )
    assert thread.status_code == 201
    thread_id = thread.json()["id"]
    linked = await client.patch(
        f"/v1.0/planner/tasks/{task['id']}",
        json={"conversationThreadId": thread_id},
        headers=bearer(token, **{"If-Match": task["@odata.etag"]}),
    )
    assert linked.status_code == 204
    reply = await client.post(
        f"/v1.0/groups/{group_id}/threads/{thread_id}/reply",
        headers=bearer(token),
        json={"post": {"body": {"contentType": "text", "content": "Second"}}},
    )
    assert reply.status_code == 202
    posts = (await client.get(f"/v1.0/groups/{group_id}/threads/{thread_id}/posts", headers=bearer(token))).json()[
        "value"
    ]
    assert [p["body"]["content"] for p in posts] == ["<p>First 🎉</p>", "Second"]
    assert posts[0]["from"]["emailAddress"]["address"] == f"chloe@{CFG.tenant_domain}"
    current = (await client.get(f"/v1.0/planner/tasks/{task['id']}", headers=bearer(token))).json()
    assert current["conversationThreadId"] == thread_id
    foreign = await client.patch(
        f"/v1.0/planner/tasks/{task['id']}",
        json={"conversationThreadId": "no-such-thread"},
        headers=bearer(token, **{"If-Match": current["@odata.etag"]}),
    )
    assert foreign.status_code == 400


# --------------------------------------------------------------------------- files


async def test_seeded_reference_resolves_to_streamed_file(client: httpx.AsyncClient, app: Any) -> None:
    token = await app_token(client, app)
    state = (await client.get("/_sim/state")).json()
    item = max(state["driveItems"], key=lambda i: i["size"])
    share = "u!" + base64.urlsafe_b64encode(item["webUrl"].encode()).decode().rstrip("=")
    meta = (await client.get(f"/v1.0/shares/{share}/driveItem", headers=bearer(token))).json()
    assert meta["size"] == item["size"] == max(CFG.attachment_sizes)
    redirect = await client.get(
        f"/v1.0/drives/{meta['parentReference']['driveId']}/items/{meta['id']}/content", headers=bearer(token)
    )
    assert redirect.status_code == 302
    digest = hashlib.sha256()
    async with client.stream("GET", redirect.headers["location"]) as body:
        async for chunk in body.aiter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == make_blob(item["size"], item["blobSeed"]).sha256()


async def test_simple_upload_and_upload_session(client: httpx.AsyncClient, app: Any) -> None:
    token = await user_token(client, app)
    group_id, _ = await first_plan(client, token)
    small = await client.put(
        f"/v1.0/groups/{group_id}/drive/items/root:/Planner/note.txt:/content", headers=bearer(token), content=b"hello"
    )
    assert small.status_code == 201 and small.json()["size"] == 5
    download = await client.get(small.json()["@microsoft.graph.downloadUrl"])
    assert download.content == b"hello"
    bad_name = await client.put(
        f"/v1.0/groups/{group_id}/drive/root:/a:b?.txt:/content", headers=bearer(token), content=b"x"
    )
    assert bad_name.status_code == 400
    too_big = await client.put(
        f"/v1.0/groups/{group_id}/drive/root:/big.bin:/content",
        headers=bearer(token),
        content=b"x" * (4 * 1024 * 1024 + 1),
    )
    assert too_big.status_code == 413
    session = await client.post(
        f"/v1.0/groups/{group_id}/drive/items/root:/Planner/big.bin:/createUploadSession",
        headers=bearer(token),
        json={"item": {"@microsoft.graph.conflictBehavior": "rename"}},
    )
    upload_url = session.json()["uploadUrl"]
    data = make_blob(5 * 320 * 1024 + 123, "upload").read()
    step = 2 * 320 * 1024
    odd = await client.put(upload_url, content=data[:1000], headers={"Content-Range": f"bytes 0-999/{len(data)}"})
    assert odd.status_code == 400
    skipped = await client.put(
        upload_url, content=data[step : 2 * step], headers={"Content-Range": f"bytes {step}-{2 * step - 1}/{len(data)}"}
    )
    assert skipped.status_code == 416
    last: httpx.Response | None = None
    for start in range(0, len(data), step):
        chunk = data[start : start + step]
        last = await client.put(
            upload_url, content=chunk, headers={"Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{len(data)}"}
        )
        if start + step < len(data):
            assert last.status_code == 202
            assert last.json()["nextExpectedRanges"] == [f"{start + len(chunk)}-"]
    assert last is not None and last.status_code == 201 and last.json()["size"] == len(data)
    fetched = await client.get(last.json()["@microsoft.graph.downloadUrl"])
    assert fetched.content == data


# --------------------------------------------------------------------------- throttling, faults


async def test_throttling_uses_the_injected_clock(clock: FakeClock) -> None:
    app = create_app(CFG, clock=clock, app_limit=(3, 10.0))
    async with _client(app) as client:
        token = await app_token(client, app)
        for _ in range(3):
            assert (await client.get("/v1.0/groups", headers=bearer(token))).status_code == 200
        limited = await client.get("/v1.0/groups", headers=bearer(token))
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "TooManyRequests"
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        clock.advance(10)
        assert (await client.get("/v1.0/groups", headers=bearer(token))).status_code == 200
        await client.post("/_sim/limits", json={"limiters": {"app": {"enabled": False}}})
        for _ in range(5):
            assert (await client.get("/v1.0/groups", headers=bearer(token))).status_code == 200
        stats = (await client.get("/_sim/stats")).json()
        assert stats["throttled"] == 1


async def test_faults_over_a_real_server() -> None:
    app = create_app(CFG)
    with serve(app) as origin:
        async with httpx.AsyncClient(base_url=origin) as client:
            token = await app_token(client, app)
            await client.post(
                "/_sim/faults",
                json={
                    "faults": [
                        {"kind": "status", "status": 503, "path": "/v1.0/groups$", "count": 1},
                        {"kind": "drop", "path": "/v1.0/users$", "count": 1},
                    ]
                },
            )
            assert (await client.get("/v1.0/groups", headers=bearer(token))).status_code == 503
            assert (await client.get("/v1.0/groups", headers=bearer(token))).status_code == 200
            with pytest.raises(httpx.TransportError):
                await client.get("/v1.0/users", headers=bearer(token))
            assert (await client.get("/v1.0/users", headers=bearer(token))).status_code == 200


async def test_spec_validator_catches_a_wrong_shape(client: httpx.AsyncClient, app: Any) -> None:
    token = await app_token(client, app)
    plan_id = next(iter(app.state.planner.store.plans))
    good = await client.get(f"/v1.0/planner/plans/{plan_id}/tasks", headers=bearer(token))
    body = good.json()
    body["value"][0]["percentComplete"] = "half"
    tampered = httpx.Response(200, json=body, request=good.request)
    with pytest.raises(OpenAPIError):
        validate_exchange(tampered)
