"""Tests for the vendor-neutral simulator building blocks (simulators/common.py)."""

from __future__ import annotations

import hashlib
import socket
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.common import (
    CLIENT_CLOSED,
    ConcurrencyLimiter,
    FakeClock,
    FaultPlan,
    SimRuntime,
    SimulatedDrop,
    WindowLimiter,
    blob_response,
    is_sim_path,
    long_text,
    make_blob,
    mount_sim_controls,
    seeded_rng,
    serve,
    unicode_text,
)


def test_window_limiter_sliding_window_with_fake_clock() -> None:
    clock = FakeClock()
    lim = WindowLimiter(3, 10.0, clock)
    assert [lim.hit("t") for _ in range(3)] == [None, None, None]
    assert lim.remaining("t") == 0
    assert lim.hit("t") == pytest.approx(10.0)
    assert lim.hit("other") is None  # keys are independent
    clock.advance(4)
    lim.hit("t")  # refused, not recorded
    assert lim.hit("t") == pytest.approx(6.0)
    clock.advance(6)  # first three hits leave the window
    assert lim.remaining("t") == 3
    assert lim.hit("t") is None
    lim.configure(enabled=False)
    assert all(lim.hit("t") is None for _ in range(10))


async def test_concurrency_limiter_refuses_when_full() -> None:
    lim = ConcurrencyLimiter(2)
    async with lim.slot("u") as a, lim.slot("u") as b, lim.slot("u") as c:
        assert (a, b, c) == (True, True, False)
        assert lim.in_flight("u") == 2
        async with lim.slot("v") as other:
            assert other is True
    assert lim.in_flight("u") == 0
    async with lim as first, lim as second, lim as third:
        assert (first, second, third) == (True, True, False)
    assert lim.in_flight() == 0


def test_fault_plan_counts_filters_and_ratio() -> None:
    plan = FaultPlan.from_dict(
        {
            "faults": [
                {"kind": "status", "status": 502, "path": "^/1/cards", "count": 2, "method": "GET"},
            ]
        }
    )
    assert plan.pick("GET", "/1/boards/x") is None
    assert plan.pick("POST", "/1/cards") is None
    assert plan.pick("GET", "/1/cards/a").status == 502
    assert plan.pick("GET", "/1/cards/b").status == 502
    assert plan.pick("GET", "/1/cards/c") is None  # count exhausted
    half = FaultPlan.from_dict({"seed": 3, "faults": [{"count": None, "ratio": 0.5}]})
    hits = sum(half.pick("GET", "/x") is not None for _ in range(400))
    assert 140 < hits < 260
    assert FaultPlan.from_dict({"latency_ms": [5, 5]}).latency_s() == pytest.approx(0.005)


def test_text_helpers_are_deterministic() -> None:
    assert unicode_text(seeded_rng(1)) == unicode_text(seeded_rng(1))
    text = long_text(seeded_rng(2), 20_000)
    assert len(text) == 20_000
    assert any(ord(ch) > 0xFFFF for ch in long_text(seeded_rng(3), 5_000))


def test_blob_is_deterministic_and_random_access() -> None:
    blob = make_blob(200_000, seed="a")
    whole = blob.read()
    assert len(whole) == 200_000
    assert whole == make_blob(200_000, seed="a").read()
    assert whole != make_blob(200_000, seed="b").read()
    assert blob.read(70_000, 140_001) == whole[70_000:140_001]
    assert blob.sha256() == hashlib.sha256(whole).hexdigest()
    huge = make_blob(1 << 30, seed="big")  # 1 GiB: costs nothing until read
    assert len(huge.read((1 << 30) - 10)) == 10


def _demo_app(runtime: SimRuntime) -> Starlette:
    blob = make_blob(100_000, seed=7)

    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": request.path_params["name"]})

    async def download(request: Request) -> Response:
        return blob_response(blob, filename="f.bin", range_header=request.headers.get("range"))

    app = Starlette(routes=[Route("/hello/{name}", hello), Route("/blob", download)])
    return mount_sim_controls(app, runtime)


