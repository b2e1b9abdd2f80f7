"""Azure DevOps simulator: auth (PAT and Entra bearer), api-version, projects, work items by
JSON Patch, links, WIQL and batch paging, comments, attachments, classification nodes, the
TSTU limit and injected faults.

Every answer these tests receive (and every request they send) is validated against the
copied official description (``vendor-api/azure-devops``, with the documented SPEC_FIXES)
by an httpx response hook.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulators.azure_devops import DEFAULT_PAT, SeedConfig, create_app
from simulators.azure_devops.spec import SpecMismatch, validate_response
from simulators.common import FakeClock, serve

CFG = SeedConfig(items_per_project=8)
ORG = CFG.organization
V = {"api-version": "7.1"}
PV = {"api-version": "7.1-preview.4"}
PATCH = {"Content-Type": "application/json-patch+json"}


def basic(pat: str = DEFAULT_PAT, user: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pat}".encode()).decode()}


async def _validate(response: httpx.Response) -> None:
    await response.aread()
    validate_response(response, request_too=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Any:
    return create_app(CFG, clock=clock)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://dev.azure.test",
        headers=basic(),
        event_hooks={"response": [_validate]},
        timeout=30,
    ) as c:
        yield c


async def project_id(client: httpx.AsyncClient, name: str = "Ferry Basic") -> str:
    r = await client.get(f"/{ORG}/_apis/projects", params=V)
    return str(next(p["id"] for p in r.json()["value"] if p["name"] == name))


async def create_item(
    client: httpx.AsyncClient, project: str, title: str, type_name: str = "Issue", **fields: Any
) -> dict[str, Any]:
    ops = [{"op": "add", "path": "/fields/System.Title", "value": title}]
    ops += [{"op": "add", "path": f"/fields/{k.replace('_', '.')}", "value": v} for k, v in fields.items()]
    r = await client.post(f"/{ORG}/{project}/_apis/wit/workitems/${type_name}", params=V, json=ops, headers=PATCH)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- auth and versions ------------------------------------------------------------------------


async def test_pat_with_any_user_name_authenticates(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/{ORG}/_apis/connectionData", params=V, headers=basic(user="whoever"))
    assert r.status_code == 200
    user = r.json()["authenticatedUser"]
    assert user["properties"]["Account"]["$value"] == "ada@example.com"


@pytest.mark.parametrize(
    "headers", [{}, basic("not-a-pat"), {"Authorization": "Basic !!!"}, {"Authorization": "Bearer forged.token.value"}]
)
async def test_refused_credentials_are_401_with_challenge(app: Any, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://dev.azure.test") as bare:
        r = await bare.get(f"/{ORG}/_apis/projects", params=V, headers=headers)
    assert r.status_code == 401
    assert "Basic" in r.headers["www-authenticate"] and "Bearer" in r.headers["www-authenticate"]
    assert r.json()["message"].startswith("TF400813")


async def test_entra_client_credentials_token_and_expiry(client: httpx.AsyncClient, clock: FakeClock) -> None:
    url = f"/{CFG.tenant_id}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": CFG.client_id,
        "client_secret": CFG.client_secret,
        "scope": "499b84ac-1321-427f-aa17-267ca6975798/.default",
    }
    bad = await client.post(url, data={**form, "client_secret": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    scope = await client.post(url, data={**form, "scope": "https://graph.microsoft.com/.default"})
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    token = (await client.post(url, data=form)).json()["access_token"]
    me = await client.get(f"/{ORG}/_apis/connectionData", params=V, headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["authenticatedUser"]["providerDisplayName"] == "Ferry migration app"
    clock.advance(3600)
    expired = await client.get(f"/{ORG}/_apis/projects", params=V, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401


async def test_api_version_is_required_and_comments_need_preview(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    r = await client.get(f"/{ORG}/_apis/projects")
    assert r.status_code == 400 and "api-version" in r.json()["message"]
    wi = await create_item(client, pid, "needs comments")
    r = await client.get(f"/{ORG}/{pid}/_apis/wit/workItems/{wi['id']}/comments", params=V)
    assert r.status_code == 400 and "-preview" in r.json()["message"]


async def test_unknown_organization_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/someone-else/_apis/projects", params=V)).status_code == 404


# --- projects ------------------------------------------------------------------------------------


async def test_projects_page_with_continuation_header(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/{ORG}/_apis/projects", params={**V, "$top": 1})
    assert r.json()["count"] == 1
    token = r.headers["x-ms-continuationtoken"]
    r2 = await client.get(f"/{ORG}/_apis/projects", params={**V, "$top": 1, "continuationToken": token})
    assert "x-ms-continuationtoken" not in r2.headers
    names = {r.json()["value"][0]["name"], r2.json()["value"][0]["name"]}
    assert names == {"Ferry Basic", "Ferry Agile"}


async def test_project_create_is_an_operation_to_poll(client: httpx.AsyncClient) -> None:
    procs = (await client.get(f"/{ORG}/_apis/process/processes", params=V)).json()["value"]
    basic_id = next(p["id"] for p in procs if p["name"] == "Basic")
    body = {
        "name": "Moved board",
        "description": "from Trello",
        "capabilities": {
            "processTemplate": {"templateTypeId": basic_id},
            "versioncontrol": {"sourceControlType": "Git"},
        },
    }
    r = await client.post(f"/{ORG}/_apis/projects", params=V, json=body)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    op_url = f"/{ORG}/_apis/operations/{r.json()['id']}"
    statuses = [(await client.get(op_url, params=V)).json()["status"] for _ in range(2)]
    assert statuses == ["inProgress", "succeeded"]
    again = await client.post(f"/{ORG}/_apis/projects", params=V, json=body)
    assert again.status_code == 409
    bad = await client.post(f"/{ORG}/_apis/projects", params=V, json={**body, "name": "a/b"})
    assert bad.status_code == 400
    got = await client.get(f"/{ORG}/_apis/projects/Moved board", params={**V, "includeCapabilities": "true"})
    assert got.json()["capabilities"]["processTemplate"]["templateName"] == "Basic"
    deleted = await client.delete(f"/{ORG}/_apis/projects/{got.json()['id']}", params=V)
    assert deleted.status_code == 202
    assert (await client.get(f"/{ORG}/_apis/projects/Moved board", params=V)).status_code == 404


# --- work items ---------------------------------------------------------------------------------


async def test_create_by_json_patch_normalises_and_resolves(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    wi = await create_item(
        client,
        pid,
        "Tâche 🚀",
        System_Tags="b; a;  a ",
        System_AssignedTo="Linus Torvalds <linus@example.com>",
        System_State="Doing",
    )
    fields = wi["fields"]
    assert fields["System.Tags"] == "a; b"
    assert fields["System.AssignedTo"]["uniqueName"] == "linus@example.com"
    assert fields["System.State"] == "Doing" and fields["System.AreaPath"] == "Ferry Basic"
    assert fields["System.CreatedBy"]["uniqueName"] == "ada@example.com"
    done = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params=V,
        headers=PATCH,
        json=[{"op": "replace", "path": "/fields/System.State", "value": "Done"}],
    )
    assert done.json()["rev"] == 2
    assert "Microsoft.VSTS.Common.ClosedDate" in done.json()["fields"]


@pytest.mark.parametrize(
    ("ops", "status", "code"),
    [
        ([{"op": "add", "path": "/fields/Custom.Nope", "value": 1}], 400, "TF51535"),
        ([{"op": "add", "path": "/fields/System.AssignedTo", "value": "nobody@example.com"}], 400, "unknown identity"),
        ([{"op": "add", "path": "/fields/System.State", "value": "Closed"}], 400, "TF401320"),
        ([{"op": "add", "path": "/fields/System.Title", "value": "x" * 256}], 400, "TF401320"),
        ([{"op": "add", "path": "/fields/System.AreaPath", "value": "Ferry Basic\\Nowhere"}], 400, "TF401347"),
        ([{"op": "add", "path": "/fields/System.CreatedDate", "value": "2020-01-01T00:00:00Z"}], 400, "bypassRules"),
        ([{"op": "add", "path": "/fields/System.Id", "value": 5}], 400, "ReadOnly"),
    ],
)
async def test_invalid_documents_change_nothing(
    client: httpx.AsyncClient, app: Any, ops: list[dict[str, Any]], status: int, code: str
) -> None:
    pid = await project_id(client)
    before = len(app.state.ado.store.work_items)
    doc = [{"op": "add", "path": "/fields/System.Title", "value": "ok"}, *ops]
    if ops[0]["path"] == "/fields/System.Title":
        doc = ops
    r = await client.post(f"/{ORG}/{pid}/_apis/wit/workitems/$Issue", params=V, json=doc, headers=PATCH)
    assert r.status_code == status and code in r.json()["message"]
    assert len(app.state.ado.store.work_items) == before


async def test_bypass_rules_keeps_created_date(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    r = await client.post(
        f"/{ORG}/{pid}/_apis/wit/workitems/$Issue",
        params={**V, "bypassRules": "true"},
        headers=PATCH,
        json=[
            {"op": "add", "path": "/fields/System.Title", "value": "old"},
            {"op": "add", "path": "/fields/System.CreatedDate", "value": "2020-05-01T09:30:00Z"},
        ],
    )
    assert r.json()["fields"]["System.CreatedDate"] == "2020-05-01T09:30:00Z"


async def test_patch_needs_json_patch_content_type_and_rev_test(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    wi = await create_item(client, pid, "typed")
    r = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params=V,
        json=[{"op": "add", "path": "/fields/System.Title", "value": "x"}],
    )
    assert r.status_code == 415
    stale = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params=V,
        headers=PATCH,
        json=[{"op": "test", "path": "/rev", "value": 99}, {"op": "add", "path": "/fields/System.Title", "value": "x"}],
    )
    assert stale.status_code == 412
    fresh = await client.get(f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}", params=V)
    assert fresh.json()["fields"]["System.Title"] == "typed"


async def test_parent_links_are_reciprocal_and_single(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    a = await create_item(client, pid, "parent A")
    b = await create_item(client, pid, "parent B")
    child = await create_item(client, pid, "child", "Task")

    def link(target: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "op": "add",
                "path": "/relations/-",
                "value": {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": target["url"]},
            }
        ]

    base = f"/{ORG}/{pid}/_apis/wit/workitems"
    r = await client.patch(f"{base}/{child['id']}", params=V, headers=PATCH, json=link(a))
    assert r.status_code == 200 and r.json()["fields"]["System.Parent"] == a["id"]
    parent = await client.get(f"{base}/{a['id']}", params={**V, "$expand": "relations"})
    assert [x["rel"] for x in parent.json()["relations"]] == ["System.LinkTypes.Hierarchy-Forward"]
    second = await client.patch(f"{base}/{child['id']}", params=V, headers=PATCH, json=link(b))
    assert second.status_code == 400 and "TF201036" in second.json()["message"]
    removed = await client.patch(
        f"{base}/{child['id']}", params=V, headers=PATCH, json=[{"op": "remove", "path": "/relations/0"}]
    )
    assert "System.Parent" not in removed.json()["fields"]
    parent = await client.get(f"{base}/{a['id']}", params={**V, "$expand": "relations"})
    assert parent.json().get("relations", []) == []


async def test_delete_is_404_afterwards_and_leaves_wiql(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    wi = await create_item(client, pid, "to delete")
    url = f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}"
    assert (await client.delete(url, params=V)).status_code == 200
    assert (await client.get(url, params=V)).status_code == 404
    assert (await client.delete(url, params=V)).status_code == 404
    ids = await wiql_ids(client, pid, f"[System.Id] = {wi['id']}")
    assert ids == []


# --- WIQL and batch ------------------------------------------------------------------------------


async def wiql_ids(client: httpx.AsyncClient, pid: str, where: str, top: int | None = None) -> list[int]:
    query = f"SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND {where} ORDER BY [System.Id]"
    params: dict[str, str | int] = {**V, **({"$top": top} if top else {})}
    r = await client.post(f"/{ORG}/{pid}/_apis/wit/wiql", params=params, json={"query": query})
    assert r.status_code == 200, r.text
    return [w["id"] for w in r.json()["workItems"]]


async def test_wiql_keyset_pages_cover_the_project_once(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    every = await wiql_ids(client, pid, "[System.Id] > 0")
    paged: list[int] = []
    last = 0
    while True:
        page = await wiql_ids(client, pid, f"[System.Id] > {last}", top=3)
        if not page:
            break
        paged += page
        last = page[-1]
    assert paged == every and len(every) == len(set(every)) > 8
    under = await wiql_ids(client, pid, "[System.AreaPath] UNDER 'Ferry Basic\\Team A'")
    assert under and set(under) < set(every)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 1 OR [System.Id] < 1",
        "SELECT [System.Nope] FROM WorkItems",
        "SELECT [System.Id] FROM WorkItemLinks",
    ],
)
async def test_wiql_refuses_what_it_cannot_run(client: httpx.AsyncClient, query: str) -> None:
    pid = await project_id(client)
    r = await client.post(f"/{ORG}/{pid}/_apis/wit/wiql", params=V, json={"query": query})
    assert r.status_code == 400


async def test_batch_get_limits(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    url = f"/{ORG}/{pid}/_apis/wit/workitemsbatch"
    r = await client.post(url, params=V, json={"ids": list(range(1, 202))})
    assert r.status_code == 400 and "exceeds the limit of 200" in r.json()["message"]
    r = await client.post(url, params=V, json={"ids": [1], "fields": ["System.Title"], "$expand": "relations"})
    assert r.status_code == 400
    ids = await wiql_ids(client, pid, "[System.Id] > 0", top=2)
    r = await client.post(
        url, params=V, json={"ids": [*ids, 999_999], "errorPolicy": "omit", "fields": ["System.Title", "System.State"]}
    )
    values = r.json()["value"]
    assert values[-1] is None and set(values[0]["fields"]) == {"System.Title", "System.State"}
    strict = await client.post(url, params=V, json={"ids": [*ids, 999_999]})
    assert strict.status_code == 404


# --- comments ------------------------------------------------------------------------------------


async def test_comments_page_and_change(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    wi = await create_item(client, pid, "talk")
    url = f"/{ORG}/{pid}/_apis/wit/workItems/{wi['id']}/comments"
    for i in range(3):
        r = await client.post(url, params=PV, json={"text": f"<p>c{i}</p>"})
        assert r.status_code == 200 and r.json()["createdBy"]["uniqueName"] == "ada@example.com"
    texts: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, str | int] = {**PV, "$top": 2}
        if token:
            params["continuationToken"] = token
        page = (await client.get(url, params=params)).json()
        assert page["totalCount"] == 3
        texts += [c["text"] for c in page["comments"]]
        token = page.get("continuationToken")
        if not token:
            break
    assert texts == ["<p>c0</p>", "<p>c1</p>", "<p>c2</p>"]
    first = (await client.get(url, params={**PV, "$top": 1})).json()["comments"][0]
    edited = await client.patch(f"{url}/{first['id']}", params=PV, json={"text": "edited"})
    assert edited.json()["version"] == 2
    assert (await client.delete(f"{url}/{first['id']}", params=PV)).status_code == 204
    assert (await client.get(url, params=PV)).json()["totalCount"] == 2
    empty = await client.post(url, params=PV, json={"text": "  "})
    assert empty.status_code == 400


# --- attachments ---------------------------------------------------------------------------------


async def test_upload_link_and_download(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    wi = await create_item(client, pid, "with file")
    data = bytes(range(256)) * 300
    up = await client.post(
        f"/{ORG}/{pid}/_apis/wit/attachments",
        params={**V, "fileName": "notes ü.txt", "uploadType": "Simple"},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert up.status_code == 201
    link = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params={**V, "$expand": "relations"},
        headers=PATCH,
        json=[
            {
                "op": "add",
                "path": "/relations/-",
                "value": {"rel": "AttachedFile", "url": up.json()["url"], "attributes": {"comment": "ferry"}},
            }
        ],
    )
    rel = link.json()["relations"][0]
    assert rel["attributes"]["name"] == "notes ü.txt"
    assert rel["attributes"]["resourceSize"] == len(data)
    got = await client.get(rel["url"].replace("https://dev.azure.test", ""), params=V)
    assert got.content == data
    missing = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params=V,
        headers=PATCH,
        json=[
            {
                "op": "add",
                "path": "/relations/-",
                "value": {"rel": "AttachedFile", "url": up.json()["url"][:-4] + "0000"},
            }
        ],
    )
    assert missing.status_code == 400


async def test_chunked_upload_in_order_only(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    start = await client.post(
        f"/{ORG}/{pid}/_apis/wit/attachments", params={**V, "fileName": "big.bin", "uploadType": "Chunked"}
    )
    url = f"/{ORG}/{pid}/_apis/wit/attachments/{start.json()['id']}"
    put = {**V, "fileName": "big.bin"}
    out_of_order = await client.put(url, params=put, content=b"b" * 5, headers={"Content-Range": "bytes 5-9/10"})
    assert out_of_order.status_code == 400
    for lo, part in ((0, b"a" * 5), (5, b"b" * 5)):
        r = await client.put(url, params=put, content=part, headers={"Content-Range": f"bytes {lo}-{lo + 4}/10"})
        assert r.status_code == 201
    assert (await client.get(url, params=V)).content == b"aaaaabbbbb"


async def test_seeded_file_streams_with_range(client: httpx.AsyncClient, app: Any) -> None:
    att = next(a for a in app.state.ado.store.attachments.values() if a.blob is not None)
    url = f"/{ORG}/{att.project_id}/_apis/wit/attachments/{att.id}"
    whole = await client.get(url, params=V)
    assert hashlib.sha256(whole.content).hexdigest() == att.blob.sha256()
    part = await client.get(url, params=V, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]


# --- classification nodes -----------------------------------------------------------------------


async def test_area_nodes_create_rename_delete(client: httpx.AsyncClient) -> None:
    pid = await project_id(client)
    base = f"/{ORG}/{pid}/_apis/wit/classificationnodes/Areas"
    made = await client.post(base, params=V, json={"name": "Doing"})
    assert made.status_code == 201 and made.json()["path"] == "\\Ferry Basic\\Area\\Doing"
    assert (await client.post(base, params=V, json={"name": "doing"})).status_code == 409
    assert (await client.post(base, params=V, json={"name": "a/b"})).status_code == 400
    wi = await create_item(client, pid, "in area", System_AreaPath="Ferry Basic\\Doing")
    in_use = await client.delete(f"{base}/Doing", params=V)
    assert in_use.status_code == 400
    renamed = await client.patch(f"{base}/Doing", params=V, json={"name": "In progress"})
    assert renamed.json()["name"] == "In progress"
    moved = await client.get(f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}", params=V)
    assert moved.json()["fields"]["System.AreaPath"] == "Ferry Basic\\In progress"
    root = (await client.get(base, params=V)).json()
    gone = await client.delete(f"{base}/In progress", params={**V, "$reclassifyId": root["id"]})
    assert gone.status_code == 204
    moved = await client.get(f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}", params=V)
    assert moved.json()["fields"]["System.AreaPath"] == "Ferry Basic"
    tree = (await client.get(f"/{ORG}/{pid}/_apis/wit/classificationnodes", params={**V, "$depth": 2})).json()
    assert {n["structureType"] for n in tree["value"]} == {"area", "iteration"}


async def test_types_and_states(client: httpx.AsyncClient) -> None:
    pid = await project_id(client, "Ferry Agile")
    states = (await client.get(f"/{ORG}/{pid}/_apis/wit/workitemtypes/User Story/states", params=V)).json()["value"]
    assert [(s["name"], s["category"]) for s in states][-2:] == [("Closed", "Completed"), ("Removed", "Removed")]


async def test_types_list_their_fields_with_the_process_order_field(client: httpx.AsyncClient) -> None:
    """The REST reference's example answer lists each type's fields, StackRank among them;
    Scrum's BacklogPriority is not a field of these processes' types."""
    for name, type_name in (("Ferry Basic", "Issue"), ("Ferry Agile", "User Story")):
        pid = await project_id(client, name)
        body = (await client.get(f"/{ORG}/{pid}/_apis/wit/workitemtypes/{type_name}", params=V)).json()
        fields = {f["referenceName"] for f in body["fields"]}
        assert "Microsoft.VSTS.Common.StackRank" in fields and "System.Title" in fields
        assert "Microsoft.VSTS.Common.BacklogPriority" not in fields
    pid = await project_id(client, "Ferry Agile")
    ranked = await create_item(client, pid, "Ranked", "User Story", Microsoft_VSTS_Common_StackRank=2.5)
    assert ranked["fields"]["Microsoft.VSTS.Common.StackRank"] == 2.5
    assert "Microsoft.VSTS.Common.StackRank" not in (await create_item(client, pid, "Unranked", "User Story"))["fields"]
    r = await client.post(
        f"/{ORG}/{pid}/_apis/wit/workitems/$User Story",
        params=V,
        headers=PATCH,
        json=[{"op": "add", "path": "/fields/Microsoft.VSTS.Common.BacklogPriority", "value": 1.0}],
    )
    assert r.status_code == 400 and "TF51535" in r.text


async def test_tags_are_case_insensitive_per_project(client: httpx.AsyncClient) -> None:
    """A tag keeps the spelling it was first used with in its project; another project may
    spell it otherwise."""
    basic_pid, agile_pid = await project_id(client), await project_id(client, "Ferry Agile")
    first = await create_item(client, basic_pid, "First", System_Tags="CaseTag")
    assert first["fields"]["System.Tags"] == "CaseTag"
    second = await create_item(client, basic_pid, "Second", System_Tags="casetag; Other")
    assert second["fields"]["System.Tags"] == "CaseTag; Other"
    both = await create_item(client, basic_pid, "Both", System_Tags="CASETAG; casetag")
    assert both["fields"]["System.Tags"] == "CaseTag"
    tags = (await client.get(f"/{ORG}/{basic_pid}/_apis/wit/tags", params=V)).json()["value"]
    assert [t["name"] for t in tags if t["name"].lower() == "casetag"] == ["CaseTag"]
    elsewhere = await create_item(client, agile_pid, "Elsewhere", "User Story", System_Tags="casetag")
    assert elsewhere["fields"]["System.Tags"] == "casetag"


# --- TSTU limit ----------------------------------------------------------------------------------


async def test_tstu_limit_blocks_with_headers_then_recovers(client: httpx.AsyncClient, clock: FakeClock) -> None:
    r = await client.post("/_sim/limits", json={"limiters": {"tstu": {"limit": 0.1, "costs": {"read": 0.02}}}})
    assert r.status_code == 200
    statuses = []
    for _ in range(8):
        r = await client.get(f"/{ORG}/_apis/projects", params=V)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429
    assert r.json()["message"].startswith("TF400733")
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert r.headers["x-ratelimit-resource"] == "ATCPU"
    assert float(r.headers["x-ratelimit-limit"]) == 0.1
    assert int(r.headers["x-ratelimit-reset"]) > int(clock.time())
    again = await client.get(f"/{ORG}/_apis/projects", params=V)
    assert again.status_code == 429  # a blocked request costs nothing, but frees nothing
    clock.advance(float(r.headers["retry-after"]))
    assert (await client.get(f"/{ORG}/_apis/projects", params=V)).status_code == 200
    stats = (await client.get("/_sim/stats")).json()
    assert stats["throttled"] == 2


async def test_near_the_limit_answers_carry_rate_headers(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/limits", json={"limiters": {"tstu": {"limit": 0.11}}})
    first = await client.get(f"/{ORG}/_apis/projects", params=V)
    assert "x-ratelimit-limit" not in first.headers
    for _ in range(4):  # 5 × 0.02 TSTU: over 80 % of 0.11
        last = await client.get(f"/{ORG}/_apis/projects", params=V)
    assert last.headers["x-ratelimit-resource"] == "ATCPU"
    assert float(last.headers["x-ratelimit-remaining"]) > 0


# --- faults --------------------------------------------------------------------------------------


def test_apply_then_drop_creates_once_over_a_socket() -> None:
    app = create_app(SeedConfig(items_per_project=2, attachment_sizes=()))
    with serve(app) as base, httpx.Client(base_url=base, headers=basic(), timeout=10) as http:
        pid = next(
            p["id"] for p in http.get(f"/{ORG}/_apis/projects", params=V).json()["value"] if p["name"] == "Ferry Basic"
        )
        http.post(
            "/_sim/faults",
            json={
                "faults": [
                    {"kind": "apply_then_drop", "method": "POST", "path": "/_apis/wit/workitems/\\$Issue", "nth": 2}
                ]
            },
        )
        doc = [{"op": "add", "path": "/fields/System.Title", "value": "dropped answer"}]

        def count() -> int:
            q = {"query": "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'dropped answer'"}
            return len(http.post(f"/{ORG}/{pid}/_apis/wit/wiql", params=V, json=q).json()["workItems"])

        first = http.post(f"/{ORG}/{pid}/_apis/wit/workitems/$Issue", params=V, json=doc, headers=PATCH)
        assert first.status_code == 200 and count() == 1
        with pytest.raises(httpx.TransportError):
            http.post(f"/{ORG}/{pid}/_apis/wit/workitems/$Issue", params=V, json=doc, headers=PATCH)
        assert count() == 2  # the write happened although its answer was lost
        plan = http.get("/_sim/faults").json()
        assert plan["injected"][0]["kind"] == "apply_then_drop"
        stats = http.get("/_sim/stats").json()
        assert stats["by_status"]["drop"] == 1 and stats["faults_injected"] == 1


async def test_status_fault_before_the_write_changes_nothing(client: httpx.AsyncClient, app: Any) -> None:
    pid = await project_id(client)
    await client.post(
        "/_sim/faults",
        json={
            "faults": [
                {
                    "kind": "status",
                    "status": 503,
                    "method": "PATCH",
                    "path": "/_apis/wit/workitems/*$",
                    "headers": {"Retry-After": "2"},
                }
            ]
        },
    )
    wi = await create_item(client, pid, "stays")
    r = await client.patch(
        f"/{ORG}/{pid}/_apis/wit/workitems/{wi['id']}",
        params=V,
        headers=PATCH,
        json=[{"op": "add", "path": "/fields/System.Title", "value": "changed"}],
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert app.state.ado.store.work_items[wi["id"]].fields["System.Title"] == "stays"


async def test_apply_then_status_applies_and_answers_error(client: httpx.AsyncClient, app: Any) -> None:
    pid = await project_id(client)
    wi = await create_item(client, pid, "talk")
    await client.post(
        "/_sim/faults",
        json={"faults": [{"kind": "apply_then_status", "status": 502, "method": "POST", "path": "/comments$"}]},
    )
    r = await client.post(
        f"/{ORG}/{pid}/_apis/wit/workItems/{wi['id']}/comments", params=PV, json={"text": "lost answer"}
    )
    assert r.status_code == 502
    assert [c.text for c in app.state.ado.store.comments[wi["id"]]] == ["lost answer"]


def test_spec_validator_rejects_a_wrong_answer() -> None:
    """The validation hook can fail: a work item whose id is a string is refused."""
    req = httpx.Request("GET", "https://dev.azure.com/o/p/_apis/wit/workitems/1", params={"api-version": "7.1"})
    bad = httpx.Response(200, json={"id": "one", "rev": 1, "fields": {}}, request=req)
    with pytest.raises(SpecMismatch):
        validate_response(bad)
    wrapped = httpx.Response(
        200,
        json=[{"id": "x"}],
        request=httpx.Request("GET", "https://dev.azure.com/o/_apis/projects", params={"api-version": "7.1"}),
    )
    with pytest.raises(SpecMismatch):
        validate_response(wrapped)
