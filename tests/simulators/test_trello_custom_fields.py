"""Trello simulator: Custom Fields (definitions per board, options of list fields, values on
cards) — every 2xx ``/1`` exchange, request and response, is validated against the published
OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock
from simulators.trello import SeedConfig, create_app
from simulators.trello.spec_check import validate_exchange, validate_request

SEED = SeedConfig(seed=11, boards=1, cards_per_board=12, many_comments=0, attachment_sizes=(), custom_fields=True)


@pytest.fixture
def app(fake_clock: FakeClock) -> Any:
    return create_app(SEED, clock=fake_clock)


@pytest.fixture
async def client(app: Any, asgi_client: Callable[..., httpx.AsyncClient]) -> Any:
    summary = app.state.trello.summary

    async def validate(response: httpx.Response) -> None:
        if response.status_code < 300:  # what a client sends that works must be documented too
            validate_request(response.request)
        validate_exchange(response)

    async with asgi_client(app, base_url="http://sim/1", on_response=validate) as c:
        c.params = c.params.merge({"key": summary["key"], "token": summary["token"]})
        yield c


async def _board(client: httpx.AsyncClient) -> str:
    me = (await client.get("/members/me")).json()
    return (await client.get(f"/members/{me['id']}/boards")).json()[0]["id"]


async def test_seeded_fields_and_values_are_served(client: httpx.AsyncClient) -> None:
    board = await _board(client)
    fields = (await client.get(f"/boards/{board}/customFields")).json()
    assert [(f["name"], f["type"]) for f in fields] == [
        ("Estimate", "number"),
        ("Ticket", "text"),
        ("Priority", "list"),
        ("Reviewed", "checkbox"),
        ("Deadline", "date"),
    ]
    priority = next(f for f in fields if f["type"] == "list")
    assert [o["value"]["text"] for o in priority["options"]] == ["High", "Low"]
    cards = (await client.get(f"/boards/{board}/cards/all", params={"customFieldItems": "true"})).json()
    with_items = [c for c in cards if c["customFieldItems"]]
    assert with_items
    items = (await client.get(f"/cards/{with_items[0]['id']}/customFieldItems")).json()
    assert items == with_items[0]["customFieldItems"]
    plain = (await client.get(f"/boards/{board}/cards/all")).json()
    assert all("customFieldItems" not in c for c in plain)


async def test_define_add_options_set_and_clear_values(client: httpx.AsyncClient) -> None:
    board = await _board(client)
    card = (await client.get(f"/boards/{board}/cards/all")).json()[0]["id"]
    made = {}
    for name, kind in (
        ("Size", "number"),
        ("Owner", "text"),
        ("Stage", "list"),
        ("Done?", "checkbox"),
        ("When", "date"),
    ):
        r = await client.post(
            "/customFields",
            json={
                "idModel": board,
                "modelType": "board",
                "name": name,
                "type": kind,
                "pos": "bottom",
                "display_cardFront": True,
            },
        )
        assert r.status_code == 200, r.text
        made[kind] = r.json()
        assert r.json()["idModel"] == board and r.json()["type"] == kind
    option = await client.post(
        f"/customFields/{made['list']['id']}/options",
        json={"value": {"text": "Review"}, "color": "blue", "pos": "bottom"},
    )
    assert option.status_code == 200 and option.json()["value"] == {"text": "Review"}
    assert (await client.get(f"/customFields/{made['list']['id']}/options")).json() == [option.json()]
    spare = (await client.post(f"/customFields/{made['list']['id']}/options", json={"value": {"text": "x"}})).json()
    assert (await client.delete(f"/customFields/{made['list']['id']}/options/{spare['id']}")).status_code == 200
    assert (await client.get(f"/customFields/{made['list']['id']}/options")).json() == [option.json()]

    values = {
        "number": {"value": {"number": "2154"}},
        "text": {"value": {"text": "Zoë"}},
        "list": {"idValue": option.json()["id"]},
        "checkbox": {"value": {"checked": "true"}},
        "date": {"value": {"date": "2025-03-13T16:00:00.000Z"}},
    }
    for kind, body in values.items():
        r = await client.put(f"/cards/{card}/customField/{made[kind]['id']}/item", json=body)
        assert r.status_code == 200, (kind, r.text)
    items = {i["idCustomField"]: i for i in (await client.get(f"/cards/{card}/customFieldItems")).json()}
    assert items[made["number"]["id"]]["value"] == {"number": "2154"}
    assert items[made["list"]["id"]]["idValue"] == option.json()["id"]
    assert items[made["date"]["id"]]["value"] == {"date": "2025-03-13T16:00:00.000Z"}

    r = await client.put(f"/cards/{card}/customField/{made['text']['id']}/item", json={"value": ""})
    assert r.status_code == 200
    items = {i["idCustomField"] for i in (await client.get(f"/cards/{card}/customFieldItems")).json()}
    assert made["text"]["id"] not in items and made["number"]["id"] in items


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("number", {"value": {"number": "many"}}),
        ("number", {"value": {"text": "12"}}),
        ("checkbox", {"value": {"checked": "yes"}}),
        ("date", {"value": {"date": "soon"}}),
        ("list", {"idValue": "5f0000000000000000000000"}),
        ("text", {"idValue": "5f0000000000000000000000"}),
    ],
)
async def test_wrong_values_are_refused(client: httpx.AsyncClient, kind: str, body: dict[str, Any]) -> None:
    board = await _board(client)
    card = (await client.get(f"/boards/{board}/cards/all")).json()[0]["id"]
    made = (
        await client.post(
            "/customFields", json={"idModel": board, "modelType": "board", "name": "F", "type": kind, "pos": "bottom"}
        )
    ).json()
    r = await client.put(f"/cards/{card}/customField/{made['id']}/item", json=body)
    assert r.status_code == 400


async def test_fields_are_per_board_and_limited(client: httpx.AsyncClient) -> None:
    board = await _board(client)
    r = await client.post(
        "/customFields", json={"idModel": board, "modelType": "board", "name": "x", "type": "colour", "pos": "bottom"}
    )
    assert r.status_code == 400
    for n in range(50 - 5):
        r = await client.post(
            "/customFields",
            json={"idModel": board, "modelType": "board", "name": f"f{n}", "type": "text", "pos": "bottom"},
        )
        assert r.status_code == 200
    r = await client.post(
        "/customFields",
        json={"idModel": board, "modelType": "board", "name": "one too many", "type": "text", "pos": "bottom"},
    )
    assert r.status_code == 400
    field = (await client.get(f"/boards/{board}/customFields")).json()[0]["id"]
    assert (await client.delete(f"/customFields/{field}")).status_code == 200
    assert (await client.get(f"/customFields/{field}")).status_code == 404
