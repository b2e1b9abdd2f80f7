"""monday.com simulator: where groups and items go — ``relative_to`` +
``position_relative_method`` on ``create_group`` and ``create_item``, ``update_group`` with
``relative_position_before|after`` and ``change_item_position`` (as the 2026-10 SDL
describes them), every request and answer checked against the SDL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.monday import SeedConfig, create_app
from tests.simulators.test_monday import Gql

SMALL = SeedConfig(boards=1, items_per_board=2, groups_per_board=1, many_updates=1, file_sizes=(100,))

GROUPS = "query($b: [ID!]) { boards(ids: $b) { groups { id title position } } }"
ITEMS = "query($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { id name group { id } } } } }"


@pytest.fixture
async def gql(asgi_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[Gql]:
    async with asgi_client(create_app(SMALL, clock=FakeClock())) as http:
        yield Gql(http)


async def _board(gql: Gql) -> str:
    made = await gql('mutation { create_board(board_name: "Order", board_kind: public) { id } }')
    return str(made["data"]["create_board"]["id"])


async def _group_titles(gql: Gql, board: str) -> list[str]:
    groups = (await gql(GROUPS, {"b": [board]}))["data"]["boards"][0]["groups"]
    return [g["title"] for g in sorted(groups, key=lambda g: float(g["position"]))]


async def _item_names(gql: Gql, board: str, group: str | None = None) -> list[str]:
    items = (await gql(ITEMS, {"b": [board]}))["data"]["boards"][0]["items_page"]["items"]
    return [i["name"] for i in items if group is None or i["group"]["id"] == group]


async def _group(gql: Gql, board: str, name: str, anchor: str | None = None, method: str | None = None) -> str:
    made = await gql(
        "mutation($b: ID!, $n: String!, $r: String, $m: PositionRelative) { create_group(board_id: $b, "
        "group_name: $n, relative_to: $r, position_relative_method: $m) { id } }",
        {"b": board, "n": name, "r": anchor, "m": method},
    )
    return str(made["data"]["create_group"]["id"])


async def _item(
    gql: Gql, board: str, group: str | None, name: str, anchor: str | None = None, method: str | None = None
) -> dict[str, Any]:
    body = await gql.raw(
        "mutation($b: ID!, $g: String, $n: String!, $r: ID, $m: PositionRelative) { create_item(board_id: $b, "
        "group_id: $g, item_name: $n, relative_to: $r, position_relative_method: $m) { id group { id } } }",
        {"b": board, "g": group, "n": name, "r": anchor, "m": method},
    )
    out: dict[str, Any] = body.json()
    return out


async def test_groups_go_next_to_the_group_named(gql: Gql) -> None:
    board = await _board(gql)
    a = await _group(gql, board, "A")  # no anchor: at the top
    c = await _group(gql, board, "C", a, "after_at")
    await _group(gql, board, "B", c, "before_at")
    await _group(gql, board, "D", c, "after_at")
    assert await _group_titles(gql, board) == ["A", "B", "C", "D", "Group Title"]
    moved = await gql(
        "mutation($b: ID!, $g: String!, $v: String!) { update_group(board_id: $b, group_id: $g, "
        "group_attribute: relative_position_after, new_value: $v) { id } }",
        {"b": board, "g": a, "v": c},
    )
    assert moved["data"]["update_group"]["id"] == a
    assert await _group_titles(gql, board) == ["B", "C", "A", "D", "Group Title"]
    before = await gql(
        "mutation($b: ID!, $g: String!, $v: String!) { update_group(board_id: $b, group_id: $g, "
        "group_attribute: relative_position_before, new_value: $v) { id } }",
        {"b": board, "g": a, "v": "topics"},
    )
    assert before["data"]["update_group"]["id"] == a
    assert await _group_titles(gql, board) == ["B", "C", "D", "A", "Group Title"]
    unknown = await gql.raw(
        "mutation($b: ID!, $g: String!) { update_group(board_id: $b, group_id: $g, "
        'group_attribute: relative_position_after, new_value: "nope") { id } }',
        {"b": board, "g": a},
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"


async def test_items_go_next_to_the_item_named(gql: Gql) -> None:
    board = await _board(gql)
    group = "topics"
    one = (await _item(gql, board, group, "1"))["data"]["create_item"]["id"]
    three = (await _item(gql, board, group, "3"))["data"]["create_item"]["id"]  # default: at the bottom
    await _item(gql, board, group, "2", three, "before_at")
    await _item(gql, board, group, "0", one, "before_at")
    await _item(gql, board, group, "4", three, "after_at")
    await _item(gql, board, None, "1.5", one, "after_at")  # the anchor's group
    assert await _item_names(gql, board) == ["0", "1", "1.5", "2", "3", "4"]
    other = await _group(gql, board, "Other")
    wrong = await _item(gql, board, other, "x", one, "after_at")
    assert wrong["errors"][0]["extensions"]["code"] == "InvalidArgumentException"
    gone = await _item(gql, board, group, "y", "1", "after_at")
    assert gone["errors"][0]["extensions"]["code"] == "ResourceNotFoundException"
    assert await _item_names(gql, board) == ["0", "1", "1.5", "2", "3", "4"]  # nothing written


async def test_change_item_position_moves_next_to_an_item_or_to_a_group_end(gql: Gql) -> None:
    board = await _board(gql)
    other = await _group(gql, board, "Other")
    ids = [(await _item(gql, board, "topics", n))["data"]["create_item"]["id"] for n in "abc"]
    z = (await _item(gql, board, other, "z"))["data"]["create_item"]["id"]
    move = (
        "mutation($i: ID!, $r: ID, $m: PositionRelative, $g: ID, $t: Boolean) { change_item_position("
        "item_id: $i, relative_to: $r, position_relative_method: $m, group_id: $g, group_top: $t) "
        "{ id group { id } } }"
    )
    moved = await gql(move, {"i": ids[0], "r": ids[2], "m": "after_at"})
    assert moved["data"]["change_item_position"]["group"]["id"] == "topics"
    assert await _item_names(gql, board, "topics") == ["b", "c", "a"]
    await gql(move, {"i": ids[0], "r": ids[1], "m": "before_at"})
    assert await _item_names(gql, board, "topics") == ["a", "b", "c"]
    across = await gql(move, {"i": ids[1], "r": z, "m": "before_at"})  # into the anchor's group
    assert across["data"]["change_item_position"]["group"]["id"] == other
    assert await _item_names(gql, board, other) == ["b", "z"]
    await gql(move, {"i": ids[1], "g": "topics", "t": True})
    assert await _item_names(gql, board, "topics") == ["b", "a", "c"]
    await gql(move, {"i": ids[1], "g": "topics", "t": False})
    assert await _item_names(gql, board, "topics") == ["a", "c", "b"]
    for bad in (
        {"i": ids[0]},
        {"i": ids[0], "r": ids[1], "g": "topics"},
        {"i": ids[0], "g": "topics", "m": "after_at"},
    ):
        refused = await gql.raw(move, bad)
        assert refused.json()["errors"][0]["extensions"]["code"] == "InvalidArgumentException", bad
    assert await _item_names(gql, board, "topics") == ["a", "c", "b"]
