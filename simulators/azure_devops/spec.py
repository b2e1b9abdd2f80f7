"""Validation of exchanges against Azure DevOps' official REST 7.1 descriptions (tests only).

The descriptions are Swagger 2.0 (``vendor-api/azure-devops/wit-7.1/workItemTracking.json``
and ``core-7.1/core.json``, read with ``utf-8-sig``: they start with a byte order mark).
Swagger 2.0 schemas are a JSON Schema draft 4 subset, so requests and answers are checked
with ``jsonschema``'s Draft4Validator against the operation the method and path name.

``SPEC_FIXES`` lists where the descriptions disagree with the service and how the validator
reads them instead; the files are left as published. Paths the descriptions do not hold
(``connectionData``, ``operations``, the Entra token endpoint, ``/_sim``) are not validated.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import Draft4Validator  # type: ignore[import-untyped]

VENDOR = Path(__file__).resolve().parents[2] / "vendor-api" / "azure-devops"
SPECS = (VENDOR / "wit-7.1" / "workItemTracking.json", VENDOR / "core-7.1" / "core.json")

SPEC_FIXES: dict[str, str] = {
    "collections": "operations typed `array` answer a `VssJsonCollectionWrapper` "
    '(`{"count", "value"}`) on the wire; the `value` is checked against the '
    "array schema and `count` against its length",
    "JsonPatchDocument": "declared `type: object` with `allOf: [array]`, which no document "
    "satisfies; read as an array of JsonPatchOperation",
    "JsonPatchOperation.value": "typed `object`, while its description says 'either a "
    "primitive or a JToken' (titles and states are strings): any "
    "JSON value",
    "dictionary values": "dictionaries of .NET `object` (work item `fields`, relation and node "
    "`attributes`, `_links`) are typed `additionalProperties: {type: "
    "object}`, which refuses the strings, numbers and identity objects "
    "they hold; any value is accepted",
    "status codes": "only 200 is described; the service answers 201 (attachment upload, "
    "classification node create), 202 (project create/update/delete, an "
    "operation) and 204 (deletes of comments and nodes): they are checked "
    "against the 200 schema, a 204 has no body",
    "comments list": "`Comments_Get Comments Batch` and `Comments_Get Comments` share one path "
    "in the description, which keeps only the batch form (`ids` required); "
    "the list form (`$top`, `continuationToken`, `order`, no `ids`) is "
    "accepted as the REST reference documents it",
    "wiql without team": "`{team}` is optional in `Wiql_Query By Wiql` (REST reference); the "
    "team-less path `/{organization}/{project}/_apis/wit/wiql` is the "
    "same operation",
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_chars: int
    spec: dict[str, Any]
    doc: int  # index into the loaded specs


def _compile(template: str) -> re.Pattern[str]:
    out = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{"):
            out += "(.+)" if piece == "{path}" else "([^/]+)"
        else:
            out += re.escape(piece)
    return re.compile(f"^{out}/?$", re.IGNORECASE)


def _relax(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("additionalProperties") == {"type": "object"}:
            node["additionalProperties"] = {}
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    _relax(doc)
    defs = doc["definitions"]
    if "JsonPatchDocument" in defs:
        defs["JsonPatchDocument"] = {"type": "array", "items": {"$ref": "#/definitions/JsonPatchOperation"}}
        value = defs["JsonPatchOperation"]["properties"]["value"]
        value.pop("type", None)
    return doc


@functools.lru_cache(maxsize=1)
def _specs() -> tuple[list[dict[str, Any]], list[Operation]]:
    docs = [_load(p) for p in SPECS]
    ops: list[Operation] = []
    for index, doc in enumerate(docs):
        paths = dict(doc["paths"])
        wiql = "/{organization}/{project}/{team}/_apis/wit/wiql"
        if wiql in paths:
            paths["/{organization}/{project}/_apis/wit/wiql"] = paths[wiql]
        for template, item in paths.items():
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            for method, spec in item.items():
                if method == "parameters":
                    continue
                ops.append(Operation(method.upper(), template, _compile(template), literal, spec, index))
    return docs, ops


def find_operation(method: str, path: str) -> Operation | None:
    """The described operation of ``method`` ``path`` (most literal template wins)."""
    _, ops = _specs()
    hits = [op for op in ops if op.method == method.upper() and op.pattern.match(path)]
    return max(hits, key=lambda op: op.literal_chars) if hits else None


def _validator(doc_index: int, schema: dict[str, Any]) -> Draft4Validator:
    docs, _ = _specs()
    root = {"definitions": docs[doc_index]["definitions"], **copy.deepcopy(schema)}
    return Draft4Validator(root)


class SpecMismatch(AssertionError):
    """An exchange the official description does not admit."""


def _check(doc: int, schema: dict[str, Any], value: Any, what: str) -> None:
    errors = sorted(_validator(doc, schema).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise SpecMismatch(f"{what}: {first.message} at {list(first.path)}")


def validate_request(request: httpx.Request) -> None:
    """Check a request's query parameters and JSON body against its operation."""
    path = urlsplit(str(request.url)).path
    op = find_operation(request.method, path)
    if op is None:
        return
    docs, _ = _specs()
    params = [
        p if "$ref" not in p else docs[op.doc]["parameters"][p["$ref"].rsplit("/", 1)[-1]]
        for p in op.spec.get("parameters", [])
    ]
    query = dict(request.url.params)
    listing = op.spec.get("operationId") == "Comments_Get Comments Batch" and "ids" not in query
    for param in params:
        if param["in"] == "query" and param.get("required") and param["name"] not in query:
            if listing and param["name"] == "ids":
                continue
            raise SpecMismatch(f"{op.template}: query parameter {param['name']} is required")
        if param["in"] == "body":
            try:
                raw = request.content
            except httpx.RequestNotRead:
                continue  # a streamed body (an upload): nothing to check
            schema = param.get("schema") or {}
            if schema.get("format") == "Stream" or not raw:
                continue
            _check(op.doc, schema, json.loads(raw), f"{request.method} {op.template} body")


def validate_response(response: httpx.Response, *, request_too: bool = False) -> None:
    """Check a 2xx answer (and, with ``request_too``, the request it accepted) against the
    described operation. A refused request is not checked: tests send malformed ones."""
    request = response.request
    if request_too and response.is_success:
        validate_request(request)
    if not 200 <= response.status_code < 300 or response.status_code == 204:
        return
    op = find_operation(request.method, urlsplit(str(request.url)).path)
    if op is None:
        return
    described = op.spec.get("responses", {})
    entry = described.get(str(response.status_code)) or described.get("200")
    if entry is None:
        raise SpecMismatch(f"{op.template}: status {response.status_code} is not described")
    schema = entry.get("schema")
    if not schema or schema.get("format") == "Stream":
        return
    body = response.json()
    what = f"{request.method} {op.template} answer"
    if schema.get("type") == "array":
        if not isinstance(body, dict) or set(body) != {"count", "value"}:
            raise SpecMismatch(f"{what}: a collection must be {{count, value}}")
        if body["count"] != len(body["value"]):
            raise SpecMismatch(f"{what}: count {body['count']} != {len(body['value'])} values")
        _check(op.doc, schema, [v for v in body["value"] if v is not None], what)
        return
    _check(op.doc, schema, body, what)