async def test_sim_controls_endpoints_faults_and_stats() -> None:
    clock = FakeClock()
    seeded: list[dict] = []
    runtime = SimRuntime(
        clock=clock,
        state=lambda: {"items": len(seeded)},
        reseed=lambda p: seeded.append(p) or {"ok": True},
        limiters={"token": WindowLimiter(5, 10, clock)},
    )
    app = _demo_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        assert (await client.get("/hello/a")).json() == {"hello": "a"}
        assert (await client.post("/_sim/seed", json={"boards": 1})).json() == {"ok": True}
        assert (await client.get("/_sim/state")).json() == {"items": 1}
        r = await client.post(
            "/_sim/faults",
            json={
                "faults": [
                    {"kind": "status", "status": 503, "path": "/hello/", "count": 1, "headers": {"Retry-After": "1"}}
                ]
            },
        )
        assert r.status_code == 200
        r = await client.get("/hello/b")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert (await client.get("/hello/c")).status_code == 200
        for bad in ({"kind": "explode"}, {"path": "(unclosed"}, {"nonsense": 1}):
            r = await client.post("/_sim/faults", json={"faults": [bad]})
            assert r.status_code == 400, bad
        r = await client.post("/_sim/limits", json={"limiters": {"token": {"limit": 9}}})
        assert r.json()["token"]["limit"] == 9
        assert (await client.post("/_sim/limits", json={"limiters": {"nope": {}}})).status_code == 400
        await client.post("/_sim/clock", json={"advance_s": 5})
        assert clock.monotonic() == 1005.0
        stats = (await client.get("/_sim/stats")).json()
        assert stats["by_route"]["GET /hello/{name}"] == {"200": 2}
        assert stats["by_status"]["503"] == 1 and stats["faults_injected"] == 1
        r = await client.get("/blob", headers={"range": "bytes=10-19"})
        assert r.status_code == 206 and r.content == make_blob(100_000, 7).read(10, 20)
        assert r.headers["content-range"] == "bytes 10-19/100000"
    assert is_sim_path("/_sim/state") and not is_sim_path("/_simulate")


def test_serve_drop_and_slow_body_over_real_socket() -> None:
    runtime = SimRuntime()
    with serve(_demo_app(runtime)) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/hello/x").json() == {"hello": "x"}
        client.post(
            "/_sim/faults",
            json={
                "faults": [
                    {"kind": "drop", "path": "/hello/", "count": 1},
                    {"kind": "slow_body", "path": "/blob", "count": 1, "bytes_per_s": 500_000},
                ]
            },
        )
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/hello/y")
        r = client.get("/blob")
        assert r.content == make_blob(100_000, 7).read()
        assert client.get("/hello/z").status_code == 200
        assert client.get("/_sim/stats").json()["by_status"]["drop"] == 1


def test_serve_ports_are_distinct_and_released() -> None:
    app = _demo_app(SimRuntime())
    with serve(app) as a, serve(app) as b:
        assert a != b
        assert httpx.get(f"{a}/hello/1").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{a}/hello/1", timeout=2)


# --------------------------------------------------------------------------- apply-then-fail, nth


def _counter_app(runtime: SimRuntime) -> tuple[Starlette, list[str]]:
    """A tiny stateful app: ``POST /items/{name}`` appends, ``GET /items`` lists."""
    items: list[str] = []

    async def add(request: Request) -> Response:
        await request.body()
        items.append(request.path_params["name"])
        return JSONResponse({"created": request.path_params["name"]}, status_code=201)

    async def listing(request: Request) -> Response:
        return JSONResponse(items)

    app = Starlette(routes=[Route("/items/{name}", add, methods=["POST"]), Route("/items", listing, methods=["GET"])])
    return mount_sim_controls(app, runtime), items


