"""Validate simulator (or connector) traffic against Trello's published OpenAPI.

Test helper: loads ``shared/vendor-api/trello/swagger.v3.json`` once, applies the
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

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "vendor-api" / "trello" / \
    "swagger.v3.json"
if not SPEC_PATH.exists():  # the vendor folder lives next to the repository in this setup
    SPEC_PATH = Path("/work/shared/vendor-api/trello/swagger.v3.json")

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
}
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
    schemas["Card"]["properties"]["labels"] = {
        "type": "array", "items": {"$ref": "#/components/schemas/Label"}}
    single = {"application/json": {"schema": {"$ref": "#/components/schemas/Attachment"}}}
    spec["paths"]["/cards/{id}/attachments"]["post"]["responses"]["200"]["content"] = single
    spec["paths"]["/cards/{id}/attachments/{idAttachment}"]["get"]["responses"]["200"][
        "content"] = copy.deepcopy(single)
    return spec


@functools.lru_cache(maxsize=1)
def trello_openapi() -> Any:
    """The corrected spec as an ``openapi_core.OpenAPI`` (loaded once per process)."""
    from openapi_core import Config, OpenAPI

    config = Config(spec_validator_cls=None,
                    extra_format_validators={"date": lambda v: bool(_ISO.match(v))})
    return OpenAPI.from_dict(_patched_spec(), config=config)


class _Req:
    def __init__(self, request: httpx.Request) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        url = urlsplit(str(request.url))
        self.host_url = "https://api.trello.com"
        self.path = url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(dict(request.headers)), cookie=ImmutableMultiDict())
        self.content_type = request.headers.get("content-type", "")
        try:
            self.body: bytes | None = request.content or None
        except httpx.RequestNotRead:
            self.body = None


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
