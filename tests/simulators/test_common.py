"""Tests for the vendor-neutral simulator building blocks (simulators/common.py)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.common import (
    ConcurrencyLimiter,
    FakeClock,
    FaultPlan,
    SimRuntime,
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
    assert lim.hit("other") is None          # keys are independent
    clock.advance(4)
    lim.hit("t")                             # refused, not recorded
    assert lim.hit("t") == pytest.approx(6.0)
    clock.advance(6)                         # first three hits leave the window
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
    plan = FaultPlan.from_dict({"faults": [
        {"kind": "status", "status": 502, "path": "^/1/cards", "count": 2, "method": "GET"},
    ]})
    assert plan.pick("GET", "/1/boards/x") is None
    assert plan.pick("POST", "/1/cards") is None
    assert plan.pick("GET", "/1/cards/a").status == 502
    assert plan.pick("GET", "/1/cards/b").status == 502
    assert plan.pick("GET", "/1/cards/c") is None       # count exhausted
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
    huge = make_blob(1 << 30, seed="big")   # 1 GiB: costs nothing until read
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
    runtime = SimRuntime(clock=clock, state=lambda: {"items": len(seeded)},
                         reseed=lambda p: seeded.append(p) or {"ok": True},
                         limiters={"token": WindowLimiter(5, 10, clock)})
    app = _demo_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://sim") as client:
        assert (await client.get("/hello/a")).json() == {"hello": "a"}
        assert (await client.post("/_sim/seed", json={"boards": 1})).json() == {"ok": True}
        assert (await client.get("/_sim/state")).json() == {"items": 1}
        r = await client.post("/_sim/faults", json={"faults": [
            {"kind": "status", "status": 503, "path": "/hello/", "count": 1,
             "headers": {"Retry-After": "1"}}]})
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
        client.post("/_sim/faults", json={"faults": [
            {"kind": "drop", "path": "/hello/", "count": 1},
            {"kind": "slow_body", "path": "/blob", "count": 1, "bytes_per_s": 500_000}]})
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

