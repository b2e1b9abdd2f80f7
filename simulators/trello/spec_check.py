"""Validate simulator (or connector) traffic against Trello's published OpenAPI.

Test helper: loads ``vendor-api/trello/swagger.v3.json`` once, applies the
corrections in :data:`SPEC_FIXES` (places where the real API, which the simulator follows,
differs from the published description), and validates httpx request/response pairs with
openapi-core. ``/_sim/*`` and the attachment file host are not part of the API and skipped.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

SPEC_PATH = Path(__file__).resolve().parents[2] / "vendor-api" / "trello" / "swagger.v3.json"

# Why each fix: the spec text disagrees with the real API and with Trello's own object
# definitions (https://developer.atlassian.com/cloud/trello/guides/rest-api/object-definitions/).
SPEC_FIXES: dict[str, str] = {
    "Attachment.bytes": "object definitions: 'bytes integer'; the spec says string",
    "CheckItem.pos": "the API returns a number (like every other pos); the spec says string",
    "Card.labels": "cards embed full label objects; the spec says an array of ids",
    "POST /cards/{id}/attachments": "returns one Attachment object, the spec says an array",
    "GET /cards/{id}/attachments/{idAttachment}": "returns one object, the spec says an array",
    "format: date": "date fields hold ISO date-times ('2018-10-17T19:10:14.808Z')",
    "nullable next to $ref": "OpenAPI 3.0 ignores siblings of $ref, so the spec's intended "
    "'nullable: true' (idAttachmentCover, mirrorSourceId...) is inlined",
    "nullable enum": "'nullable: true' with an enum (cardRole, Color) also admits null",
    "OAuth header": "requests may carry key + token in 'Authorization: OAuth' instead of the "
    "query (validated as if they were in the query)",
    "fields lists": "'fields' parameters take 'all' or a comma-separated list (their own "
    "descriptions say so); the spec types them as a single enum value",
    "label color parameter": "a label without colour is color=null; in a query string that is the text 'null'",
    "pos parameter": "'top', 'bottom' or a positive number; in a query string all are text, "
    "which the spec's oneOf cannot type",
    "id lists": "'Comma-separated list of … IDs' parameters (idMembers, idLabels) are typed "
    "as one id or as an exploded array; they are comma-separated arrays",
    "boolean defaults": "string parameters with a boolean default (attachments=false) get the string default",
    "JSON body": "Trello reads documented query parameters from a JSON body too (validated as query parameters)",
}
_OAUTH = re.compile(r'(oauth_consumer_key|oauth_token)\s*=\s*"([^"]*)"')
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$")


def _honour_nullable(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_honour_nullable(x, schemas) for x in node]
    if not isinstance(node, dict):
        return node
    if node.get("nullable") is True and "$ref" in node:
        target = copy.deepcopy(schemas[node["$ref"].rsplit("/", 1)[1]])
        node = {**target, "nullable": True}
    if node.get("nullable") is True and "enum" in node and None not in node["enum"]:
        node = {**node, "enum": [*node["enum"], None]}
    return {k: _honour_nullable(v, schemas) for k, v in node.items()}


def _patched_spec() -> dict[str, Any]:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    spec = _honour_nullable(spec, spec["components"]["schemas"])
    schemas = spec["components"]["schemas"]
    schemas["Attachment"]["properties"]["bytes"] = {"type": "integer", "nullable": True}
    schemas["CheckItem"]["properties"]["pos"] = {"type": "number"}
    schemas["Card"]["properties"]["labels"] = {"type": "array", "items": {"$ref": "#/components/schemas/Label"}}
    for item in spec["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                name = param.get("name", "")
                if param.get("in") == "query" and (name == "fields" or name.endswith("_fields")):
                    param["schema"] = {"type": "string"}
                schema = param.get("schema", {})
                if (
                    param.get("in") == "query"
                    and "comma-separated list of" in param.get("description", "").lower()
                    and "ID" in param["description"]
                ):
                    param.update(
                        style="form",
                        explode=False,
                        schema={"type": "array", "items": {"$ref": "#/components/schemas/TrelloID"}},
                    )
                elif isinstance(schema.get("default"), bool) and schema.get("type") == "string":
                    schema["default"] = str(schema["default"]).lower()
                    schema.pop("oneOf", None)
                if param.get("in") == "query" and name == "pos":
                    param["schema"] = {"type": "string", "pattern": r"^(top|bottom|[0-9]+(\.[0-9]+)?)$"}
                if param.get("in") == "query" and name == "color":
                    param["schema"] = {"type": "string", "enum": [*schemas["Color"]["enum"][:10], "null"]}
    single = {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}
    spec["paths"]["/cards/{id}/attachments"]["post"]["responses"]["200"]["content"] = single
    spec["paths"]["/cards/{id}/attachments/{idAttachment}"]["get"]["responses"]["200"]["content"] = copy.deepcopy(
        single
    )
    return spec


@functools.lru_cache(maxsize=1)
def trello_openapi() -> Any:
    """The corrected spec as an ``openapi_core.OpenAPI`` (loaded once per process)."""
    from openapi_core import Config, OpenAPI

    config = Config(spec_validator_cls=None, extra_format_validators={"date": lambda v: bool(_ISO.match(v))})
    return OpenAPI.from_dict(_patched_spec(), config=config)


class _Req:
    def __init__(self, request: httpx.Request, *, body_as_query: bool = False) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        url = urlsplit(str(request.url))
        self.host_url = "https://api.trello.com"
        self.path = url.path
        self.method = request.method.lower()
        query = list(request.url.params.multi_items())
        self.content_type = request.headers.get("content-type", "")
        try:
            self.body: bytes | None = request.content or None
        except httpx.RequestNotRead:
            self.body = None
        if body_as_query and self.body and "application/json" in self.content_type:
            # Trello reads arguments from the query string or a JSON body alike; the spec
            # documents them as query parameters, so validate them as such.
            for key, value in json.loads(self.body).items():
                if value is None:
                    if key != "color":
                        continue  # null clears a field (due=null): no query form
                    value = "null"
                elif isinstance(value, bool):
                    value = str(value).lower()
                elif isinstance(value, list):
                    if not value:
                        continue  # an empty list is "none" (no query parameter)
                    value = ",".join(str(v) for v in value)
                query.append((key, str(value)))
            self.body = None
        if body_as_query:
            # The same key + token in ``Authorization: OAuth …`` (Trello's authorization
            # guide; the only form /download/ accepts) satisfy the spec's query schemes.
            found = dict(_OAUTH.findall(request.headers.get("authorization", "")))
            for spec_name, oauth_name in (("key", "oauth_consumer_key"), ("token", "oauth_token")):
                if oauth_name in found:
                    query.append((spec_name, found[oauth_name]))
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(dict(request.headers)), cookie=ImmutableMultiDict()
        )


class _Resp:
    def __init__(self, response: httpx.Response) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "").split(";")[0]
        self.headers = Headers(dict(response.headers))
        self.data = response.content


def is_api_path(path: str) -> bool:
    """True for ``/1/...`` calls that the published description covers."""
    return path.startswith("/1/") and "/download/" not in path


def validate_exchange(response: httpx.Response) -> None:
    """Raise if a 2xx ``/1`` response does not match the (corrected) spec."""
    path = urlsplit(str(response.request.url)).path
    if not is_api_path(path) or not 200 <= response.status_code < 300:
        return
    try:
        trello_openapi().validate_response(_Req(response.request), _Resp(response))
    except Exception as exc:
        raise AssertionError(f"{response.request.method} {path}: {_explain(exc)}") from exc


def validate_request(request: httpx.Request) -> None:
    """Raise if a ``/1`` request does not match the spec (path, method, parameters).

    JSON body fields are checked as the query parameters the spec documents; multipart
    uploads are checked for their path and query only (the spec models ``file`` as a query
    parameter, which no client can send)."""
    path = urlsplit(str(request.url)).path
    if not is_api_path(path):
        return
    try:
        trello_openapi().validate_request(_Req(request, body_as_query=True))
    except Exception as exc:
        raise AssertionError(f"{request.method} {path}: {_explain(exc)}") from exc


def _explain(exc: BaseException) -> str:
    """The innermost JSON-schema reasons, which openapi-core buries in ``__cause__``."""
    reasons: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        for err in getattr(seen, "schema_errors", ()) or ():
            leaves = [err]
            while leaves[0].context:
                leaves = sorted(leaves[0].context, key=lambda e: -len(e.absolute_path))
            leaf = leaves[0]
            reasons.append(f"{list(leaf.absolute_path)}: {leaf.message[:300]}")
        seen = seen.__cause__
    return "; ".join(reasons) or repr(exc)
