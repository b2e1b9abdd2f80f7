"""monday.com simulator: every answer checked against the official SDL (2026-10), auth,
cursor paging, the complexity budget, the other limits, writes and uploads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.monday import DEFAULT_TOKEN, SeedConfig, create_app, token_for
from simulators.monday.spec import SpecViolation, check_request, check_response

SMALL = SeedConfig(boards=1, items_per_board=7, groups_per_board=2, many_updates=3, file_sizes=(2_000,))

READ_ALL = """
query Board($ids: [ID!], $limit: Int!) {
  me { id name email }
  complexity { before query after reset_in_x_seconds }
  boards(ids: $ids) {
    id name description state board_kind type workspace_id
    groups { id title position archived }
    columns { id title type settings_str }
    items_page(limit: $limit) {
      cursor
      items {
        id name state created_at updated_at group { id }
        column_values {
          __typename id type text value
          ... on StatusValue { index label is_done }
          ... on PeopleValue { persons_and_teams { id kind } }
          ... on DateValue { date time }
          ... on TagsValue { tag_ids tags { id name color } }
          ... on FileValue { files { __typename ... on FileAssetValue { asset_id name } } }
        }
        subitems { id name parent_item { id } column_values { id text } }
        updates(limit: 5) { id body text_body created_at creator { id email } }
        assets { id name file_size file_extension public_url }
        description { id }
      }
    }
  }
}
"""


class Gql:
    """Posts operations and checks every request and answer against the SDL."""

    def __init__(self, http: httpx.AsyncClient, token: str = DEFAULT_TOKEN) -> None:
        self.http = http
        self.token = token

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            "/v2", json={"query": query, "variables": variables or {}}, headers={"Authorization": token or self.token}
        )

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        check_request(query)
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        check_response(query, body)
        return body


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Any:
    return create_app(SMALL, clock=clock)


@pytest.fixture
async def gql(app: Any, asgi_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[Gql]:
    async with asgi_client(app) as http:
        yield Gql(http)


async def _board_id(gql: Gql) -> str:
    body = await gql("{ boards { id type } }")
    return next(b["id"] for b in body["data"]["boards"] if b["type"] == "board")


# -- the official description -------------------------------------------------------------


async def test_full_read_matches_the_sdl(gql: Gql) -> None:
    board = await _board_id(gql)
    body = await gql(READ_ALL, {"ids": [board], "limit": 500})
    items = body["data"]["boards"][0]["items_page"]["items"]
    assert len(items) == 7 and body["data"]["boards"][0]["items_page"]["cursor"] is None
    kinds = {cv["__typename"] for i in items for cv in i["column_values"]}
    assert {"StatusValue", "PeopleValue", "DateValue", "TextValue", "TagsValue", "FileValue"} <= kinds
    assert any(i["subitems"] for i in items) and any(i["assets"] for i in items)
    assert body["data"]["complexity"]["query"] > 0


def test_the_checker_refuses_what_the_sdl_refuses() -> None:
    with pytest.raises(SpecViolation):
        check_request("{ me { idx } }")
    with pytest.raises(SpecViolation):  # a non-null field answered null
        check_response("{ me { id } }", {"data": {"me": {"id": None}}})
    with pytest.raises(SpecViolation):  # an enum value the schema does not declare
        check_response("{ boards { state } }", {"data": {"boards": [{"state": "gone"}]}})
    with pytest.raises(SpecViolation):  # a key nobody selected
        check_response("{ me { id } }", {"data": {"me": {"id": "1", "name": "x"}}})


async def test_invalid_operations_answer_graphql_errors(gql: Gql) -> None:
    r = await gql.raw("{ me { idx } }")
    assert r.status_code == 200
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    r = await gql.raw("{ me { id }")
    assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    r = await gql.raw("")
    assert r.status_code == 400


# -- auth -------------------------------------------------------------------------------------


async def test_auth_needs_a_known_token(gql: Gql) -> None:
    for token in ("", "not-a-token"):
        r = await gql.http.post(
            "/v2", json={"query": "{ me { id } }"}, headers={"Authorization": token} if token else {}
        )
        assert r.status_code == 401
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = await gql.raw("{ me { email } }", token=f"Bearer {token_for(2)}")
    assert r.json()["data"]["me"]["email"] == "user2@monday.example.com"


# -- paging -------------------------------------------------------------------------------------

PAGE = "query($ids: [ID!], $n: Int!) { boards(ids: $ids) { items_page(limit: $n) { cursor items { id } } } }"
NEXT = "query($c: String!, $n: Int!) { next_items_page(cursor: $c, limit: $n) { cursor items { id } } }"


async def _all_ids(gql: Gql, board: str, n: int) -> list[str]:
    first = (await gql(PAGE, {"ids": [board], "n": n}))["data"]["boards"][0]["items_page"]
    ids, cursor = [i["id"] for i in first["items"]], first["cursor"]
    while cursor:
        page = (await gql(NEXT, {"c": cursor, "n": n}))["data"]["next_items_page"]
        assert len(page["items"]) <= n
        ids += [i["id"] for i in page["items"]]
        cursor = page["cursor"]
    return ids


async def test_cursor_paging_to_exhaustion(gql: Gql) -> None:
    board = await _board_id(gql)
    small = await _all_ids(gql, board, 2)
    assert len(small) == len(set(small)) == 7
    assert small == await _all_ids(gql, board, 500)


async def test_cursor_is_a_snapshot_and_expires(gql: Gql, clock: FakeClock) -> None:
    board = await _board_id(gql)
    first = (await gql(PAGE, {"ids": [board], "n": 3}))["data"]["boards"][0]["items_page"]
    await gql('mutation($b: ID!) { create_item(board_id: $b, item_name: "late") { id } }', {"b": board})
    page = (await gql(NEXT, {"c": first["cursor"], "n": 500}))["data"]["next_items_page"]
    assert len(first["items"]) + len(page["items"]) == 7  # the new item is not in this walk
    first = (await gql(PAGE, {"ids": [board], "n": 3}))["data"]["boards"][0]["items_page"]
    clock.advance(3601)  # cursors live 60 minutes
    r = await gql.raw(NEXT, {"c": first["cursor"], "n": 3})
    assert r.json()["errors"][0]["extensions"]["code"] == "CursorExpiredError"


async def test_page_limit_is_500(gql: Gql) -> None:
    board = await _board_id(gql)
    r = await gql.raw(PAGE, {"ids": [board], "n": 501})
    assert r.json()["errors"][0]["extensions"]["code"] == "InvalidArgumentException"


# -- limits -------------------------------------------------------------------------------------


async def test_complexity_budget_per_minute(gql: Gql, clock: FakeClock) -> None:
    q = "{ complexity { before query after reset_in_x_seconds } me { id name email } }"
    first = (await gql(q))["data"]["complexity"]
    assert first["before"] - first["query"] == first["after"]
    r = await gql.http.post(
        "/_sim/limits", json={"limiters": {"complexity": {"limit": first["query"] * 2 + 1}}, "reset": True}
    )
    assert r.status_code == 200
    await gql(q)
    await gql(q)
    refused = await gql.raw(q)
    assert refused.status_code == 429
    err = refused.json()["errors"][0]
    assert err["message"] == "Complexity budget exhausted"
    assert err["extensions"]["code"] == "COMPLEXITY_BUDGET_EXHAUSTED"
    wait = err["extensions"]["retry_in_seconds"]
    assert 0 < wait <= 60 and refused.headers["Retry-After"] == str(wait)
    clock.advance(wait)
    again = (await gql(q))["data"]["complexity"]
    assert again["before"] == first["query"] * 2 + 1  # a new window, a full budget


async def test_one_query_over_five_million_is_refused(gql: Gql) -> None:
    q = "{ boards(limit: 1000) { items_page(limit: 500) { items { id name updates(limit: 100) { id body } } } } }"
    r = await gql.raw(q)
    assert r.status_code == 200
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "maxComplexityExceeded"
    assert err["extensions"]["complexity"] > 5_000_000


async def test_ip_and_concurrency_limits(gql: Gql) -> None:
    await gql.http.post("/_sim/limits", json={"limiters": {"concurrency": {"max_in_flight": 0}}})
    r = await gql.raw("{ me { id } }")
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert r.json()["errors"][0]["extensions"]["code"] == "maxConcurrencyExceeded"
    await gql.http.post(
        "/_sim/limits", json={"limiters": {"concurrency": {"max_in_flight": 40}, "ip": {"limit": 2}}, "reset": True}
    )
    assert (await gql.raw("{ me { id } }")).status_code == 200
    assert (await gql.raw("{ me { id } }")).status_code == 200
    r = await gql.raw("{ me { id } }")
    assert r.status_code == 429
    err = r.json()["errors"][0]["extensions"]
    assert err["code"] == "IP_RATE_LIMIT_EXCEEDED" and err["retry_in_seconds"] >= 1


# -- writes ------------------------------------------------------------------------------------


async def test_board_group_column_item_lifecycle(gql: Gql) -> None:
    ws = (await gql("{ workspaces { id } }"))["data"]["workspaces"][0]["id"]
    me = (await gql("{ me { id } }"))["data"]["me"]["id"]
    board = (
        await gql(
            'mutation($w: ID) { create_board(board_name: "New", board_kind: public, '
            'workspace_id: $w, description: "d") { id name columns { id type } } }',
            {"w": ws},
        )
    )["data"]["create_board"]
    bid = board["id"]
    group = (
        await gql('mutation($b: ID!) { create_group(board_id: $b, group_name: "Doing") { id title } }', {"b": bid})
    )["data"]["create_group"]
    col = (
        await gql(
            'mutation($b: ID!) { create_column(board_id: $b, title: "Labels", column_type: tags) { id type } }',
            {"b": bid},
        )
    )["data"]["create_column"]
    tag = (await gql('mutation { create_or_get_tag(tag_name: "urgent") { id name } }'))["data"]["create_or_get_tag"]
    again = (await gql('mutation { create_or_get_tag(tag_name: "urgent") { id } }'))["data"]["create_or_get_tag"]
    assert again["id"] == tag["id"]
    values = json.dumps(
        {
            "status": {"label": "Done"},
            "person": {"personsAndTeams": [{"id": int(me), "kind": "person"}]},
            "date0": {"date": "2030-01-15", "time": "16:30:00"},
            col["id"]: {"tag_ids": [int(tag["id"])]},
        }
    )
    item = (
        await gql(
            "mutation($b: ID!, $g: String, $v: JSON) { create_item(board_id: $b, group_id: $g, "
            'item_name: "Tâche 🚀", column_values: $v) { id name group { id } column_values { id '
            "text ... on StatusValue { is_done } } } }",
            {"b": bid, "g": group["id"], "v": values},
        )
    )["data"]["create_item"]
    texts = {cv["id"]: cv["text"] for cv in item["column_values"]}
    assert texts["status"] == "Done" and texts["date0"] == "2030-01-15 16:30"
    assert texts[col["id"]] == "urgent" and item["group"]["id"] == group["id"]
    sub = (
        await gql(
            'mutation($p: ID!) { create_subitem(parent_item_id: $p, item_name: "sub") '
            "{ id board { id type } parent_item { id } } }",
            {"p": item["id"]},
        )
    )["data"]["create_subitem"]
    assert sub["board"]["type"] == "sub_items_board" and sub["parent_item"]["id"] == item["id"]
    changed = await gql(
        "mutation($b: ID!, $i: ID, $v: JSON!) { change_multiple_column_values("
        "board_id: $b, item_id: $i, column_values: $v) { name } }",
        {"b": bid, "i": item["id"], "v": json.dumps({"name": "Renamed", "status": None})},
    )
    assert changed["data"]["change_multiple_column_values"]["name"] == "Renamed"
    md = "# Title\n\n- one\n- [link](https://example.com)"
    doc = await gql(
        "mutation($i: ID!, $m: String!) { set_item_description_content("
        "item_id: $i, markdown: $m) { success block_ids } }",
        {"i": item["id"], "m": md},
    )
    assert doc["data"]["set_item_description_content"]["success"]
    did = (await gql("query($i: [ID!]) { items(ids: $i) { description { id } } }", {"i": [item["id"]]}))["data"][
        "items"
    ][0]["description"]["id"]
    exported = await gql("query($d: ID!) { export_markdown_from_doc(docId: $d) { success markdown } }", {"d": did})
    assert exported["data"]["export_markdown_from_doc"]["markdown"] == md
    up = (
        await gql(
            'mutation($i: ID) { create_update(item_id: $i, body: "<p>hi</p>", '
            'original_creation_date: "2024-05-01T09:30:00Z") { id '
            "original_creation_date creator { id } } }",
            {"i": item["id"]},
        )
    )["data"]["create_update"]
    assert up["original_creation_date"] == "2024-05-01T09:30:00Z" and up["creator"]["id"] == me
    deleted = await gql("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": item["id"]})
    assert deleted["data"]["delete_item"]["id"] == item["id"]
    gone = await gql.raw("mutation($i: ID) { delete_item(item_id: $i) { id } }", {"i": item["id"]})
    assert gone.json()["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"


async def test_bad_values_write_nothing(gql: Gql) -> None:
    board = await _board_id(gql)
    before = await _all_ids(gql, board, 500)
    for values in (
        {"status": {"label": "No such label"}},
        {"nope": "x"},
        {"person": {"personsAndTeams": [{"id": 1, "kind": "person"}]}},
    ):
        r = await gql.raw(
            'mutation($b: ID!, $v: JSON) { create_item(board_id: $b, item_name: "x", column_values: $v) { id } }',
            {"b": board, "v": json.dumps(values)},
        )
        code = r.json()["errors"][0]["extensions"]["code"]
        assert code in ("ColumnValueException", "InvalidColumnIdException")
        assert r.json()["data"]["create_item"] is None
    r = await gql.raw(
        'mutation($b: ID!) { create_item(board_id: $b, item_name: "%s") { id } }' % ("x" * 256), {"b": board}
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "ItemNameTooLongException"
    assert await _all_ids(gql, board, 500) == before


# -- files ---------------------------------------------------------------------------------------


async def test_uploads_by_multipart_and_signed_downloads(gql: Gql, clock: FakeClock) -> None:
    board = await _board_id(gql)
    item = (await _all_ids(gql, board, 500))[3]
    payload = bytes(range(256)) * 300
    # monday's documented form: query + map + the file part, at /v2/file
    r = await gql.http.post(
        "/v2/file",
        headers={"Authorization": DEFAULT_TOKEN},
        data={
            "query": "mutation($file: File!) { add_file_to_column(item_id: "
            + item
            + ', column_id: "files", file: $file) { id name file_size public_url } }',
            "map": json.dumps({"image": "variables.file"}),
        },
        files={"image": ("ünï.bin", payload, "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    asset = r.json()["data"]["add_file_to_column"]
    assert asset["file_size"] == len(payload) and asset["name"] == "ünï.bin"
    got = await gql.http.get(asset["public_url"])
    assert got.status_code == 200 and got.content == payload
    # the GraphQL multipart request spec's form: operations + map (list targets)
    up = (await gql('mutation($i: ID) { create_update(item_id: $i, body: "files") { id } }', {"i": item}))["data"][
        "create_update"
    ]["id"]
    r = await gql.http.post(
        "/v2/file",
        headers={"Authorization": DEFAULT_TOKEN},
        data={
            "operations": json.dumps(
                {
                    "query": "mutation($u: ID!, $f: File!) { add_file_to_update(update_id: $u, file: $f) { id name } }",
                    "variables": {"u": up, "f": None},
                }
            ),
            "map": json.dumps({"0": ["variables.f"]}),
        },
        files={"0": ("a.txt", b"abc", "text/plain")},
    )
    assert r.json()["data"]["add_file_to_update"]["name"] == "a.txt"
    body = await gql(
        "query($i: [ID!]) { items(ids: $i) { assets(assets_source: all) { name } updates { assets { name } } } }",
        {"i": [item]},
    )
    names = {a["name"] for a in body["data"]["items"][0]["assets"]}
    assert {"ünï.bin", "a.txt"} <= names
    clock.advance(3601)  # public links live one hour
    assert (await gql.http.get(asset["public_url"])).status_code == 403


async def test_seeded_file_streams_with_its_size(gql: Gql) -> None:
    board = await _board_id(gql)
    body = await gql(
        "query($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { "
        "assets { file_size public_url url } } } } }",
        {"b": [board]},
    )
    assets = [a for i in body["data"]["boards"][0]["items_page"]["items"] for a in i["assets"]]
    assert assets
    got = await gql.http.get(assets[0]["public_url"])
    assert len(got.content) == assets[0]["file_size"] == 2_000
    assert (await gql.http.get(assets[0]["url"])).status_code == 401  # url needs the token
    ok = await gql.http.get(assets[0]["url"], headers={"Authorization": DEFAULT_TOKEN})
    assert ok.content == got.content
