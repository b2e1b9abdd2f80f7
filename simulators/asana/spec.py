"""Validation of real exchanges against Asana's official OpenAPI description (tests only).

``asana_oas.yaml`` is 3 MB: it is parsed once per process (``load_spec`` is cached) and
pruned to the resources the simulator serves, which makes ``openapi-core`` instant.
Requests are presented to the validator as if they were sent to
``https://app.asana.com/api/1.0`` (the spec's server), whatever host the test used.
Simulator-only paths (``/_sim/*``, ``/_downloads/*``) are not part of the vendor API.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_ENV = "FERRY_VENDOR_API_DIR"
SERVED_PREFIXES = (
    "/users",
    "/workspaces",
    "/projects",
    "/sections",
    "/tasks",
    "/stories",
    "/attachments",
    "/tags",
    "/custom_fields",
    "/batch",
)
API_HOST = "https://app.asana.com"


def spec_path() -> Path:
    """``asana_oas.yaml`` under ``$FERRY_VENDOR_API_DIR`` or the repository's ``vendor-api``."""
    root = os.environ.get(SPEC_ENV)
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "vendor-api"
    return base / "asana" / "asana_oas.yaml"


@functools.lru_cache(maxsize=1)
def load_spec() -> OpenAPI:
    """The pruned, parsed spec (cached for the process)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open(encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.load(fh, Loader=loader)
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith(SERVED_PREFIXES)}
    # The spec itself is valid (openapi-spec-validator 0.9.0); skip re-checking 3 MB each run.
    return OpenAPI.from_dict(_str_keys(raw), config=Config(spec_validator_cls=None))


_CUSTOM_VALUES = "An object where each key is the GID of a custom field"


def _str_keys(node: Any) -> Any:
    """Normalise the parsed YAML for openapi-core.

    - YAML reads response codes (``200:``) as ints; OpenAPI wants string keys.
    - Task ``custom_fields`` values are typed as strings against their own description
      (numbers and date objects are documented values): they are left untyped.
    - Vendor quirk: nullable references are written ``allOf: [$ref X, {nullable: true}]``
      (e.g. ``TaskResponse.assignee``, ``parent``, ``completed_by``). Read strictly under
      OAS 3.0 that never admits null (the ``$ref``'d schema is not nullable), yet the API
      answers null there and the descriptions say "or null". Such a schema is rewritten
      to ``anyOf: [<the allOf>, null]``, which is what it means.
    """
    if isinstance(node, list):
        return [_str_keys(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {str(k): _str_keys(v) for k, v in node.items()}
    if str(out.get("description", "")).lstrip().startswith(_CUSTOM_VALUES):
        # Task ``custom_fields`` on create/update: the text says a value is "either an enum
        # GID, string, number, or object (depending on the custom field type)" (a date is
        # {"date": …}), but the schema types every value as a string: any value passes here.
        out["additionalProperties"] = {}
    parts = out.get("allOf")
    if isinstance(parts, list) and any(isinstance(p, dict) and p.get("nullable") for p in parts):
        rest = {k: v for k, v in out.items() if k != "allOf"}
        return {**rest, "anyOf": [{"allOf": parts}, {"enum": [None]}]}
    return out


class _Req:
    """openapi-core request protocol over an ``httpx.Request``."""

    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        self.host_url = API_HOST
        self.path = url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query, keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict({}),
        )
        self.content_type = request.headers.get("content-type", "")
        try:
            self.body: bytes | None = request.content or None
        except httpx.RequestNotRead:
            self.body = None


class _Resp:
    """openapi-core response protocol over an ``httpx.Response`` (already read)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))
        self.data = response.content


def is_vendor_path(path: str) -> bool:
    """True for ``/api/1.0/...`` paths (the rest are simulator-only)."""
    return path.startswith("/api/1.0/")


def validate_response(response: httpx.Response) -> None:
    """Raise if ``response`` (to a vendor path) does not match the spec."""
    load_spec().validate_response(_Req(response.request), _Resp(response))


def validate_request(request: httpx.Request) -> None:
    """Raise if ``request`` (parameters, body, security) does not match the spec."""
    load_spec().validate_request(_Req(request))
