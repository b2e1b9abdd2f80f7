"""The OpenAPI document tells the truth about security, errors and how resources chain.

FastAPI documents what it can see (paths, bodies, 200/422). This adds what it cannot:

* the security schemes — an OIDC bearer token (`Authorization: Bearer <jwt>`), an org API
  key (`Authorization: Bearer ferry_…` or `X-Ferry-Key`), the deletion job token — and which
  each operation accepts: org routes take a token or a key, `/api/me` and creating an org
  a token only, `/api/deletions/{jobId}` its job token, health and the document itself none;
* the RFC 9457 problem answers each operation can give (401, 403, 404, 409, 413, 422, 429,
  with `Retry-After` on 429; 424, 502 and 503 where the route calls the vendor), as
  `application/problem+json` with one `Problem` schema;
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
    424: "The vendor refused the connector's credentials",
    502: "The vendor could not be reached or answered something unexpected (`remote-transient`)",
    503: "The vendor asks to slow down (`remote-throttled`)",
}
#: Routes that call the connector's vendor while the client waits: an unreachable or odd
#: vendor is a 502 problem there, its throttling a 503, its refusal of the credentials a 424.
_VENDOR_CALLS = re.compile(r"/api/orgs/\{orgId\}/connectors/\{connectorId\}/(containers|people|consent/callback)")
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
    if _VENDOR_CALLS.fullmatch(path):
        statuses += [424, 502, 503]
    return sorted(statuses)


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return response


_PARAM = re.compile(r"\{(\w+)\}")
_METHODS = ("get", "post", "put", "patch", "delete")


def _camel(segments: list[str]) -> str:
    return "".join(part.capitalize() for segment in segments for part in re.split(r"[^A-Za-z0-9]+", segment) if part)


def _link_name(method: str, item_path: str, target_path: str, suffix: str) -> str:
    """`GetCreated`, `PatchCreated`… on the item itself; `PostTestCreated`, `GetLogsFailuresCreated`… below it."""
    if target_path == item_path:
        rest: list[str] = []
    elif target_path.startswith(item_path + "/"):
        rest = [s for s in target_path[len(item_path) + 1 :].split("/") if not _PARAM.fullmatch(s)]
    else:  # another branch of the tree taking the same id (a run's logs live under /orgs/{orgId}/runs/{runId})
        segments = target_path.split("/")
        param = item_path.rsplit("/", 1)[-1]
        rest = [s for s in segments[segments.index(param) + 1 :] if not _PARAM.fullmatch(s)]
    return f"{method.capitalize()}{_camel(rest)}{suffix}"


def _targets(paths: dict[str, Any], collection: str, param: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation that takes `param` and otherwise only the collection path's own parameters."""
    known = set(_PARAM.findall(collection)) | {param}
    found = []
    for path, ops in paths.items():
        params = set(_PARAM.findall(path))
        if param not in params or not params <= known:
            continue
        for method in _METHODS:
            operation = ops.get(method)
            if isinstance(operation, dict) and "operationId" in operation and (path, method) != (collection, "post"):
                found.append((path, method, operation))
    return found


def _links_to(
    paths: dict[str, Any], collection: str, param: str, id_expression: str, suffix: str
) -> dict[str, dict[str, Any]]:
    item_path = f"{collection}/{{{param}}}"
    links: dict[str, dict[str, Any]] = {}
    for path, method, target in _targets(paths, collection, param):
        parameters = {p: f"$request.path.{p}" for p in _PARAM.findall(path) if p != param}
        parameters[param] = id_expression
        link: dict[str, Any] = {"operationId": target["operationId"], "parameters": parameters}
        body = _LINK_BODIES.get((path, method))
        if body is not None and suffix == "Created":
            link["requestBody"] = body
        links[_link_name(method, item_path, path, suffix)] = link
    return links


#: Bodies a link must carry for its target to succeed. Deleting an organisation needs its
#: name typed back (`confirm`): the create's request body has it.
_LINK_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/orgs/{orgId}", "delete"): {"confirm": "$request.body#/name"},
}


def _success(operation: dict[str, Any]) -> dict[str, Any] | None:
    return next((operation["responses"][c] for c in ("201", "202", "200") if c in operation["responses"]), None)


def _link_resources(paths: dict[str, Any]) -> None:
    """Links from what names a resource to every operation on it.

    * A create (`POST <collection>`) links to every operation taking the id it answered
      (`$response.body#/id`): the item's read, update and delete, and what hangs below it
      (a connector's test, containers and people; a migration's runs; a run's report and logs).
    * A list (`GET <collection>`, `{"items": [...]}`) links to the same operations for its
      first item (`$response.body#/items/0/id`), so a client can start from what exists.
    * A connector links to creating a migration within it (source and destination the same
      connector, which needs a `destinationWorkspace`), so a chain reaches migrations.
    Other path parameters are the request's own (`$request.path.orgId`).
    """
    for collection, ops in paths.items():
        item = next((p for p in paths if re.fullmatch(re.escape(collection) + r"/\{(\w+)\}", p)), None)
        if item is None:
            continue
        param = _PARAM.findall(item)[-1]
        create, listing = ops.get("post"), ops.get("get")
        if create is not None and (success := _success(create)) is not None:
            success.setdefault("links", {}).update(_links_to(paths, collection, param, "$response.body#/id", "Created"))
        if listing is not None and (success := _success(listing)) is not None:
            links = _links_to(paths, collection, param, "$response.body#/items/0/id", "Listed")
            success.setdefault("links", {}).update(links)
    _link_connector_to_migration(paths)


def _link_connector_to_migration(paths: dict[str, Any]) -> None:
    create = paths.get("/api/orgs/{orgId}/migrations", {}).get("post")
    if create is None or "operationId" not in create:
        return
    for path, method, expression in (
        ("/api/orgs/{orgId}/connectors", "post", "$response.body#/id"),
        ("/api/orgs/{orgId}/connectors/{connectorId}", "get", "$response.body#/id"),
    ):
        operation = paths.get(path, {}).get(method)
        if operation is None or (success := _success(operation)) is None:
            continue
        success.setdefault("links", {})["CreateMigrationWithin"] = {
            "operationId": create["operationId"],
            "parameters": {"orgId": "$request.path.orgId"},
            "requestBody": {
                "sourceConnectorId": expression,
                "destinationConnectorId": expression,
                "destinationWorkspace": "linked-workspace",
            },
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
    _link_resources(spec.get("paths", {}))
    return spec


def install_openapi(api: FastAPI) -> None:
    """Serve `describe(api)` (built once, on first request) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = describe(api)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
