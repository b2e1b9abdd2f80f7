"""Validate Graph traffic (simulator responses, connector requests) against Planner.yml.

Test helper. Loads `vendor-api/microsoft-graph/Planner.yml` once per process and
applies the corrections in `SPEC_FIXES` — places where the generated OpenAPI cannot express
what Graph really sends — then validates httpx exchanges with openapi-core. Only the Planner
paths are covered by that file; directory, conversation and drive routes are not validated
here, and neither are `/_sim/*` or the token endpoint.
"""

from __future__ import annotations

import copy
import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

_VENDOR = Path(__file__).resolve().parents[2] / "vendor-api" / "microsoft-graph"
SPEC_PATH = _VENDOR / "Planner.yml"
CSDL_PATH = _VENDOR / "graph-v1.0-csdl-planner-subset.xml"

SPEC_FIXES: dict[str, str] = {
    "additionalProperties": "the generator writes `additionalProperties: {type: object}` on "
    "every schema, which forbids OData annotations such as the string `@odata.etag` that "
    "Graph puts on every Planner entity; relaxed to any value",
    "open-type dictionaries": "assignments / checklist / references / appliedCategories / "
    "sharedWith / orderHintsByAssignee values are typed from the CSDL "
    "(plannerAssignment, plannerChecklistItem, plannerExternalReference) or as booleans "
    "/ strings (Graph docs), instead of `object`",
    "null dictionary values": "PATCH bodies remove an assignment / checklist item / "
    "reference / category by setting it to null",
    "nullable complex properties": "Graph sends null for unset complex properties "
    "(completedBy, createdBy...), which a bare $ref cannot allow in OpenAPI 3.0",
}
_DT_PATTERN = (
    r"^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):"
    r"[0-5][0-9]:[0-5][0-9]([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$"
)
_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def csdl_complex_schema(name: str) -> dict[str, Any]:
    """An OpenAPI schema for a closed CSDL ComplexType of the planner subset."""
    root = ET.parse(CSDL_PATH).getroot()
    node = next(n for n in root.iter(f"{_EDM}ComplexType") if n.get("Name") == name)
    props: dict[str, Any] = {"@odata.type": {"type": "string"}}
    for prop in node.iter(f"{_EDM}Property"):
        edm = prop.get("Type", "")
        if edm == "Edm.String":
            schema: dict[str, Any] = {"type": "string", "nullable": True}
        elif edm == "Edm.Boolean":
            schema = {"type": "boolean", "nullable": True}
        elif edm == "Edm.DateTimeOffset":
            schema = {"type": "string", "pattern": _DT_PATTERN, "nullable": True}
        elif edm.startswith("graph."):
            schema = {"$ref": f"#/components/schemas/microsoft.graph.{edm[6:]}"}
        else:
            raise ValueError(f"unmapped EDM type {edm}")
        props[prop.get("Name", "")] = schema
    return {"type": "object", "properties": props, "additionalProperties": False}


def _relax(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("additionalProperties") == {"type": "object"}:
            node["additionalProperties"] = {}
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)


def _nullable_refs(schemas: dict[str, Any], node: Any) -> None:
    """Inline `$ref`s to object schemas as nullable copies (a bare $ref cannot be null)."""
    props: dict[str, Any] = (node.get("properties") or {}) if isinstance(node, dict) else {}
    for part in (node.get("allOf") or []) if isinstance(node, dict) else []:
        _nullable_refs(schemas, part)
    for name, prop in list(props.items()):
        ref = prop.get("$ref", "") if isinstance(prop, dict) else ""
        target = schemas.get(ref.rsplit("/", 1)[-1]) if set(prop) == {"$ref"} else None
        if target is not None and target.get("type") == "object":
            props[name] = {**copy.deepcopy(target), "nullable": True}
            _nullable_refs(schemas, props[name])


def patched_spec() -> dict[str, Any]:
    """Planner.yml with the SPEC_FIXES applied."""
    import yaml  # type: ignore[import-untyped]

    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    _relax(spec)
    values = {
        "microsoft.graph.plannerAssignments": csdl_complex_schema("plannerAssignment"),
        "microsoft.graph.plannerChecklistItems": csdl_complex_schema("plannerChecklistItem"),
        "microsoft.graph.plannerExternalReferences": csdl_complex_schema("plannerExternalReference"),
        "microsoft.graph.plannerAppliedCategories": {"type": "boolean"},
        "microsoft.graph.plannerUserIds": {"type": "boolean"},
        "microsoft.graph.plannerOrderHintsByAssignee": {"type": "string"},
    }
    for name, value_schema in values.items():
        # null removes an entry in a PATCH (Planner's documented way to delete one)
        schemas[name]["additionalProperties"] = {**copy.deepcopy(value_schema), "nullable": True}
    for schema in list(schemas.values()):
        _nullable_refs(schemas, schema)
    return spec


@functools.lru_cache(maxsize=1)
def planner_openapi() -> Any:
    """The corrected spec as an `openapi_core.OpenAPI` (loaded once per process)."""
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_dict(patched_spec(), config=Config(spec_validator_cls=None))


class _Req:
    def __init__(self, request: httpx.Request) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        url = urlsplit(str(request.url))
        self.host_url = "https://graph.microsoft.com"
        self.path = url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )
        self.content_type = request.headers.get("content-type", "").split(";")[0]
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


_PLANNER_PATH = re.compile(r"^/v1\.0/(planner/|groups/[^/]+/planner/|users/[^/]+/planner/|me/planner/)")


def is_planner_path(path: str) -> bool:
    """True for the paths Planner.yml describes."""
    return bool(_PLANNER_PATH.match(path)) and not path.startswith("/v1.0/me/")


def validate_exchange(response: httpx.Response, *, request_too: bool = False) -> None:
    """Raise if a Planner response (and optionally its request) does not match the spec.

    Error responses are validated too (against the ODataError schema)."""
    path = urlsplit(str(response.request.url)).path
    if not is_planner_path(path):
        return
    api = planner_openapi()
    if request_too:
        api.validate_request(_Req(response.request))
    if response.status_code == 204:
        return
    api.validate_response(_Req(response.request), _Resp(response))
