"""The HTTP API as a client sees it through the local runner: health, docs, problem+json."""

from __future__ import annotations

from tests.e2e.conftest import RunningApp


def test_health_reports_each_region_without_secrets(running_app: RunningApp, local_env: dict[str, str]) -> None:
    with running_app.client() as c:
        r = c.get("/api/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert set(body["regions"]) == {"eu", "us"}
    for region in body["regions"].values():
        assert region["cosmos"]["status"] == "ok" and region["storage"]["status"] == "ok"
    for secret in (local_env["FERRY_COSMOS_KEY_EU"], "AccountKey"):
        assert secret not in r.text


def test_openapi_and_docs_are_served(running_app: RunningApp) -> None:
    with running_app.client() as c:
        spec = c.get("/api/openapi.json")
        docs = c.get("/api/docs")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "Ferry API"
    assert "/api/health" in spec.json()["paths"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_unknown_route_is_a_problem(running_app: RunningApp) -> None:
    with running_app.client() as c:
        r = c.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:ferry:problem:not-found"


def test_wrong_method_is_a_problem(running_app: RunningApp) -> None:
    with running_app.client() as c:
        r = c.delete("/api/health")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "urn:ferry:problem:method-not-allowed"
