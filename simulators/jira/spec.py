"""Validation of real exchanges against Jira Cloud's official OpenAPI description (tests only).

Reads ``vendor-api/jira/swagger-v3.trimmed.json`` (the operations Ferry uses, cut from
Atlassian's 2.4 MB ``swagger-v3.v3.json`` by ``vendor-api/jira/trim_spec.py``, definitions
unchanged), applies :data:`SPEC_FIXES` and validates httpx request/response pairs with
openapi-core. Requests through the OAuth 2.0 (3LO) gateway
(``/ex/jira/<cloudId>/rest/api/3/…``) are validated as the site path they stand for.
Simulator-only paths (``/_sim/*``, ``/_media/*``, ``/oauth/*``) are not part of the API.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).resolve().parents[2] / "vendor-api" / "jira" / "swagger-v3.trimmed.json"
API_HOST = "https://your-domain.atlassian.net"
_GATEWAY = re.compile(r"^/ex/jira/[0-9a-fA-F-]{36}(?=/rest/)")

#: Where the description disagrees with the API as documented in prose, and why.
SPEC_FIXES: dict[str, str] = {
    "GET /issue/{issueIdOrKey}/remotelink": "answers the list of the issue's remote links "
    "(the operation's own text: 'Returns the remote issue links for an issue'); the "
    "schema names one RemoteIssueLink",
    "format: date-time": "Jira answers timestamps as '2021-01-17T12:34:00.000+0000' (the "
    "examples in this same file show it): an offset without a colon, which RFC 3339's "
    "date-time does not admit; the format is dropped, the type (string) kept",
    "204 content": "a 204 (No Content) answer has no body (RFC 9110 §15.3.5); some "
    "operations (edit issue, transition) declare a JSON content for it: dropped",
    "POST /issue/{issueIdOrKey}/attachments": "the body is multipart/form-data with parts "
    "named 'file' (the operation's text); the schema types it as a JSON array of Spring "
    "MultipartFile objects, which no form can match: the request body is not validated",
}


def _array_of_remote_links(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/rest/api/3/issue/{issueIdOrKey}/remotelink"]["get"]
    media = op["responses"]["200"]["content"]["application/json"]
    media["schema"] = {"type": "array", "items": copy.deepcopy(media["schema"])}


def _drop_date_time_format(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            del node["format"]
        for value in node.values():
            _drop_date_time_format(value)
    elif isinstance(node, list):
        for value in node:
            _drop_date_time_format(value)


def _no_content_204(spec: dict[str, Any]) -> None:
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "204" in op.get("responses", {}):
                op["responses"]["204"].pop("content", None)


@functools.lru_cache(maxsize=1)
def load_spec() -> OpenAPI:
    """The trimmed description with the fixes applied (parsed once per process)."""
    raw: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    _array_of_remote_links(raw)
    _drop_date_time_format(raw)
    _no_content_204(raw)
    # examples in Atlassian's file fail strict checks (vendor quirk): skip the spec check
    return OpenAPI.from_dict(raw, config=Config(spec_validator_cls=None))


def is_vendor_path(path: str) -> bool:
    """True for ``/rest/api/3/…`` paths, on the site or through the 3LO gateway."""
    return _GATEWAY.sub("", path).startswith("/rest/api/3/")


class _Req:
    """openapi-core request protocol over an ``httpx.Request``."""

    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        self.host_url = API_HOST
        self.path = _GATEWAY.sub("", url.path)
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
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))
        self.data = response.content


def validate_response(response: httpx.Response) -> None:
    """Raise if ``response`` (to a vendor path) does not match the description."""
    load_spec().validate_response(_Req(response.request), _Resp(response))


def validate_request(request: httpx.Request) -> None:
    """Raise if ``request`` does not match the description (uploads: see SPEC_FIXES)."""
    if request.method == "POST" and _GATEWAY.sub("", request.url.path).endswith("/attachments"):
        return
    load_spec().validate_request(_Req(request))
