"""The served OpenAPI document declares its security, its problem answers and its links."""

from __future__ import annotations

import re
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
    assert set(connectors) == {
        "GetCreated",
        "PatchCreated",
        "DeleteCreated",
        "PostTestCreated",
        "GetContainersCreated",
        "GetPeopleCreated",
        "PostConsentCreated",
        "PostConsentCallbackCreated",
        "CreateMigrationWithin",
    }
    assert connectors["GetCreated"]["parameters"] == {
        "orgId": "$request.path.orgId",
        "connectorId": "$response.body#/id",
    }
    assert connectors["CreateMigrationWithin"]["requestBody"]["sourceConnectorId"] == "$response.body#/id"
    org = paths["/api/orgs"]["post"]["responses"]["201"]["links"]
    assert org["GetCreated"]["parameters"] == {"orgId": "$response.body#/id"}
    assert org["DeleteCreated"]["requestBody"] == {"confirm": "$request.body#/name"}
    for name in ("/api/orgs/{orgId}/members", "/api/orgs/{orgId}/migrations", "/api/orgs/{orgId}/keys"):
        links = next(r for c, r in paths[name]["post"]["responses"].items() if c.startswith("2"))["links"]
        assert links and all(link["operationId"] in ids for link in links.values()), name
    runs = paths["/api/orgs/{orgId}/migrations/{migrationId}/runs"]["post"]["responses"]["202"]["links"]
    # A run's logs hang below the org, not below the migration: the link still finds them.
    assert runs["GetLogsCreated"]["parameters"] == {"orgId": "$request.path.orgId", "runId": "$response.body#/id"}
    members = paths["/api/orgs/{orgId}/members"]["get"]["responses"]["200"]["links"]
    assert members["GetListed"]["parameters"]["memberId"] == "$response.body#/items/0/id"


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_link_resolves(spec: dict[str, Any]) -> None:
    """Each link names an operation that exists, fills exactly that operation's path
    parameters, takes request values the source request has, and body fields the target
    accepts: a stateful client can follow every one of them."""
    by_id = {op["operationId"]: (path, op) for path, _, op in _operations(spec)}
    wrong = []
    count = 0
    for path, method, op in _operations(spec):
        source_params = set(re.findall(r"\{(\w+)\}", path))
        source_body = _schema(
            spec, op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        )
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                count += 1
                where = f"{method.upper()} {path} {status} {name}"
                if link["operationId"] not in by_id:
                    wrong.append(f"{where}: no operation {link['operationId']}")
                    continue
                target_path, target = by_id[link["operationId"]]
                if set(link["parameters"]) != set(re.findall(r"\{(\w+)\}", target_path)):
                    wrong.append(f"{where}: parameters {sorted(link['parameters'])} for {target_path}")
                expressions = list(link["parameters"].values())
                body = link.get("requestBody", {})
                target_body = _schema(
                    spec, target.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
                )
                for field in body:
                    if field not in target_body.get("properties", {}):
                        wrong.append(f"{where}: body field {field} unknown to {target_path}")
                expressions += [v for v in body.values() if isinstance(v, str) and v.startswith("$")]
                for expression in expressions:
                    request_path = re.fullmatch(r"\$request\.path\.(\w+)", expression)
                    request_body = re.fullmatch(r"\$request\.body#/(\w+)", expression)
                    if request_path and request_path.group(1) not in source_params:
                        wrong.append(f"{where}: {expression} is not a parameter of {path}")
                    elif request_body and request_body.group(1) not in source_body.get("properties", {}):
                        wrong.append(f"{where}: {expression} is not in the request body")
                    elif not (request_path or request_body) and expression not in (
                        "$response.body#/id",
                        "$response.body#/items/0/id",
                    ):
                        wrong.append(f"{where}: unexpected expression {expression}")
    assert count >= 60 and not wrong, (count, wrong)


def test_routes_that_call_the_vendor_document_its_failures(spec: dict[str, Any]) -> None:
    calls = [(p, m, op) for p, m, op in _operations(spec) if re.search(r"/(containers|people|consent/callback)$", p)]
    assert len(calls) == 3
    for path, method, op in calls:
        for status in ("424", "502", "503"):
            assert "application/problem+json" in op["responses"][status]["content"], (method, path, status)
    others = [op for p, _, op in _operations(spec) if p.endswith("/connectors/{connectorId}")]
    assert others and all("502" not in op["responses"] for op in others)
