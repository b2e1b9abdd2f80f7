"""The served OpenAPI document declares its security, its problem answers and its links."""

from __future__ import annotations

from typing import Any

import pytest

from functions.http_api import create_api

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_api().openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, op) for path, ops in spec["paths"].items() for m, op in ops.items() if m in METHODS]


def test_security_schemes_and_per_operation_requirements(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"]["name"] == "X-Ferry-Key" and schemes["apiKeyHeader"]["in"] == "header"
    for path, method, op in _operations(spec):
        names = {name for requirement in op["security"] for name in requirement}
        if path.startswith("/api/orgs/"):
            assert names == {"bearerToken", "apiKeyHeader"}, (method, path)
        elif path in ("/api/me", "/api/orgs"):
            assert names == {"bearerToken"}, (method, path)
        elif path.startswith("/api/deletions/"):
            assert names == {"jobToken"}, (method, path)
        else:
            assert op["security"] == [], (method, path)


def test_every_guarded_operation_documents_its_problem_answers(spec: dict[str, Any]) -> None:
    missing = []
    for path, method, op in _operations(spec):
        if not op["security"]:
            continue
        want = {"401", "404", "422", "429"} | ({"403"} if path.startswith("/api/orgs/") else set())
        want |= {"409"} if method != "get" else set()
        want |= {"413"} if "requestBody" in op else set()
        for status in sorted(want):
            response = op["responses"].get(status, {})
            if "application/problem+json" not in response.get("content", {}):
                missing.append(f"{method.upper()} {path} {status}")
        if "Retry-After" not in op["responses"].get("429", {}).get("headers", {}):
            missing.append(f"{method.upper()} {path} 429 Retry-After")
    assert not missing, missing
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]


def test_creates_link_to_the_read_update_and_delete_of_what_they_created(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    ids = {op["operationId"] for _, _, op in _operations(spec)}
    connectors = paths["/api/orgs/{orgId}/connectors"]["post"]["responses"]["201"]["links"]
    assert set(connectors) == {"GetCreated", "PatchCreated", "DeleteCreated"}
    assert connectors["GetCreated"]["parameters"] == {
        "orgId": "$request.path.orgId",
        "connectorId": "$response.body#/id",
    }
    org = paths["/api/orgs"]["post"]["responses"]["201"]["links"]
    assert org["GetCreated"]["parameters"] == {"orgId": "$response.body#/id"}
    for name in ("/api/orgs/{orgId}/members", "/api/orgs/{orgId}/migrations", "/api/orgs/{orgId}/keys"):
        links = next(r for c, r in paths[name]["post"]["responses"].items() if c.startswith("2"))["links"]
        assert links and all(link["operationId"] in ids for link in links.values()), name
