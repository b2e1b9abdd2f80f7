"""Asana simulator: behaviour, Asana's rules, limits, controls — every vendor-path response is
validated against the official description (asana_oas.yaml, loaded once per session)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.asana.seed import token_for
from simulators.asana.spec import is_vendor_path, load_spec, validate_response
from simulators.common import FakeClock, serve

# openapi-core warns about the spec's use of allowEmptyValue (vendor spec, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
SMALL = SeedConfig(projects=2, tasks_per_project=24, attachment_sizes=[2048, 70_000])


@pytest.fixture(scope="session", autouse=True)
def _spec_once() -> None:
    load_spec()  # parse the 3 MB spec once for the whole session


async def _validate(response: httpx.Response) -> None:
    # 429 and gateway statuses (injected faults) are not declared on most operations;
    # everything else must match the spec.
    if is_vendor_path(response.request.url.path) and response.status_code not in (429, 502, 503, 504):
        validate_response(response)


@pytest.fixture
def make_client(asgi_client: Callable[..., httpx.AsyncClient]) -> Callable[..., httpx.AsyncClient]:
    def make(app: Any, token: str | None = DEFAULT_TOKEN) -> httpx.AsyncClient:
        client = asgi_client(app, base_url="http://sim", on_response=_validate)
        if token:
            client.headers["Authorization"] = f"Bearer {token}"
        return client

    return make


@pytest.fixture
async def sim(
    make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(SMALL, clock=fake_clock)
    async with make_client(app) as client:
        yield app, client


async def _ids(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    ws = (await client.get("/api/1.0/workspaces")).json()["data"][0]["gid"]
    projects = (await client.get("/api/1.0/projects", params={"workspace": ws})).json()["data"]
    return ws, [p["gid"] for p in projects]


async def _walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = None
    while True:
        q = {**params, **({"offset": offset} if offset else {})}
        body = (await client.get(path, params=q)).json()
        out += body["data"]
        if not body["next_page"]:
            return out
        offset = body["next_page"]["offset"]


# --- users, workspaces, auth ------------------------------------------------------------------


async def test_me_workspaces_and_user_emails(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    me = (await c.get("/api/1.0/users/me")).json()["data"]
    assert me["email"] == "user1@ws1.example.com" and me["resource_type"] == "user"
    ws, _ = await _ids(c)
    users = (await c.get(f"/api/1.0/workspaces/{ws}/users", params={"opt_fields": "name,email"})).json()["data"]
    assert len(users) == 4 and all("@ws1.example.com" in u["email"] for u in users)
    by_email = (await c.get("/api/1.0/users/user2@ws1.example.com")).json()["data"]
    assert by_email["gid"] == users[1]["gid"]


async def test_bearer_token_required(
    sim: tuple[Any, httpx.AsyncClient], make_client: Callable[..., httpx.AsyncClient]
) -> None:
    app, _ = sim
    for token in (None, "wrong"):
        async with make_client(app, token) as anon:
            r = await anon.get("/api/1.0/users/me")
            assert r.status_code == 401
            assert r.json()["errors"][0]["message"] == "Not Authorized"
    async with make_client(app, token_for(1)) as other:
        assert (await other.get("/api/1.0/users/me")).json()["data"]["email"].startswith("user2")


async def test_other_workspaces_are_forbidden(
    make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    cfg = SeedConfig(workspaces=2, users_per_workspace=2, projects=1, tasks_per_project=3)
    app = create_app(cfg, clock=fake_clock)
    async with make_client(app) as first, make_client(app, token_for(2)) as second:
        ws1 = (await first.get("/api/1.0/workspaces")).json()["data"]
        ws2 = (await second.get("/api/1.0/workspaces")).json()["data"]
        assert len(ws1) == len(ws2) == 1 and ws1[0]["gid"] != ws2[0]["gid"]
        project = (await first.get("/api/1.0/projects", params={"workspace": ws1[0]["gid"]})).json()["data"][0]
        r = await second.get(f"/api/1.0/projects/{project['gid']}")
        assert r.status_code == 403 and r.json()["errors"][0]["message"]
        assert (await second.get("/api/1.0/projects", params={"workspace": ws1[0]["gid"]})).status_code == 403
        assert (await first.get(f"/api/1.0/projects/{project['gid']}")).status_code == 200


async def test_oauth_token_endpoint_and_expiry(
    sim: tuple[Any, httpx.AsyncClient], make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    from simulators.asana import (
        OAUTH_CLIENT_ID,
        OAUTH_CLIENT_SECRET,
        auth_code_for,
        refresh_token_for,
    )

    app, c = sim
    client = {"client_id": OAUTH_CLIENT_ID, "client_secret": OAUTH_CLIENT_SECRET}
    bad = await c.post(
        "/-/oauth_token",
        data={**client, "client_secret": "x", "grant_type": "refresh_token", "refresh_token": refresh_token_for(0)},
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    wrong = await c.post("/-/oauth_token", data={**client, "grant_type": "refresh_token", "refresh_token": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = await c.post(
        "/-/oauth_token",
        data={
            **client,
            "grant_type": "authorization_code",
            "code": auth_code_for(1),
            "redirect_uri": "https://ferry.example/cb",
        },
    )
    body = code.json()
    assert body["token_type"] == "bearer" and body["refresh_token"] and body["expires_in"] == 3600
    assert body["data"]["email"] == "user2@ws1.example.com"
    again = await c.post(
        "/-/oauth_token", data={**client, "grant_type": "authorization_code", "code": auth_code_for(1)}
    )
    assert again.status_code == 400  # codes are single-use
    async with make_client(app, body["access_token"]) as oauth:
        assert (await oauth.get("/api/1.0/users/me")).json()["data"]["email"].startswith("user2")
        fake_clock.advance(3600)
        assert (await oauth.get("/api/1.0/users/me")).status_code == 401  # expired
    refreshed = await c.post(
        "/-/oauth_token", data={**client, "grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    async with make_client(app, refreshed.json()["access_token"]) as oauth:
        assert (await oauth.get("/api/1.0/users/me")).status_code == 200


# --- pagination -------------------------------------------------------------------------------


async def test_offset_pagination_walks_everything_once(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    everything = (await c.get(f"/api/1.0/projects/{projects[0]}/tasks")).json()
    assert everything["next_page"] is None
    first = (await c.get("/api/1.0/tasks", params={"project": projects[0], "limit": 5})).json()
    nxt = first["next_page"]
    assert nxt["path"].startswith("/tasks?") and f"offset={nxt['offset']}" in nxt["path"]
    assert nxt["uri"] == f"http://sim/api/1.0{nxt['path']}"
    walked = await _walk(c, "/api/1.0/tasks", project=projects[0], limit=5)
    assert [t["gid"] for t in walked] == [t["gid"] for t in everything["data"]]
    assert len(walked) == 24 - SMALL.deleted_per_project


async def test_offsets_are_bound_to_their_listing_and_expire(
    sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    _, c = sim
    _, projects = await _ids(c)
    page = (await c.get("/api/1.0/tasks", params={"project": projects[0], "limit": 3})).json()
    offset = page["next_page"]["offset"]
    foreign = await c.get("/api/1.0/tasks", params={"project": projects[1], "limit": 3, "offset": offset})
    assert foreign.status_code == 400
    fake_clock.advance(3601)
    expired = await c.get("/api/1.0/tasks", params={"project": projects[0], "limit": 3, "offset": offset})
    assert expired.status_code == 400 and "expired" in expired.json()["errors"][0]["message"]


async def test_limit_bounds_and_too_large_unpaginated(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, projects = await _ids(c)
    for bad in ("0", "101", "x"):
        r = await c.get(f"/api/1.0/projects/{projects[0]}/tasks", params={"limit": bad})
        assert r.status_code == 400
    app.state.asana_store.unpaginated_max = 10
    r = await c.get(f"/api/1.0/projects/{projects[0]}/tasks")
    assert r.status_code == 400 and "pagination" in r.json()["errors"][0]["message"]
    assert (await c.get(f"/api/1.0/projects/{projects[0]}/tasks", params={"limit": 100})).status_code == 200


async def test_completed_since_filters(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    all_tasks = (await c.get(f"/api/1.0/projects/{projects[0]}/tasks", params={"opt_fields": "completed"})).json()[
        "data"
    ]
    open_only = (
        await c.get(
            f"/api/1.0/projects/{projects[0]}/tasks", params={"opt_fields": "completed", "completed_since": "now"}
        )
    ).json()["data"]
    assert any(t["completed"] for t in all_tasks)
    assert open_only == [t for t in all_tasks if not t["completed"]]


# --- opt_fields ---------------------------------------------------------------------------------


async def test_opt_fields_select_and_expand(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    tasks = (
        await c.get(
            f"/api/1.0/projects/{projects[0]}/tasks",
            params={"opt_fields": "name,assignee.email,memberships.section.name,html_notes"},
        )
    ).json()["data"]
    t0 = tasks[0]
    assert set(t0) == {"gid", "name", "assignee", "memberships", "html_notes"}
    assert set(t0["assignee"]) == {"gid", "email"}
    assert set(t0["memberships"][0]) == {"section"} and t0["memberships"][0]["section"]["name"]
    assert t0["html_notes"].startswith("<body>")
    full = (await c.get(f"/api/1.0/tasks/{t0['gid']}")).json()["data"]
    assert "html_notes" not in full and "notes" in full  # html_notes is opt-in
    compact = (await c.get(f"/api/1.0/projects/{projects[0]}/tasks")).json()["data"][0]
    assert set(compact) == {"gid", "resource_type", "name", "resource_subtype"}


# --- task rules ------------------------------------------------------------------------------------


async def _create(c: httpx.AsyncClient, **data: Any) -> httpx.Response:
    return await c.post("/api/1.0/tasks", json={"data": data})


async def test_task_rules_are_enforced(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    p = projects[0]
    bad = [
        {"start_on": "2025-01-01"},  # no due in the request
        {"start_on": "2025-02-02", "due_on": "2025-02-01"},  # start after due
        {"due_on": "2025-02-01", "due_at": "2025-02-01T10:00:00Z"},  # both due forms
        {"assignee": ["me", "user2@ws1.example.com"]},  # one assignee only
        {"assignee": "nobody@nowhere.test"},
        {"notes": "a", "html_notes": "<body>a</body>"},
        {"html_notes": "<p>not wrapped</p>"},
        {"html_notes": "<body><b>unclosed</body>"},
    ]
    for extra in bad:
        r = await _create(c, name="x", projects=[p], **extra)
        assert r.status_code == 400, extra
        assert r.json()["errors"][0]["message"]
    assert (await _create(c, name="no home")).status_code == 400  # workspace missing
    ok = await _create(
        c,
        name="ok",
        projects=[p],
        start_on="2025-02-01",
        due_on="2025-02-01",
        assignee="user2@ws1.example.com",
        html_notes="<body>Hi <strong>there</strong> &amp; ünï</body>",
    )
    assert ok.status_code == 201
    task = ok.json()["data"]
    assert task["notes"] == "Hi there & ünï" and task["assignee"]["name"].startswith("User 2")
    # unsetting start_on also needs the due date in the same request
    r = await c.put(f"/api/1.0/tasks/{task['gid']}", json={"data": {"start_on": None}})
    assert r.status_code == 400
    r = await c.put(f"/api/1.0/tasks/{task['gid']}", json={"data": {"start_on": None, "due_on": "2025-03-01"}})
    assert r.status_code == 200 and r.json()["data"]["start_on"] is None


async def test_completion_and_modified_at_versioning(sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock) -> None:
    _, c = sim
    ws, projects = await _ids(c)
    task = (await _create(c, name="v", projects=[projects[0]])).json()["data"]
    versions = [task["modified_at"]]
    done = (await c.put(f"/api/1.0/tasks/{task['gid']}", json={"data": {"completed": True}})).json()["data"]
    assert done["completed"] and done["completed_at"] and done["completed_by"]["gid"]
    versions.append(done["modified_at"])
    await c.post(f"/api/1.0/tasks/{task['gid']}/stories", json={"data": {"text": "hi"}})
    tag = (await c.post(f"/api/1.0/workspaces/{ws}/tags", json={"data": {"name": "t"}})).json()["data"]
    for step in ("story", "tag"):
        if step == "tag":
            r = await c.post(f"/api/1.0/tasks/{task['gid']}/addTag", json={"data": {"tag": tag["gid"]}})
            assert r.status_code == 200 and r.json() == {"data": {}}
        versions.append((await c.get(f"/api/1.0/tasks/{task['gid']}")).json()["data"]["modified_at"])
    undone = (await c.put(f"/api/1.0/tasks/{task['gid']}", json={"data": {"completed": False}})).json()["data"]
    assert undone["completed_at"] is None and undone["completed_by"] is None
    versions.append(undone["modified_at"])
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    fake_clock.advance(5)
    since = (
        await c.get("/api/1.0/tasks", params={"project": projects[0], "modified_since": undone["modified_at"]})
    ).json()["data"]
    assert [t["gid"] for t in since] == [task["gid"]]


async def test_subtasks_sections_and_order(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    p = projects[1]
    sec = (await c.post(f"/api/1.0/projects/{p}/sections", json={"data": {"name": "Doing ✓"}})).json()["data"]
    a = await _create(c, name="A", memberships=[{"project": p, "section": sec["gid"]}])
    b = (await _create(c, name="B", projects=[p])).json()["data"]
    r = await c.post(
        f"/api/1.0/sections/{sec['gid']}/addTask",
        json={"data": {"task": b["gid"], "insert_before": a.json()["data"]["gid"]}},
    )
    assert r.status_code == 200
    names = [t["name"] for t in (await c.get(f"/api/1.0/sections/{sec['gid']}/tasks")).json()["data"]]
    assert names == ["B", "A"]
    moved = (await c.get(f"/api/1.0/tasks/{b['gid']}")).json()["data"]
    assert [m["section"]["gid"] for m in moved["memberships"]] == [sec["gid"]]
    sub = await c.post(f"/api/1.0/tasks/{b['gid']}/subtasks", json={"data": {"name": "B.1"}})
    assert sub.status_code == 201 and sub.json()["data"]["parent"]["gid"] == b["gid"]
    subs = (await c.get(f"/api/1.0/tasks/{b['gid']}/subtasks")).json()["data"]
    assert [s["name"] for s in subs] == ["B.1"]
    assert (await c.get(f"/api/1.0/tasks/{b['gid']}")).json()["data"]["num_subtasks"] == 1
    # a section with tasks cannot be deleted
    assert (await c.delete(f"/api/1.0/sections/{sec['gid']}")).status_code == 400


async def test_custom_fields_read_and_write(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    tasks = (
        await c.get(
            f"/api/1.0/projects/{projects[0]}/tasks",
            params={"opt_fields": "custom_fields.name,custom_fields.display_value"},
        )
    ).json()["data"]
    with_values = [t for t in tasks if t["custom_fields"]]
    assert with_values
    shown = {cf["name"]: cf["display_value"] for cf in with_values[0]["custom_fields"]}
    assert shown["Ticket"].startswith("T-") and shown["Priorité"] in ("Low", "High 🔥")
    full = (await c.get(f"/api/1.0/tasks/{with_values[0]['gid']}")).json()["data"]
    prio = next(cf for cf in full["custom_fields"] if cf["resource_subtype"] == "enum")
    other = next(o for o in prio["enum_options"] if o["gid"] != prio["enum_value"]["gid"])
    url = f"/api/1.0/tasks/{with_values[0]['gid']}"
    bad = await c.put(url, json={"data": {"custom_fields": {prio["gid"]: "999"}}})
    assert bad.status_code == 400
    ok = await c.put(url, json={"data": {"custom_fields": {prio["gid"]: other["gid"]}}})
    after = next(cf for cf in ok.json()["data"]["custom_fields"] if cf["gid"] == prio["gid"])
    assert after["display_value"] == other["name"]


async def test_comments_and_system_stories(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    _, projects = await _ids(c)
    task = (await _create(c, name="c", projects=[projects[0]], assignee="me")).json()["data"]
    r = await c.post(f"/api/1.0/tasks/{task['gid']}/stories", json={"data": {"text": "Ünïcode 🚀 comment"}})
    assert r.status_code == 201
    story = r.json()["data"]
    assert story["type"] == "comment" and story["resource_subtype"] == "comment_added"
    assert story["created_by"]["gid"] == (await c.get("/api/1.0/users/me")).json()["data"]["gid"]
    stories = (
        await c.get(f"/api/1.0/tasks/{task['gid']}/stories", params={"opt_fields": "type,text,created_by.email"})
    ).json()["data"]
    assert {s["type"] for s in stories} == {"system", "comment"}
    assert [s["text"] for s in stories if s["type"] == "comment"] == ["Ünïcode 🚀 comment"]
    assert (await c.post(f"/api/1.0/tasks/{task['gid']}/stories", json={"data": {}})).status_code == 400


async def test_deleted_tasks_and_projects_are_gone(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    _, projects = await _ids(c)
    deleted = [t for t in app.state.asana_store.tasks.values() if t.deleted]
    assert deleted, "seed has deleted tasks"
    r = await c.get(f"/api/1.0/tasks/{deleted[0].gid}")
    assert r.status_code == 404 and "Unknown object" in r.json()["errors"][0]["message"]
    assert (await c.delete(f"/api/1.0/projects/{projects[1]}")).json() == {"data": {}}
    assert (await c.get(f"/api/1.0/projects/{projects[1]}")).status_code == 404


async def test_archived_projects_filter(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    ws, projects = await _ids(c)
    live = (await c.get(f"/api/1.0/workspaces/{ws}/projects", params={"archived": "false"})).json()["data"]
    assert len(live) == len(projects) - SMALL.archived_projects
    created = await c.post("/api/1.0/projects", json={"data": {"workspace": ws, "name": "N"}})
    assert created.status_code == 201
    sections = await c.get(f"/api/1.0/projects/{created.json()['data']['gid']}/sections")
    assert [s["name"] for s in sections.json()["data"]] == ["Untitled section"]


# --- attachments -------------------------------------------------------------------------------


async def test_upload_and_download_attachment(
    sim: tuple[Any, httpx.AsyncClient], make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    app, c = sim
    _, projects = await _ids(c)
    task = (await _create(c, name="att", projects=[projects[0]])).json()["data"]
    payload = bytes(range(256)) * 1200
    r = await c.post(
        "/api/1.0/attachments",
        data={"parent": task["gid"]},
        files={"file": ("r%C3%A9sum%C3%A9.pdf", payload, "application/pdf")},
    )
    assert r.status_code == 200
    att = r.json()["data"]
    assert att["name"] == "résumé.pdf" and att["size"] == len(payload) and att["host"] == "asana"
    listed = (await c.get("/api/1.0/attachments", params={"parent": task["gid"]})).json()["data"]
    assert [a["gid"] for a in listed] == [att["gid"]]
    url = (await c.get(f"/api/1.0/attachments/{att['gid']}")).json()["data"]["download_url"]
    async with make_client(app, None) as anon:  # presigned: no bearer needed
        got = await anon.get(url)
        assert got.status_code == 200 and got.content == payload
        fake_clock.advance(121)  # links live two minutes
        assert (await anon.get(url)).status_code == 403
    ext = await c.post(
        "/api/1.0/attachments",
        data={"parent": task["gid"], "resource_subtype": "external", "name": "Spec", "url": "https://example.com/spec"},
    )
    assert ext.status_code == 200 and ext.json()["data"]["host"] == "external"
    assert (await c.post("/api/1.0/attachments", data={"parent": task["gid"]})).status_code == 400
    app.state.asana_store.max_attachment_bytes = 1000
    too_big = await c.post(
        "/api/1.0/attachments", data={"parent": task["gid"]}, files={"file": ("big.bin", b"x" * 1001)}
    )
    assert too_big.status_code == 400
    assert (await c.delete(f"/api/1.0/attachments/{att['gid']}")).json() == {"data": {}}
    assert (await c.get(f"/api/1.0/attachments/{att['gid']}")).status_code == 404


async def test_seeded_attachments_have_their_sizes(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    store = app.state.asana_store
    seeded = sorted((a for a in store.attachments.values() if a.blob_seed), key=lambda a: a.gid)
    assert sorted({a.size for a in seeded}) == sorted(SMALL.attachment_sizes)
    meta = (await c.get(f"/api/1.0/attachments/{seeded[1].gid}")).json()["data"]
    body = (await c.get(meta["download_url"])).content
    assert len(body) == meta["size"] == seeded[1].size


# --- limits, controls, seed ----------------------------------------------------------------------


async def test_rate_limit_per_token_with_retry_after(
    make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    app = create_app(SeedConfig(projects=1, tasks_per_project=3), clock=fake_clock, plan="free")
    async with make_client(app) as c, make_client(app, token_for(1)) as other:
        statuses = [(await c.get("/api/1.0/users/me")).status_code for _ in range(150)]
        assert set(statuses) == {200}
        r = await c.get("/api/1.0/users/me")
        assert r.status_code == 429 and r.headers["Retry-After"] == "60"
        assert "too many requests" in r.json()["errors"][0]["message"]
        assert (await other.get("/api/1.0/users/me")).status_code == 200  # per token
        fake_clock.advance(30)
        assert (await c.get("/api/1.0/users/me")).headers["Retry-After"] == "30"
        fake_clock.advance(30)
        assert (await c.get("/api/1.0/users/me")).status_code == 200
        stats = (await c.get("/_sim/stats")).json()
        assert stats["throttled"] == 2
        # rejected requests count too: hammering early keeps the token blocked
        for _ in range(148):
            await c.get("/api/1.0/users/me")
        refused = [await c.get("/api/1.0/users/me") for _ in range(3)]
        assert [r.status_code for r in refused] == [429, 429, 429]
        fake_clock.advance(60)
        assert (await c.get("/api/1.0/users/me")).status_code == 200


async def test_concurrent_write_limit(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    ws, _ = await _ids(c)
    await c.post("/_sim/limits", json={"limiters": {"writes": {"max_in_flight": 1}}})
    # The first write streams its answer slowly, so it stays in flight.
    await c.post(
        "/_sim/faults",
        json={"faults": [{"kind": "slow_body", "path": "/tags$", "method": "POST", "count": 1, "bytes_per_s": 200}]},
    )
    slow = asyncio.create_task(c.post(f"/api/1.0/workspaces/{ws}/tags", json={"data": {"name": "slow"}}))
    writes = app.state.sim.limiters["writes"]
    for _ in range(500):
        if writes.in_flight(DEFAULT_TOKEN):
            break
        await asyncio.sleep(0.01)
    refused = await c.post(f"/api/1.0/workspaces/{ws}/tags", json={"data": {"name": "x"}})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert (await slow).status_code == 201
    assert (await c.get(f"/api/1.0/workspaces/{ws}/projects")).status_code == 200


async def test_fault_injection_and_state(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    await c.post("/_sim/faults", json={"faults": [{"kind": "status", "status": 503, "path": "/users/me", "count": 1}]})
    assert (await c.get("/api/1.0/users/me")).status_code == 503
    assert (await c.get("/api/1.0/users/me")).status_code == 200
    state = (await c.get("/_sim/state")).json()
    assert {"tasks", "stories", "attachments", "users"} <= set(state)
    assert any(t["deleted"] for t in state["tasks"].values())
    summary = (await c.post("/_sim/seed", json={"projects": 1, "tasks_per_project": 5})).json()
    assert summary["counts"]["projects"] == 1
    _, projects = await _ids(c)
    assert len(projects) == 1


def test_seed_is_deterministic() -> None:
    a = create_app(SMALL, clock=FakeClock()).state.asana_store.dump()
    b = create_app(SMALL, clock=FakeClock()).state.asana_store.dump()
    assert a == b
    c = create_app(SeedConfig(seed=7, projects=2, tasks_per_project=24), clock=FakeClock()).state.asana_store.dump()
    assert c != a
    names = [t["name"] for t in a["tasks"].values()]
    assert any(len(n) > 500 for n in names) and any(ord(ch) > 0x1F000 for n in names for ch in n)
    assert any(len(t["notes"]) >= 20_000 for t in a["tasks"].values())
    assert any(t["completed"] for t in a["tasks"].values())
    assert any(s["type"] == "comment" for s in a["stories"].values())


def test_real_server_streams_big_attachment_and_drops() -> None:
    app = create_app(
        SeedConfig(
            projects=1, tasks_per_project=2, deleted_per_project=0, external_links=0, attachment_sizes=[6 * 1024 * 1024]
        )
    )
    with serve(app) as base, httpx.Client(base_url=base, headers=AUTH, timeout=30) as c:
        ws = c.get("/api/1.0/workspaces").json()["data"][0]["gid"]
        project = c.get("/api/1.0/projects", params={"workspace": ws}).json()["data"][0]["gid"]
        task = c.get(f"/api/1.0/projects/{project}/tasks").json()["data"][0]["gid"]
        att = c.get("/api/1.0/attachments", params={"parent": task, "opt_fields": "download_url,size"}).json()["data"][
            0
        ]
        assert att["download_url"].startswith(base)
        digest, total = hashlib.sha256(), 0
        with c.stream("GET", att["download_url"]) as resp:
            for chunk in resp.iter_bytes():
                digest.update(chunk)
                total += len(chunk)
        store = app.state.asana_store
        from simulators.asana.attachments import content_sha256

        assert total == att["size"] == 6 * 1024 * 1024
        assert digest.hexdigest() == content_sha256(store.attachment(att["gid"]))
        c.post("/_sim/faults", json={"faults": [{"kind": "drop", "path": "/users/me"}]})
        with pytest.raises(httpx.TransportError):
            c.get("/api/1.0/users/me")
        assert c.get("/api/1.0/users/me").status_code == 200
