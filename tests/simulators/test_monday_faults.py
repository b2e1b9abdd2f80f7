"""monday.com simulator faults over a real socket: the common fault plan addresses one
GraphQL operation through the tagged path (``/v2/mutation/create_item``); a write applied and
then lost (reset or 5xx) exists afterwards, a fault before the write leaves nothing, and
``/_sim/stats`` counts requests per operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.common import serve
from simulators.monday import DEFAULT_TOKEN, SeedConfig, create_app

CREATE = "mutation($b: ID!, $n: String!) { create_item(board_id: $b, item_name: $n) { id } }"
COUNT = "query($b: [ID!]) { boards(ids: $b) { items_page(limit: 500) { items { name } } } }"


@pytest.fixture
def sim() -> Iterator[tuple[httpx.Client, str]]:
    app = create_app(SeedConfig(boards=1, items_per_board=2, file_sizes=()))
    with serve(app) as base, httpx.Client(base_url=base, timeout=10, headers={"Authorization": DEFAULT_TOKEN}) as http:
        boards = http.post("/v2", json={"query": "{ boards { id type } }"}).json()
        board = next(b["id"] for b in boards["data"]["boards"] if b["type"] == "board")
        yield http, board


def _names(http: httpx.Client, board: str) -> list[str]:
    body = http.post("/v2", json={"query": COUNT, "variables": {"b": [board]}}).json()
    return [i["name"] for i in body["data"]["boards"][0]["items_page"]["items"]]


def _create(http: httpx.Client, board: str, name: str) -> httpx.Response:
    return http.post("/v2", json={"query": CREATE, "variables": {"b": board, "n": name}})


def _plan(http: httpx.Client, *faults: dict[str, Any]) -> None:
    r = http.post("/_sim/faults", json={"faults": list(faults)})
    assert r.status_code == 200, r.text


def test_apply_then_drop_creates_the_item_and_resets(sim: tuple[httpx.Client, str]) -> None:
    http, board = sim
    _plan(http, {"kind": "apply_then_drop", "path": "/v2/mutation/create_item$", "nth": 2})
    assert _create(http, board, "first").status_code == 200
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        _create(http, board, "second")
    assert _create(http, board, "third").status_code == 200
    names = _names(http, board)
    assert [names.count(n) for n in ("first", "second", "third")] == [1, 1, 1]
    injected = http.get("/_sim/faults").json()["injected"]
    assert injected == [
        {
            "method": "POST",
            "path": "/v2/mutation/create_item",
            "kind": "apply_then_drop",
            "status": "drop",
            "applied_status": 200,
        }
    ]


def test_apply_then_status_creates_the_item_and_answers_502(sim: tuple[httpx.Client, str]) -> None:
    http, board = sim
    _plan(http, {"kind": "apply_then_status", "status": 502, "path": "create_item"})
    assert _create(http, board, "lost answer").status_code == 502
    assert "lost answer" in _names(http, board)


def test_faults_before_the_write_leave_nothing(sim: tuple[httpx.Client, str]) -> None:
    http, board = sim
    before = _names(http, board)
    _plan(
        http,
        {"kind": "status", "status": 503, "path": "/v2/mutation/create_item$"},
        {"kind": "drop", "path": "/v2/mutation/create_item$"},
    )
    assert _create(http, board, "never").status_code == 503
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        _create(http, board, "never either")
    assert _names(http, board) == before  # reads are not matched by the plan


def test_stats_count_per_operation(sim: tuple[httpx.Client, str]) -> None:
    http, board = sim
    http.post("/_sim/stats/reset")
    _create(http, board, "counted")
    http.post("/v2", json={"query": "{ me { id } }"}, headers={"Authorization": "bad"})
    stats = http.get("/_sim/stats").json()
    assert stats["by_route"]["POST /v2/mutation/create_item"] == {"200": 1}
    assert stats["by_route"]["POST /v2/query/me"] == {"401": 1}