def test_fault_plan_nth_fires_exactly_once_at_the_nth_matching_call() -> None:
    plan = FaultPlan.from_dict(
        {"faults": [{"kind": "status", "status": 500, "method": "POST", "path": "/tasks/*/subtasks", "nth": 3}]}
    )
    hits = [plan.pick("POST", f"/api/1.0/tasks/{i}/subtasks") is not None for i in range(1, 7)]
    assert hits == [False, False, True, False, False, False]
    assert plan.faults == []  # count 1 consumed: the rule is gone
    # other methods and paths do not count towards nth
    plan = FaultPlan.from_dict({"faults": [{"path": "/tasks/*/subtasks", "nth": 2, "method": "POST"}]})
    assert plan.pick("GET", "/tasks/1/subtasks") is None
    assert plan.pick("POST", "/tasks/1/stories") is None
    assert plan.pick("POST", "/tasks/1/subtasks") is None
    assert plan.faults[0].seen == 1
    assert plan.pick("POST", "/tasks/2/subtasks") is not None
    # nth with count None: every call from the nth on
    plan = FaultPlan.from_dict({"faults": [{"nth": 2, "count": None}]})
    assert [plan.pick("GET", "/x") is not None for _ in range(4)] == [False, True, True, True]


def test_fault_plan_nth_counts_calls_an_earlier_rule_took() -> None:
    plan = FaultPlan.from_dict(
        {
            "faults": [
                {"kind": "status", "status": 502, "path": "/cards", "count": 2},
                {"kind": "apply_then_drop", "path": "/cards", "nth": 3},
            ]
        }
    )
    kinds = [getattr(plan.pick("POST", "/1/cards"), "kind", None) for _ in range(4)]
    assert kinds == ["status", "status", "apply_then_drop", None]


def test_fault_plan_star_segment_and_validation() -> None:
    rule = FaultPlan.from_dict({"faults": [{"path": "/tasks/*/subtasks"}]}).faults[0]
    assert rule.matches("POST", "/api/1.0/tasks/120/subtasks")
    assert not rule.matches("POST", "/api/1.0/tasks/subtasks")
    assert not rule.matches("POST", "/api/1.0/tasks/1/2/subtasks")
    tail = FaultPlan.from_dict({"faults": [{"path": "^/1/checklists/*$"}]}).faults[0]
    assert tail.matches("DELETE", "/1/checklists/abc") and not tail.matches("GET", "/1/checklists")
    # an ordinary regex keeps its meaning
    assert FaultPlan.from_dict({"faults": [{"path": "^/1/cards.*"}]}).faults[0].matches("GET", "/1/cards/x/actions")
    for bad in (
        {"nth": 0},
        {"nth": "3"},
        {"nth": True},
        {"nth": 1.5},
        {"kind": "apply_then_status", "status": 200},
        {"kind": "apply_then_nothing"},
    ):
        with pytest.raises(ValueError):
            FaultPlan.from_dict({"faults": [bad]})


async def test_apply_then_status_serves_the_write_and_answers_the_fault() -> None:
    runtime = SimRuntime()
    app, items = _counter_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        r = await client.post(
            "/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "apply_then_status",
                        "status": 504,
                        "method": "POST",
                        "path": "/items/*",
                        "body": '{"error":"gateway timeout"}',
                        "headers": {"Retry-After": "2"},
                    }
                ]
            },
        )
        assert r.status_code == 200
        r = await client.post("/items/a", content=b"payload")
        assert (r.status_code, r.json(), r.headers["retry-after"]) == (504, {"error": "gateway timeout"}, "2")
        assert items == ["a"]  # the vendor has the item
        r = await client.post("/items/b")
        assert r.status_code == 201 and items == ["a", "b"]
        plan = (await client.get("/_sim/faults")).json()
        assert plan["faults"] == []
        assert plan["injected"] == [
            {"method": "POST", "path": "/items/a", "kind": "apply_then_status", "status": 504, "applied_status": 201}
        ]
        stats = (await client.get("/_sim/stats")).json()
        assert stats["by_route"]["POST /items/{name}"] == {"504": 1, "201": 1}
        assert stats["faults_injected"] == 1


