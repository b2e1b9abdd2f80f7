"""Jira Cloud simulator: auth (basic + OAuth 2.0 3LO), search paging with nextPageToken,
issue rules, workflow transitions, comments, attachments, limits and controls. Every
response on a vendor path is validated against the official description
(``vendor-api/jira/swagger-v3.trimmed.json``) — requests too, where they have a body."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.jira import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    SeedConfig,
    auth_code_for,
    create_app,
    refresh_token_for,
)
from simulators.jira.spec import is_vendor_path, load_spec, validate_request, validate_response

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

API = "/rest/api/3"
SMALL = SeedConfig(
    projects=2, issues_per_project=9, subtasks_every=4, comments_per_issue=2, attachment_sizes=[2048, 70_000], links=1
)


def basic(email: str = DEFAULT_EMAIL, token: str = DEFAULT_TOKEN) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


def doc(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs],
    }


async def _validate(response: httpx.Response) -> None:
    if not is_vendor_path(response.request.url.path):
        return
    if response.request.headers.get("content-type", "").startswith("application/json"):
        validate_request(response.request)
    if response.status_code not in (429, 502, 503, 504):
        validate_response(response)


@pytest.fixture(scope="session", autouse=True)
def _spec_once() -> None:
    load_spec()


@pytest.fixture
def make_client(asgi_client: Callable[..., httpx.AsyncClient]) -> Callable[..., httpx.AsyncClient]:
    def make(app: Any, auth: str | None = None) -> httpx.AsyncClient:
        client = asgi_client(app, base_url="http://sim", on_response=_validate)
        client.headers["Authorization"] = auth if auth is not None else basic()
        return client

    return make


@pytest.fixture
async def sim(
    make_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(SMALL, clock=fake_clock)
    async with make_client(app) as client:
        yield app, client


async def _search_all(c: httpx.AsyncClient, jql: str, size: int, **extra: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {"jql": jql, "maxResults": size, **extra}
        if token:
            params["nextPageToken"] = token
        r = await c.get(f"{API}/search/jql", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "total" not in body  # the token-paged search has no total
        out += body["issues"]
        if body["isLast"]:
            assert "nextPageToken" not in body
            return out
        token = body["nextPageToken"]
        assert token not in seen
        seen.add(token)


# --- auth -------------------------------------------------------------------------------------


async def test_basic_auth_and_refusals(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    me = (await c.get(f"{API}/myself")).json()
    assert me["emailAddress"] == DEFAULT_EMAIL and me["accountId"]
    for bad in (
        basic(token="wrong"),
        basic(email="grace@example.com"),
        "Basic !!notbase64",
        "Bearer " + DEFAULT_TOKEN,
        "",
    ):
        r = await c.get(f"{API}/myself", headers={"Authorization": bad})
        assert r.status_code == 401
        assert r.json()["errorMessages"]


async def test_oauth_3lo_gateway_refresh_rotation_and_expiry(
    sim: tuple[Any, httpx.AsyncClient], fake_clock: FakeClock
) -> None:
    app, c = sim
    cloud = app.state.jira_store.cloud_id
    grant = {
        "grant_type": "authorization_code",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "code": auth_code_for("grace@example.com"),
        "redirect_uri": "http://localhost/cb",
    }
    tok = (await c.post("/oauth/token", json=grant)).json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {tok['access_token']}"}
    sites = (await c.get("/oauth/token/accessible-resources", headers=bearer)).json()
    assert sites[0]["id"] == cloud
    me = await c.get(f"/ex/jira/{cloud}{API}/myself", headers=bearer)
    assert me.status_code == 200 and me.json()["emailAddress"] == "grace@example.com"
    assert me.json()["self"].startswith(f"http://sim/ex/jira/{cloud}{API}/")
    # the bearer token is for the gateway, not the site; another cloud id is refused
    assert (await c.get(f"{API}/myself", headers=bearer)).status_code == 401
    other = "00000000-0000-0000-0000-000000000000"
    assert (await c.get(f"/ex/jira/{other}{API}/myself", headers=bearer)).status_code == 401
    # the code is single-use; the refresh token rotates
    assert (await c.post("/oauth/token", json=grant)).status_code == 403
    refresh = {
        "grant_type": "refresh_token",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
        "refresh_token": tok["refresh_token"],
    }
    again = (await c.post("/oauth/token", json=refresh)).json()
    assert again["refresh_token"] != tok["refresh_token"]
    assert (await c.post("/oauth/token", json=refresh)).status_code == 403
    wrong = {**refresh, "client_secret": "nope", "refresh_token": again["refresh_token"]}
    assert (await c.post("/oauth/token", json=wrong)).status_code == 401
    fake_clock.advance(3601)
    expired = await c.get(f"/ex/jira/{cloud}{API}/myself", headers=bearer)
    assert expired.status_code == 401
    seeded = {**refresh, "refresh_token": refresh_token_for(DEFAULT_EMAIL)}
    assert (await c.post("/oauth/token", json=seeded)).status_code == 200


# --- search -----------------------------------------------------------------------------------


async def test_search_pages_with_next_page_token(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    store = app.state.jira_store
    project = next(p for p in store.projects.values() if p.key == "FER")
    want = sorted(int(i.id) for i in store.issues.values() if i.project_id == project.id)
    small = await _search_all(c, "project = FER ORDER BY key ASC", 4, fields="summary")
    assert [int(i["id"]) for i in small] == want
    assert all(set(i["fields"]) == {"summary"} for i in small)
    big = await _search_all(c, "project = FER", 1000)
    assert [int(i["id"]) for i in big] == want and all(i["fields"] == {} for i in big)
    desc = await _search_all(c, "project = FER ORDER BY key DESC", 5)
    assert [int(i["id"]) for i in desc] == want[::-1]
    post = await c.post(
        f"{API}/search/jql", json={"jql": "project = FER", "maxResults": 3, "fields": ["status", "parent"]}
    )
    assert post.status_code == 200 and len(post.json()["issues"]) == 3


async def test_search_caps_max_results_and_refuses_bad_input(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    app.state.jira_store.max_results_cap = 5
    r = (await c.get(f"{API}/search/jql", params={"jql": "project = FER", "maxResults": 50})).json()
    assert len(r["issues"]) == 5 and not r["isLast"]
    token = r["nextPageToken"]
    for params in (
        {"jql": "project = FEB", "nextPageToken": token},  # token of another query
        {"jql": "project = FER", "nextPageToken": "forged"},
        {"jql": ""},  # unbounded
        {"jql": "project = FER AND"},
        {"jql": "summary ~ x"},
        {"jql": "project = FER ORDER BY nonsense"},
    ):
        bad = await c.get(f"{API}/search/jql", params=params)
        assert bad.status_code == 400, params
        assert bad.json()["errorMessages"]


async def test_search_by_parent_and_status(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    parents = await _search_all(c, "project = FER AND issuetype != Subtask", 50, fields="subtasks")
    with_subs = [p for p in parents if p["fields"]["subtasks"]]
    assert with_subs
    p = with_subs[0]
    subs = await _search_all(c, f"parent = {p['key']}", 50, fields="parent,issuetype")
    assert {s["id"] for s in subs} == {s["id"] for s in p["fields"]["subtasks"]}
    assert all(s["fields"]["parent"]["id"] == p["id"] and s["fields"]["issuetype"]["subtask"] for s in subs)
    done = await _search_all(c, 'project = FER AND status = "Done"', 50, fields="status")
    assert done and all(i["fields"]["status"]["statusCategory"]["key"] == "done" for i in done)


# --- issues, workflow, comments ---------------------------------------------------------------


async def test_issue_rules(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    base = {"project": {"key": "FER"}, "issuetype": {"name": "Task"}, "summary": "ok"}
    cases = [
        ({**base, "labels": ["has space"]}, "labels"),
        ({**base, "description": "plain text"}, "description"),
        (
            {
                **base,
                "description": {
                    "type": "doc",
                    "version": 1,
                    "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
                },
            },
            "description",
        ),
        ({**base, "summary": "x" * 256}, "summary"),
        ({**base, "issuetype": {"name": "Subtask"}}, "parent"),
        ({**base, "assignee": {"accountId": "nobody"}}, "assignee"),
        ({**base, "status": {"name": "Done"}}, "status"),
        ({**base, "duedate": "tomorrow"}, "duedate"),
        ({**base, "project": {"key": "NOPE"}}, "project"),
    ]
    for fields, named in cases:
        r = await c.post(f"{API}/issue", json={"fields": fields})
        assert r.status_code == 400, fields
        assert named in r.json()["errors"], r.json()


async def test_issue_lifecycle_transitions_and_subtasks(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    grace = (await c.get(f"{API}/user/search", params={"query": "grace@example.com"})).json()
    assert [u["emailAddress"] for u in grace] == ["grace@example.com"]
    created = await c.post(
        f"{API}/issue",
        json={
            "fields": {
                "project": {"key": "FER"},
                "issuetype": {"name": "Task"},
                "summary": "Café ☕",
                "description": doc("hello"),
                "labels": ["a", "b"],
                "assignee": {"accountId": grace[0]["accountId"]},
                "priority": {"name": "High"},
                "components": [{"name": "Backend"}],
                "duedate": "2030-01-15",
                "customfield_10015": "2030-01-02",
            }
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    issue = (await c.get(f"{API}/issue/{key}")).json()["fields"]
    assert issue["summary"] == "Café ☕" and issue["labels"] == ["a", "b"]
    assert issue["assignee"]["emailAddress"] == "grace@example.com"
    assert issue["status"]["name"] == "To Do" and issue["resolutiondate"] is None
    assert issue["priority"]["name"] == "High" and issue["components"][0]["name"] == "Backend"
    assert (issue["duedate"], issue["customfield_10015"]) == ("2030-01-15", "2030-01-02")
    edit = await c.put(
        f"{API}/issue/{key}",
        json={"fields": {"summary": "Renamed"}, "update": {"labels": [{"add": "c"}, {"remove": "a"}]}},
    )
    assert edit.status_code == 204
    transitions = (await c.get(f"{API}/issue/{key}/transitions")).json()["transitions"]
    done = next(t for t in transitions if t["to"]["statusCategory"]["key"] == "done")
    assert (await c.post(f"{API}/issue/{key}/transitions", json={"transition": {"id": "999"}})).status_code == 400
    assert (await c.post(f"{API}/issue/{key}/transitions", json={"transition": {"id": done["id"]}})).status_code == 204
    wanted = {"fields": "summary,labels,status,resolutiondate"}
    issue = (await c.get(f"{API}/issue/{key}", params=wanted)).json()["fields"]
    assert issue["summary"] == "Renamed" and issue["labels"] == ["b", "c"]
    assert issue["status"]["id"] == done["to"]["id"] and issue["resolutiondate"]
    sub = await c.post(
        f"{API}/issue",
        json={
            "fields": {
                "project": {"key": "FER"},
                "issuetype": {"name": "Subtask"},
                "summary": "child",
                "parent": {"key": key},
            }
        },
    )
    assert sub.status_code == 201
    subsub = await c.post(
        f"{API}/issue",
        json={
            "fields": {
                "project": {"key": "FER"},
                "issuetype": {"name": "Subtask"},
                "summary": "grandchild",
                "parent": {"key": sub.json()["key"]},
            }
        },
    )
    assert subsub.status_code == 400
    assert (await c.delete(f"{API}/issue/{key}")).status_code == 400  # has sub-tasks
    assert (await c.delete(f"{API}/issue/{key}", params={"deleteSubtasks": "true"})).status_code == 204
    assert (await c.get(f"{API}/issue/{key}")).status_code == 404
    assert (await c.get(f"{API}/issue/{sub.json()['id']}")).status_code == 404


async def test_comments_are_adf(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    key = (await c.get(f"{API}/search/jql", params={"jql": "project = FER", "maxResults": 1})).json()["issues"][0]["id"]
    assert (await c.post(f"{API}/issue/{key}/comment", json={"body": "plain"})).status_code == 400
    made = await c.post(f"{API}/issue/{key}/comment", json={"body": doc("Un commentaire 💬")})
    assert made.status_code == 201
    cid = made.json()["id"]
    assert made.json()["author"]["emailAddress"] == DEFAULT_EMAIL
    page = (await c.get(f"{API}/issue/{key}/comment", params={"maxResults": 1})).json()
    assert page["total"] == 3 and len(page["comments"]) == 1
    edited = await c.put(f"{API}/issue/{key}/comment/{cid}", json={"body": doc("edited")})
    assert edited.json()["body"] == doc("edited")
    assert (await c.delete(f"{API}/issue/{key}/comment/{cid}")).status_code == 204
    assert (await c.get(f"{API}/issue/{key}/comment/{cid}")).status_code == 404


async def test_projects_statuses_components_and_links(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    me = (await c.get(f"{API}/myself")).json()
    made = await c.post(
        f"{API}/project",
        json={"key": "NEW", "name": "New one", "leadAccountId": me["accountId"], "projectTypeKey": "software"},
    )
    assert made.status_code == 201
    pid = str(made.json()["id"])
    dup = await c.post(f"{API}/project", json={"key": "NEW", "name": "Other", "leadAccountId": me["accountId"]})
    assert dup.status_code == 400
    st = await c.post(
        f"{API}/statuses",
        json={
            "scope": {"type": "PROJECT", "project": {"id": pid}},
            "statuses": [{"name": "Blocked", "statusCategory": "IN_PROGRESS"}],
        },
    )
    assert st.status_code == 200 and st.json()[0]["name"] == "Blocked"
    again = await c.post(
        f"{API}/statuses",
        json={
            "scope": {"type": "PROJECT", "project": {"id": pid}},
            "statuses": [{"name": "blocked", "statusCategory": "TODO"}],
        },
    )
    assert again.status_code == 409
    board = (await c.get(f"{API}/project/NEW/statuses")).json()[0]["statuses"]
    assert [s["name"] for s in board] == ["To Do", "In Progress", "Done", "Blocked"]
    comp = await c.post(f"{API}/component", json={"name": "API", "project": "NEW"})
    assert comp.status_code == 201
    issue = (
        await c.post(
            f"{API}/issue", json={"fields": {"project": {"id": pid}, "issuetype": {"name": "Task"}, "summary": "t"}}
        )
    ).json()
    tr = (await c.get(f"{API}/issue/{issue['id']}/transitions")).json()["transitions"]
    assert "Blocked" in {t["to"]["name"] for t in tr}
    link = {"globalId": "ferry:x", "object": {"url": "https://example.com/a", "title": "A"}}
    first = await c.post(f"{API}/issue/{issue['id']}/remotelink", json=link)
    second = await c.post(
        f"{API}/issue/{issue['id']}/remotelink", json={**link, "object": {"url": "https://example.com/b", "title": "B"}}
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    links = (await c.get(f"{API}/issue/{issue['id']}/remotelink")).json()
    assert [(x["globalId"], x["object"]["url"]) for x in links] == [("ferry:x", "https://example.com/b")]
    assert (await c.put(f"{API}/project/NEW", json={"description": "d"})).json()["description"] == "d"
    assert (await c.delete(f"{API}/project/NEW")).status_code == 204
    assert (await c.get(f"{API}/issue/{issue['id']}")).status_code == 404
    assert (await c.get(f"{API}/project/{pid}")).status_code == 404


# --- attachments ------------------------------------------------------------------------------


async def test_attachments_upload_download_delete(sim: tuple[Any, httpx.AsyncClient]) -> None:
    _, c = sim
    key = (await c.get(f"{API}/search/jql", params={"jql": "project = FER", "maxResults": 1})).json()["issues"][0][
        "key"
    ]
    payload = bytes(range(256)) * 300
    files = {"file": ("données.bin", payload, "application/octet-stream")}
    refused = await c.post(f"{API}/issue/{key}/attachments", files=files)
    assert refused.status_code == 403 and refused.json()["errorMessages"] == ["XSRF check failed"]
    up = await c.post(f"{API}/issue/{key}/attachments", files=files, headers={"X-Atlassian-Token": "no-check"})
    assert up.status_code == 200, up.text
    att = up.json()[0]
    assert (att["filename"], att["size"]) == ("données.bin", len(payload))
    meta = (await c.get(f"{API}/attachment/{att['id']}")).json()
    assert meta["size"] == len(payload)
    body = await c.get(f"{API}/attachment/content/{att['id']}", params={"redirect": "false"})
    assert body.content == payload
    part = await c.get(
        f"{API}/attachment/content/{att['id']}", params={"redirect": "false"}, headers={"Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and part.content == payload[10:20]
    moved = await c.get(f"{API}/attachment/content/{att['id']}")
    assert moved.status_code == 303
    media = await c.get(moved.headers["location"], headers={"Authorization": ""})
    assert media.content == payload
    forged = moved.headers["location"].split("?")[0] + "?token=forged"
    assert (await c.get(forged)).status_code == 404
    assert (await c.delete(f"{API}/attachment/{att['id']}")).status_code == 204
    assert (await c.get(f"{API}/attachment/{att['id']}")).status_code == 404


async def test_seeded_attachment_streams(sim: tuple[Any, httpx.AsyncClient]) -> None:
    app, c = sim
    att = next(a for a in app.state.jira_store.attachments.values() if a.size == 70_000)
    got = await c.get(f"{API}/attachment/content/{att.id}", params={"redirect": "false"})
    assert got.status_code == 200 and got.content == att.blob.read()


async def test_search_resumes_by_key(sim: tuple[Any, httpx.AsyncClient]) -> None:
    """``key > X ORDER BY key`` — a position that needs no page token."""
    _, c = sim
    everything = await _search_all(c, "project = FER ORDER BY key ASC", 100)
    keys = [i["key"] for i in everything]
    assert keys == sorted(keys, key=lambda k: int(k.split("-")[1]))
    after = await _search_all(c, f'project = FER AND key > "{keys[4]}" ORDER BY key ASC', 3)
    assert [i["key"] for i in after] == keys[5:]
    before = await _search_all(c, f"project = FER AND key <= {keys[1]} ORDER BY key DESC", 100)
    assert [i["key"] for i in before] == keys[1::-1]
    bad = await c.get(f"{API}/search/jql", params={"jql": "project = FER AND key > nope"})
    assert bad.status_code == 400
