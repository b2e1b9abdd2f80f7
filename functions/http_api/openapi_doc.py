"""The OpenAPI document tells the truth about security, errors and how resources chain.

FastAPI documents what it can see (paths, bodies, 200/422). This adds what it cannot:

* the security schemes — an OIDC bearer token (`Authorization: Bearer <jwt>`), an org API
  key (`Authorization: Bearer ferry_…` or `X-Ferry-Key`), the deletion job token — and which
  each operation accepts: org routes take a token or a key, `/api/me` and creating an org
  a token only, `/api/deletions/{jobId}` its job token, health and the document itself none;
* the RFC 9457 problem answers each operation can give (401, 403, 404, 409, 413, 422, 429,
  with `Retry-After` on 429), as `application/problem+json` with one `Problem` schema;
* links from each create to the read, update and delete of what it created, so a stateful
  client (or fuzzer) can chain create → read → update → delete.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

BEARER, API_KEY, JOB_TOKEN = "bearerToken", "apiKeyHeader", "jobToken"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is a stable `urn:ferry:problem:<slug>`.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:ferry:problem:not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "422: each failing field",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
    "additionalProperties": True,
}
_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT or ferry_ API key",
        "description": "An OIDC token of a configured issuer (RS256; iss, aud, exp, nbf checked), or an "
        "organisation API key `ferry_…` (org routes only).",
    },
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Ferry-Key",
        "description": "An organisation API key, for clients that reserve Authorization.",
    },
    JOB_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Ferry-Job-Token",
        "description": "The token answered once when an organisation's deletion was requested.",
    },
}
_DESCRIPTIONS = {
    401: "No valid credential",
    403: "The credential may not do this",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state, or a count limit is reached (`limit-exceeded`)",
    413: "The request body is too large",
    422: "Invalid input; `errors[].field` names each field",
    429: "Too many requests; retry after `Retry-After` seconds",
}
_WRITE = ("post", "put", "patch", "delete")


def _security(path: str) -> list[dict[str, list[str]]] | None:
    if path.startswith("/api/orgs/"):
        return [{BEARER: []}, {API_KEY: []}]
    if path in ("/api/me", "/api/orgs"):
        return [{BEARER: []}]
    if path.startswith("/api/deletions/"):
        return [{JOB_TOKEN: []}]
    return None


def _problem_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [401, 404, 422, 429]
    if path.startswith("/api/orgs/"):
        statuses.append(403)
    if method in _WRITE:
        statuses.append(409)
    if "requestBody" in operation:
        statuses.append(413)
    return sorted(statuses)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return response


def _link_creates(paths: dict[str, Any]) -> None:
    """On each create's success answer, links to the item routes of what it created."""
    for path, ops in paths.items():
        create = ops.get("post")
        if create is None:
            continue
        for item_path, item_ops in paths.items():
            match = re.fullmatch(re.escape(path) + r"/\{(\w+)\}", item_path)
            if match is None:
                continue
            param = match.group(1)
            success = next((create["responses"][c] for c in ("201", "202", "200") if c in create["responses"]), None)
            if success is None:
                continue
            links = success.setdefault("links", {})
            for method in ("get", "patch", "delete"):
                target = item_ops.get(method)
                if target is None or "operationId" not in target:
                    continue
                parameters = {p: f"$request.path.{p}" for p in re.findall(r"\{(\w+)\}", path)}
                parameters[param] = "$response.body#/id"
                links[f"{method.capitalize()}Created"] = {
                    "operationId": target["operationId"],
                    "parameters": parameters,
                }


def describe(api: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with security, problem answers and links added."""
    spec = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    components["securitySchemes"] = _SCHEMES
    for path, ops in spec.get("paths", {}).items():
        for method, operation in ops.items():
            if not isinstance(operation, dict) or method not in ("get", "post", "put", "patch", "delete"):
                continue
            security = _security(path)
            operation["security"] = security or []
            if security is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(path, method, operation):
                responses[str(status)] = _problem_response(status)
    _link_creates(spec.get("paths", {}))
    return spec


def install_openapi(api: FastAPI) -> None:
    """Serve `describe(api)` (built once, on first request) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = describe(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
