"""Trello simulator: API behaviour, seed, paging, attachments, rate limits — every 2xx
``/1`` response is validated against the published OpenAPI (with the documented fixes)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulators.common import FakeClock, make_blob, serve
from simulators.trello import SeedConfig, create_app
from simulators.trello.ids import id_time
from simulators.trello.spec_check import validate_exchange

SMALL = SeedConfig(seed=7, boards=2, cards_per_board=30, many_comments=120, attachment_sizes=(1_024, 300_000))


async def _validate(response: httpx.Response) -> None:
    validate_exchange(response)


@pytest.fixture
def app(fake_clock: FakeClock) -> Any:
    return create_app(SMALL, clock=fake_clock)


@pytest.fixture
def creds(app: Any) -> dict[str, str]:
    summary = app.state.trello.summary
    return {"key": summary["key"], "token": summary["token"]}


@pytest.fixture
async def client(app: Any, creds: dict[str, str], asgi_client: Callable[..., httpx.AsyncClient]) -> Any:
    async with asgi_client(app, base_url="http://sim/1", on_response=_validate) as c:
        c.params = c.params.merge(creds)
        yield c


def test_seed_is_deterministic() -> None:
    a = create_app(SMALL, clock=FakeClock()).state.trello.store.dump()
    b = create_app(SMALL, clock=FakeClock()).state.trello.store.dump()
    c = create_app(SeedConfig(seed=8, boards=2, cards_per_board=30), clock=FakeClock())
    assert a == b
    assert a["cards"][0]["id"] != c.state.trello.store.dump()["cards"][0]["id"]
    # Ids embed creation time: seeded comments on a card are in time order.
    times = [id_time(x["id"]) for x in a["actions"] if x["idCard"] == a["cards"][0]["id"]]
    assert times == sorted(times) and len(times) == 121  # createCard + 120 comments


async def test_auth_errors_are_trello_text(
    app: Any, creds: dict[str, str], asgi_client: Callable[..., httpx.AsyncClient]
) -> None:
    async with asgi_client(app, base_url="http://sim/1") as c:
        r = await c.get("/members/me", params={"key": creds["key"], "token": "nope"})
        assert (r.status_code, r.text) == (401, "invalid token")
        r = await c.get("/members/me", params={"key": "bad", "token": creds["token"]})
        assert (r.status_code, r.text) == (401, "invalid key")
        r = await c.get("/members/me", params={"key": creds["key"]})
        assert r.status_code == 401
        header = f'OAuth oauth_consumer_key="{creds["key"]}", oauth_token="{creds["token"]}"'
        r = await c.get("/members/me", headers={"Authorization": header})
        assert r.status_code == 200 and r.json()["username"] == "user0"


async def test_members_emails_and_workspaces(client: httpx.AsyncClient, app: Any) -> None:
    me = (await client.get("/members/me")).json()
    assert me["email"] == "user0@example.com"
    orgs = (await client.get(f"/members/{me['id']}/organizations")).json()
    assert len(orgs) == 1
    boards = (await client.get(f"/organizations/{orgs[0]['id']}/boards")).json()
    assert len(boards) == 2
    members = (await client.get(f"/boards/{boards[0]['id']}/members")).json()
    others = [m for m in members if m["id"] != me["id"]]
    assert others and all("email" not in m for m in others)
    other = (await client.get(f"/members/{others[0]['id']}", params={"fields": "all"})).json()
    assert "email" not in other
    managed = create_app(SeedConfig(seed=7, boards=1, cards_per_board=2, enterprise_managed=True), clock=FakeClock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=managed), base_url="http://sim/1") as c:
        s = managed.state.trello.summary
        board = managed.state.trello.store.dump()["boards"][0]["id"]
        r = await c.get(f"/boards/{board}/members", params={"key": s["key"], "token": s["token"]})
        assert all(m["email"].endswith("@example.com") for m in r.json())


async def test_board_collections_match_state(client: httpx.AsyncClient, app: Any) -> None:
    state = app.state.trello.store.dump()
    board = state["boards"][0]["id"]
    on_board = [c for c in state["cards"] if c["idBoard"] == board]
    closed_lists = {x["id"] for x in state["lists"] if x["closed"]}
    assert (await client.get(f"/boards/{board}")).json()["name"] == state["boards"][0]["name"]
    lists_open = (await client.get(f"/boards/{board}/lists")).json()
    lists_all = (await client.get(f"/boards/{board}/lists", params={"filter": "all"})).json()
    assert len(lists_all) == len(lists_open) + 1
    every = (await client.get(f"/boards/{board}/cards", params={"filter": "all"})).json()
    assert len(every) == len(on_board) == 30
    closed = (await client.get(f"/boards/{board}/cards/closed")).json()
    assert {c["id"] for c in closed} == {c["id"] for c in on_board if c["closed"]}
    visible = (await client.get(f"/boards/{board}/cards")).json()
    assert {c["id"] for c in visible} == {
        c["id"] for c in on_board if not c["closed"] and c["idList"] not in closed_lists
    }
    long_card = next(c for c in every if len(c["desc"]) == 16_384)
    assert long_card["badges"]["description"] is True
    labels = (await client.get(f"/boards/{board}/labels")).json()
    assert any(x["color"] is None for x in labels) and all("uses" in x for x in labels)
    checklists = (await client.get(f"/boards/{board}/checklists")).json()
    assert checklists and all(cl["checkItems"] for cl in checklists)
    page = (await client.get(f"/boards/{board}/cards", params={"filter": "all", "limit": 10})).json()
    older = (
        await client.get(f"/boards/{board}/cards", params={"filter": "all", "limit": 100, "before": page[-1]["id"]})
    ).json()
    assert len(page) == 10 and len(older) == 20
    assert {c["id"] for c in page} | {c["id"] for c in older} == {c["id"] for c in every}


async def test_comment_paging_before_since_and_page(client: httpx.AsyncClient, app: Any) -> None:
    card = app.state.trello.store.dump()["cards"][0]["id"]
    seen: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        params = {"filter": "commentCard", **({"before": before} if before else {})}
        page = (await client.get(f"/cards/{card}/actions", params=params)).json()
        if not page:
            break
        assert len(page) <= 50
        seen += page
        before = page[-1]["id"]
    ids = [a["id"] for a in seen]
    assert len(ids) == 120 and len(set(ids)) == 120 and ids == sorted(ids, reverse=True)
    assert all(a["type"] == "commentCard" and "text" in a["data"] for a in seen)
    assert any("dateLastEdited" in a["data"] for a in seen)
    newer = (
        await client.get(f"/cards/{card}/actions", params={"filter": "commentCard", "since": ids[10], "limit": 1000})
    ).json()
    assert [a["id"] for a in newer] == ids[:10]
    by_date = await client.get(f"/cards/{card}/actions", params={"filter": "commentCard", "since": seen[10]["date"]})
    assert [a["id"] for a in by_date.json()] == ids[:10]
    page2 = (await client.get(f"/cards/{card}/actions", params={"filter": "commentCard", "page": 2})).json()
    assert [a["id"] for a in page2] == ids[100:]
    everything = (await client.get(f"/cards/{card}/actions", params={"filter": "all", "limit": 1000})).json()
    assert len(everything) == 121
    bad = await client.get(f"/cards/{card}/actions", params={"limit": 1001})
    assert bad.status_code == 400


async def test_write_flow(client: httpx.AsyncClient, app: Any) -> None:
    org = (await client.get("/members/me/organizations")).json()[0]
    board = (
        await client.post(
            "/boards/", params={"name": "Migrated 🚢", "idOrganization": org["id"], "defaultLists": "false"}
        )
    ).json()
    assert (await client.get(f"/boards/{board['id']}/lists")).json() == []
    todo = (await client.post("/lists", params={"name": "To do", "idBoard": board["id"]})).json()
    done = (await client.post(f"/boards/{board['id']}/lists", params={"name": "Done", "pos": "bottom"})).json()
    assert done["pos"] > todo["pos"]
    label = (await client.post("/labels", params={"name": "urgent", "color": "red", "idBoard": board["id"]})).json()
    blue = (await client.post(f"/boards/{board['id']}/labels", params={"name": "later", "color": "blue"})).json()
    me = (await client.get("/members/me")).json()
    card = (
        await client.post(
            "/cards",
            json={
                "idList": todo["id"],
                "name": "Ünïcödé ✅",
                "desc": "x" * 16_384,
                "due": "2026-03-01T12:00:00.000Z",
                "start": "2026-02-01T00:00:00Z",
                "idLabels": label["id"],
                "idMembers": [me["id"]],
            },
        )
    ).json()
    assert card["due"] == "2026-03-01T12:00:00.000Z" and card["idLabels"] == [label["id"]]
    assert card["labels"][0]["color"] == "red"
    too_long = await client.post("/cards", params={"idList": todo["id"], "desc": "y" * 16_385})
    assert (too_long.status_code, too_long.text) == (400, "invalid value for desc")
    labels = (await client.post(f"/cards/{card['id']}/idLabels", params={"value": blue["id"]})).json()
    assert labels == [label["id"], blue["id"]]
    moved = (
        await client.put(f"/cards/{card['id']}", params={"idList": done["id"], "dueComplete": "true", "closed": "true"})
    ).json()
    assert (moved["idList"], moved["dueComplete"], moved["closed"]) == (done["id"], True, True)
    comment = (await client.post(f"/cards/{card['id']}/actions/comments", params={"text": "Hello 👋"})).json()
    assert comment["type"] == "commentCard" and comment["data"]["text"] == "Hello 👋"
    checklist = (await client.post(f"/cards/{card['id']}/checklists", params={"name": "Steps"})).json()
    item = (
        await client.post(f"/checklists/{checklist['id']}/checkItems", params={"name": "one", "checked": "false"})
    ).json()
    item = (await client.put(f"/cards/{card['id']}/checkItem/{item['id']}", params={"state": "complete"})).json()
    assert item["state"] == "complete"
    again = (await client.get(f"/cards/{card['id']}")).json()
    assert again["badges"]["checkItemsChecked"] == 1 and again["badges"]["comments"] == 1
    renamed = (await client.put(f"/boards/{board['id']}", params={"desc": "d"})).json()
    assert renamed["desc"] == "d"
    assert (await client.delete(f"/cards/{card['id']}")).status_code == 200
    gone = await client.get(f"/cards/{card['id']}")
    assert (gone.status_code, gone.text) == (404, "The requested resource was not found.")
    assert (await client.get("/cards/not-an-id")).text == "invalid id"
    bad_color = await client.post("/labels", params={"name": "x", "color": "mauve", "idBoard": board["id"]})
    assert bad_color.status_code == 400


async def test_attachments_upload_links_and_download(
    client: httpx.AsyncClient, app: Any, creds: dict[str, str]
) -> None:
    state = app.state.trello.store.dump()
    card = state["cards"][3]["id"]
    payload = make_blob(300_001, "upload").read()
    up = await client.post(
        f"/cards/{card}/attachments",
        data={"name": "spec.pdf", "mimeType": "application/pdf"},
        files={"file": ("spec.pdf", payload, "application/pdf")},
    )
    att = up.json()
    assert (att["bytes"], att["isUpload"], att["mimeType"]) == (300_001, True, "application/pdf")
    link = (
        await client.post(
            f"/cards/{card}/attachments", params={"url": "https://drive.google.com/file/d/X/view", "name": "Drive"}
        )
    ).json()
    assert (link["isUpload"], link["bytes"], link["url"]) == (False, None, "https://drive.google.com/file/d/X/view")
    listed = (await client.get(f"/cards/{card}/attachments")).json()
    assert {a["id"] for a in listed} >= {att["id"], link["id"]}
    one = (await client.get(f"/cards/{card}/attachments/{att['id']}")).json()
    assert one["url"].endswith(f"/1/cards/{card}/attachments/{att['id']}/download/spec.pdf")
    # Downloads need the OAuth header; key/token in the query are refused (Trello, 2021).
    assert (await client.get(one["url"])).status_code == 401
    header = {"Authorization": f'OAuth oauth_consumer_key="{creds["key"]}", oauth_token="{creds["token"]}"'}
    async with httpx.AsyncClient(transport=client._transport, follow_redirects=True) as raw:
        r = await raw.get(one["url"], headers=header)
        assert r.status_code == 200 and r.content == payload
        assert r.history[0].status_code == 302
        seeded = next(a for a in state["attachments"] if a["isUpload"] and a["bytes"] == 300_000)
        meta = (await client.get(f"/cards/{seeded['idCard']}/attachments/{seeded['id']}")).json()
        body = (await raw.get(meta["url"], headers=header)).content
        store_att = app.state.trello.store.attachments[seeded["id"]]
        assert hashlib.sha256(body).hexdigest() == store_att.blob.sha256()
        unsigned = await raw.get(str(r.url).split("?")[0])
        assert unsigned.status_code == 403
    assert any(not a["isUpload"] and "dropbox" in (a["url"] or "") for a in state["attachments"])
    assert (await client.delete(f"/cards/{card}/attachments/{link['id']}")).status_code == 200


async def test_rate_limits_token_and_key(
    app: Any, fake_clock: FakeClock, asgi_client: Callable[..., httpx.AsyncClient]
) -> None:
    cfg = SeedConfig(seed=1, boards=1, cards_per_board=1, extra_tokens={"tok-b": "bob", "tok-c": "cy", "tok-d": "di"})
    sim = create_app(cfg, clock=fake_clock)
    key = sim.state.trello.summary["key"]
    board = sim.state.trello.store.dump()["boards"][0]["id"]
    owner = sim.state.trello.summary["token"]
    async with asgi_client(sim, base_url="http://sim/1") as c:
        statuses = [(await c.get(f"/boards/{board}", params={"key": key, "token": owner})) for _ in range(101)]
        assert [r.status_code for r in statuses[:100]] == [200] * 100
        last = statuses[-1]
        assert last.status_code == 429
        assert last.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}
        assert last.headers["x-rate-limit-api-token-remaining"] == "0"
        assert last.headers["x-rate-limit-api-token-max"] == "100"
        assert statuses[0].headers["x-rate-limit-api-key-interval-ms"] == "10000"
        fake_clock.advance(10.0)
        assert (await c.get(f"/boards/{board}", params={"key": key, "token": owner})).status_code == 200
        # Per key: 300 / 10 s across tokens (other tokens only see /members/me, 401 elsewhere
        # is irrelevant: the limit counts authenticated requests).
        fake_clock.advance(10.0)
        codes = []
        for token in ("tok-b", "tok-c", "tok-d"):
            for _ in range(100):
                codes.append((await c.get("/members/me", params={"key": key, "token": token})).status_code)
        assert codes.count(200) == 300
        r = await c.get(f"/boards/{board}", params={"key": key, "token": owner})
        assert r.status_code == 429 and r.json()["error"] == "API_KEY_LIMIT_EXCEEDED"
        stats = (await c.get("http://sim/_sim/stats")).json()
        assert stats["throttled"] == 2
        off = await c.post("http://sim/_sim/limits", json={"enabled": False})
        assert off.json()["key"]["enabled"] is False
        assert (await c.get(f"/boards/{board}", params={"key": key, "token": owner})).status_code == 200


async def test_members_route_limit(fake_clock: FakeClock, asgi_client: Callable[..., httpx.AsyncClient]) -> None:
    sim = create_app(SeedConfig(seed=2, boards=1, cards_per_board=1), clock=fake_clock)
    s = sim.state.trello.summary
    auth = {"key": s["key"], "token": s["token"]}
    async with asgi_client(sim, base_url="http://sim/1") as c:
        for _ in range(10):
            for _ in range(10):
                assert (await c.get("/members/me", params=auth)).status_code == 200
            fake_clock.advance(10.0)  # stay under the 100 / 10 s token limit
        r = await c.get("/members/me", params=auth)
        assert r.status_code == 429  # 100 / 900 s on /1/members/
        fake_clock.advance(900.0)
        assert (await c.get("/members/me", params=auth)).status_code == 200


async def test_faults_and_reseed(client: httpx.AsyncClient, app: Any) -> None:
    await client.post(
        "http://sim/_sim/faults",
        json={"faults": [{"kind": "status", "status": 502, "path": "^/1/members", "count": 1}]},
    )
    assert (await client.get("/members/me")).status_code == 502
    assert (await client.get("/members/me")).status_code == 200
    summary = (await client.post("http://sim/_sim/seed", json={"seed": 9, "boards": 1, "cards_per_board": 5})).json()
    assert summary["counts"]["cards"] == 5
    assert (await client.get("/members/me", params={"token": summary["token"]})).status_code == 200
    state = (await client.get("http://sim/_sim/state")).json()
    assert len(state["boards"]) == 1
    bad = await client.post("http://sim/_sim/seed", json={"nonsense": 1})
    assert bad.status_code == 400 and "nonsense" in bad.json()["error"]


def test_served_over_real_socket_with_drop_fault() -> None:
    sim = create_app(SeedConfig(seed=3, boards=1, cards_per_board=3))
    s = sim.state.trello.summary
    with serve(sim) as base, httpx.Client(base_url=base, timeout=10) as c:
        auth = {"key": s["key"], "token": s["token"]}
        assert c.get("/1/members/me", params=auth).status_code == 200
        c.post("/_sim/faults", json={"faults": [{"kind": "drop", "count": 1}]})
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/1/members/me", params=auth)
        assert c.get("/1/members/me", params=auth).status_code == 200


async def test_board_level_reads_and_edits(client: httpx.AsyncClient, app: Any) -> None:
    state = app.state.trello.store.dump()
    board = state["boards"][0]["id"]
    comments = [
        a
        for a in state["actions"]
        if a["type"] == "commentCard"
        and state["cards"]
        and any(c["id"] == a["idCard"] and c["idBoard"] == board for c in state["cards"])
    ]
    got: list[str] = []
    before = None
    while True:
        page = (
            await client.get(
                f"/boards/{board}/actions",
                params={"filter": "commentCard", "limit": 40, **({"before": before} if before else {})},
            )
        ).json()
        got += [a["id"] for a in page]
        if len(page) < 40:
            break
        before = page[-1]["id"]
    assert sorted(got) == sorted(a["id"] for a in comments)
    cards = (await client.get(f"/boards/{board}/cards/all", params={"checklists": "all", "attachments": "true"})).json()
    assert sum(len(c["checklists"]) for c in cards) == sum(
        1 for cl in state["checklists"] if any(c["id"] == cl["idCard"] for c in cards)
    )
    assert sum(len(c["attachments"]) for c in cards) == sum(
        1 for a in state["attachments"] if any(c["id"] == a["idCard"] for c in cards)
    )
    mine = (await client.get("/members/me/boards")).json()
    assert {b["id"] for b in mine} == {b["id"] for b in state["boards"]}
    label = state["labels"][0]["id"]
    edited = await client.put(f"/labels/{label}", params={"name": "renamed", "color": "sky"})
    assert edited.json()["color"] == "sky"
    assert (await client.delete(f"/labels/{label}")).status_code == 200
    assert (await client.get(f"/labels/{label}")).status_code == 404
    checklist = state["checklists"][0]["id"]
    assert (await client.delete(f"/checklists/{checklist}")).status_code == 200
    assert (await client.get(f"/checklists/{checklist}")).status_code == 404
    assert (await client.delete(f"/boards/{board}")).status_code == 200
    assert (await client.get(f"/boards/{board}")).status_code == 404
    assert not [c for c in app.state.trello.store.dump()["cards"] if c["idBoard"] == board]


async def test_key_penalty_after_200_refusals(
    fake_clock: FakeClock, asgi_client: Callable[..., httpx.AsyncClient]
) -> None:
    sim = create_app(SeedConfig(seed=4, boards=1, cards_per_board=1, extra_tokens={"tok-x": "xena"}), clock=fake_clock)
    s = sim.state.trello.summary
    async with asgi_client(sim, base_url="http://sim/1") as c:
        await c.post("http://sim/_sim/limits", json={"limiters": {"token": {"limit": 1}}})
        codes = [
            (await c.get("/members/me", params={"key": s["key"], "token": s["token"]})).status_code for _ in range(202)
        ]
        assert codes[0] == 200 and codes[1:] == [429] * 201
        # The key is now in the penalty box: another token of the same key is refused too.
        r = await c.get("/members/me", params={"key": s["key"], "token": "tok-x"})
        assert r.status_code == 429 and r.json()["error"] == "API_KEY_LIMIT_EXCEEDED"
        fake_clock.advance(10.0)
        r = await c.get("/members/me", params={"key": s["key"], "token": "tok-x"})
        assert r.status_code == 200


def test_module_entry_point_serves_until_stopped() -> None:
    """``python -m simulators.trello --port 0`` prints its URL and credentials, then serves."""
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.trello", "--port", "0", "--boards", "1", "--cards", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://\S+/1)\s+key=(\S+) token=(\S+)", line)
        assert found, line
        base, key, token = found.groups()
        # the port is bound before the line is printed; uvicorn listens a moment later
        transport = httpx.HTTPTransport(retries=20)
        with httpx.Client(transport=transport) as c:
            r = c.get(f"{base}/members/me", params={"key": key, "token": token})
        assert r.status_code == 200 and r.json()["username"] == "user0"
        state = httpx.get(base.removesuffix("/1") + "/_sim/state").json()
        assert state["apiKeys"] == [key] and len(state["cards"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