async def test_apply_then_drop_in_process_raises_after_the_write() -> None:
    runtime = SimRuntime()
    app, items = _counter_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        await client.post(
            "/_sim/faults", json={"faults": [{"kind": "apply_then_drop", "method": "POST", "path": "/items/*"}]}
        )
        with pytest.raises(SimulatedDrop):
            await client.post("/items/a")
        assert items == ["a"]


def test_apply_then_drop_resets_the_connection_after_the_write() -> None:
    runtime = SimRuntime()
    app, items = _counter_app(runtime)
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        client.post(
            "/_sim/faults",
            json={"faults": [{"kind": "apply_then_drop", "method": "POST", "path": "/items/*", "nth": 2}]},
        )
        assert client.post("/items/a").status_code == 201
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/items/b", content=b"x" * 100_000)
        assert items == ["a", "b"]  # served in full, answer lost
        assert client.post("/items/c").status_code == 201
        assert client.get("/items").json() == ["a", "b", "c"]
        injected = client.get("/_sim/faults").json()["injected"]
        assert injected == [
            {"method": "POST", "path": "/items/b", "kind": "apply_then_drop", "status": "drop", "applied_status": 201}
        ]
        assert client.get("/_sim/stats").json()["by_route"]["POST /items/{name}"] == {"201": 2, "drop": 1}


def test_fail_before_write_kinds_still_leave_state_untouched() -> None:
    runtime = SimRuntime()
    app, items = _counter_app(runtime)
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        client.post(
            "/_sim/faults",
            json={
                "faults": [
                    {"kind": "status", "status": 503, "path": "/items/", "count": 1},
                    {"kind": "drop", "path": "/items/", "count": 1},
                ]
            },
        )
        assert client.post("/items/a").status_code == 503
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/items/b")
        assert items == []
        assert client.post("/items/c").status_code == 201 and items == ["c"]


def test_a_client_that_leaves_mid_body_is_counted_as_gone_not_as_a_500() -> None:
    runtime = SimRuntime()
    app, items = _counter_app(runtime)
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        host, port = base.rsplit("/", 1)[1].split(":")
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(b"POST /items/a HTTP/1.1\r\nHost: sim\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        # the server notices the closed socket on its own schedule; wait for it
        for _ in range(200):
            stats = client.get("/_sim/stats").json()
            if stats["total"]:
                break
            time.sleep(0.02)
        assert stats["by_status"] == {CLIENT_CLOSED: 1}
        assert items == []
        assert client.post("/items/b").status_code == 201
        assert client.get("/_sim/stats").json()["by_status"] == {CLIENT_CLOSED: 1, "201": 1}


async def test_a_file_named_beyond_latin1_is_served_with_its_utf8_name() -> None:
    """A header is Latin-1: a name like "Plan – v2" (en dash) goes in ``filename*`` (RFC 6266)
    with an ASCII fallback, instead of failing the download with a 500."""
    import re
    from urllib.parse import unquote

    async def download(request: Request) -> Response:
        return blob_response(make_blob(10, seed=1), filename=request.query_params["name"])

    app = Starlette(routes=[Route("/blob", download)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        for name in ("Plan – v2 “final”.pdf", "日本語.txt", "plain.bin"):
            r = await client.get("/blob", params={"name": name})
            assert r.status_code == 200 and r.content == b"".join(make_blob(10, seed=1).iter_bytes())
            header = r.headers["content-disposition"]
            header.encode("latin-1")  # what a header can hold
            utf8 = re.search(r"filename\*=UTF-8''(\S+)", header)
            plain = re.search(r'filename="([^"]*)"', header)
            assert plain is not None and plain.group(1).isascii()
            assert (unquote(utf8.group(1)) if utf8 else plain.group(1)) == name
