"""Trello simulator: ``POST /1/checklists?idCard=…`` (operation post-checklists), validated
against the published description like every other route: each 2xx exchange's request
and response go through ``spec_check``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.trello import SeedConfig, create_app
from simulators.trello.spec_check import validate_exchange, validate_request

SEED = SeedConfig(seed=11, boards=2, cards_per_board=4, attachment_sizes=())


async def _validate(response: httpx.Response) -> None:
    if 200 <= response.status_code < 300:
        validate_request(response.request)
    validate_exchange(response)


@pytest.fixture
def app(fake_clock: FakeClock) -> Any:
    return create_app(SEED, clock=fake_clock)


@pytest.fixture
async def client(app: Any, asgi_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[httpx.AsyncClient]:
    summary = app.state.trello.summary
    async with asgi_client(app, base_url="http://sim/1", on_response=_validate) as c:
        c.params = c.params.merge({"key": summary["key"], "token": summary["token"]})
        yield c


async def _a_card(client: httpx.AsyncClient) -> str:
    me = (await client.get("/members/me")).json()["id"]
    board = (await client.get(f"/members/{me}/boards")).json()[0]["id"]
    return str((await client.get(f"/boards/{board}/cards")).json()[0]["id"])


async def test_creates_a_checklist_on_the_card(client: httpx.AsyncClient) -> None:
    card = await _a_card(client)
    before = (await client.get(f"/cards/{card}/checklists")).json()
    r = await client.post("/checklists", params={"idCard": card, "name": "Launch ✅", "pos": "top"})
    assert r.status_code == 200
    made = r.json()
    assert (made["idCard"], made["name"], made["checkItems"]) == (card, "Launch ✅", [])
    after = (await client.get(f"/cards/{card}/checklists")).json()
    assert min(after, key=lambda c: c["pos"])["id"] == made["id"]  # pos=top: first
    assert len(after) == len(before) + 1
    got = await client.get(f"/checklists/{made['id']}")
    assert got.json()["idBoard"] == made["idBoard"]
    # Trello reads the same parameters from a JSON body; the default name is "Checklist"
    r = await client.post("/checklists", json={"idCard": card})
    assert r.status_code == 200 and r.json()["name"] == "Checklist"
    listed = (await client.get(f"/cards/{card}/checklists")).json()
    assert max(listed, key=lambda c: c["pos"])["id"] == r.json()["id"]  # default: bottom


async def test_copies_the_items_of_id_checklist_source(client: httpx.AsyncClient) -> None:
    card = await _a_card(client)
    source = (await client.post("/checklists", params={"idCard": card, "name": "src"})).json()
    for name in ("one", "two", "three"):
        await client.post(f"/checklists/{source['id']}/checkItems", params={"name": name})
    items = (await client.get(f"/checklists/{source['id']}")).json()["checkItems"]
    await client.put(f"/cards/{card}/checkItem/{items[1]['id']}", params={"state": "complete"})
    copy = await client.post("/checklists", params={"idCard": card, "name": "copy", "idChecklistSource": source["id"]})
    assert copy.status_code == 200
    copied = copy.json()["checkItems"]
    assert [(i["name"], i["state"]) for i in copied] == [
        ("one", "incomplete"),
        ("two", "complete"),
        ("three", "incomplete"),
    ]
    assert {i["id"] for i in copied}.isdisjoint({i["id"] for i in items})
    assert all(i["idChecklist"] == copy.json()["id"] for i in copied)


async def test_refuses_what_trello_refuses(client: httpx.AsyncClient) -> None:
    card = await _a_card(client)
    count = len((await client.get(f"/cards/{card}/checklists")).json())
    cases = [
        ({}, 400, "invalid value for idCard"),
        ({"idCard": "not-an-id"}, 400, "invalid value for idCard"),
        ({"idCard": "5" * 24}, 404, None),
        ({"idCard": card, "name": ""}, 400, "invalid value for name"),
        ({"idCard": card, "name": "x" * 16_385}, 400, "invalid value for name"),
        ({"idCard": card, "pos": "middle"}, 400, "invalid value for pos"),
        ({"idCard": card, "idChecklistSource": "zz"}, 400, "invalid value for idChecklistSource"),
        ({"idCard": card, "idChecklistSource": "6" * 24}, 404, None),
    ]
    for query, status, text in cases:
        r = await client.post("/checklists", params=query)
        assert r.status_code == status, (query, r.text)
        if text is not None:
            assert r.text == text
    assert len((await client.get(f"/cards/{card}/checklists")).json()) == count
