"""Asana's Batch API: ``POST /batch`` (tag "Batch API", schemas ``BatchRequest``,
``BatchRequestAction``, ``BatchResponse`` and path ``/batch`` in asana_oas.yaml).

One call carries ``{"data": {"actions": [...]}}``, at most 10 actions, each "a standard
request to an existing endpoint": ``relative_path`` (no query string: "put them in ``data``
instead"), ``method``, ``data`` (the query parameters of a GET, the body's ``data`` envelope
of a POST/PUT/PATCH) and ``options`` (``fields`` = ``opt_fields``, ``limit``/``offset`` =
pagination; in ``data`` they are refused: "Options and pagination are not accepted here").
Each action runs through the simulator's own routes as if it had been sent alone, with the
batch's user: same validation, store, ``opt_fields`` and pagination. The answer is 200
``{"data": [{status_code, headers, body}]}`` in the order of the actions, even when every
action failed; no actions, more than 10, malformed JSON → the whole call 400.
Uploading attachments and nested batches are refused per action with 400, as the spec says.
Asana runs the actions in parallel with no order guarantee; the simulator runs them one
after the other in the order given (a client must not rely on that).

Rate limits are not applied here but by the gate (``gate.py``), which counts a batch as one
request per action before the batch starts (the spec's "Rate limiting" section).

Actions are counted apart from the calls the client made: ``/_sim/stats`` ``by_route`` keys
``"batch › METHOD /api/1.0/route"`` (``total`` counts the batch call once). Fault rules
(``/_sim/faults``) apply to the batch call itself (through ``SimControls``) and to each
action by its own method and path: ``status`` answers the action with the rule's status
without running it, ``apply_then_status`` runs it first; a connection cannot drop under one
action of a batch, so ``drop`` / ``apply_then_drop`` answer that action 504 (unrun / run).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from simulators.asana.api import API_PREFIX, CtxDep, data_of
from simulators.asana.models import AsanaApiError, bad_request
from simulators.common import FaultRule, InnerAnswer, SimRuntime, serve_inner

router = APIRouter()

BATCH_PATH = "/batch"
MAX_ACTIONS = 10
METHODS = frozenset({"get", "post", "put", "delete", "patch", "head"})
#: actions whose ``data`` is query parameters (the rest send it as the body's ``data``)
QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
#: headers of an action's answer that its result carries ("primarily … ``Location``")
RESULT_HEADERS = ("location", "retry-after")
#: prefix of the stats route of an action served inside a batch
BATCHED = "batch ›"
#: ``POST /attachments`` (and the deprecated per-task form): uploads are refused in a batch
_UPLOAD = re.compile(r"^(/tasks/[^/]+)?/attachments/?$")
_OPTIONS_IN_DATA = ("opt_fields", "opt_pretty", "limit", "offset")


def batch_actions(raw: bytes) -> list[Any]:
    """The ``actions`` of a batch body, or the 400 that fails the whole call."""
    actions = data_of(raw).get("actions")
    if not isinstance(actions, list):
        raise bad_request("actions: Missing input")
    if not actions:
        raise bad_request("actions: A batch request needs at least one action")
    if len(actions) > MAX_ACTIONS:
        raise bad_request(f"actions: A batch request may contain at most {MAX_ACTIONS} actions, not {len(actions)}")
    return actions


def action_kinds(raw: bytes) -> list[str] | None:
    """The limiter each action of a batch body counts against (``"reads"`` for GET/HEAD,
    ``"writes"`` for the rest, invalid methods included), or None for a body that is not a
    valid batch (it answers 400 as a whole)."""
    try:
        actions = batch_actions(raw)
    except AsanaApiError:
        return None
    return [
        "reads" if isinstance(a, dict) and str(a.get("method", "")).lower() in ("get", "head") else "writes"
        for a in actions
    ]


@router.post(BATCH_PATH)
async def batch(request: Request, ctx: CtxDep) -> JSONResponse:
    actions = batch_actions(await request.body())
    results = [await _run(request, action) for action in actions]
    if ctx.opt_fields is not None:  # opt_fields of /batch itself: body, headers, status_code
        results = [{k: v for k, v in r.items() if k in ctx.opt_fields} for r in results]
    return JSONResponse({"data": results})


# --- one action ------------------------------------------------------------------------------


def _query_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ",".join(str(v) for v in value)
    raise bad_request(f"data.{name}: Not a query parameter value")


def _prepare(action: Any) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
    """``(METHOD, relative path, query, body)`` of an action, or its own 400."""
    if not isinstance(action, dict):
        raise bad_request("action: Not an object")
    method, path = action.get("method"), action.get("relative_path")
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise bad_request(f"method: Not a valid enum value: {method}")
    if not isinstance(path, str) or not path:
        raise bad_request("relative_path: Missing input")
    if not path.startswith("/"):
        raise bad_request(f"relative_path: Not a path relative to the API root: {path}")
    if "?" in path or "#" in path:
        raise bad_request("relative_path: Query parameters are not accepted here; put them in data instead")
    method = method.upper()
    if path.rstrip("/") == BATCH_PATH or path.startswith(BATCH_PATH + "/"):
        raise bad_request("Nested calls to the batch API are not allowed")
    if method == "POST" and _UPLOAD.match(path):
        raise bad_request("Uploading attachments is not allowed in a batch request")
    data, options = action.get("data"), action.get("options")
    if data is not None and not isinstance(data, dict):
        raise bad_request("data: Not an object")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise bad_request("options: Not an object")
    query: list[tuple[str, str]] = []
    body: bytes | None = None
    if method in QUERY_METHODS:
        for name, value in (data or {}).items():
            if name in _OPTIONS_IN_DATA:
                raise bad_request(f"data.{name}: Options and pagination are not accepted here; put them in options")
            if value is not None:
                query.append((name, _query_value(name, value)))
    elif data is not None:
        body = json.dumps({"data": data}).encode()
    fields = options.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise bad_request("options.fields: Not a list of field names")
        query.append(("opt_fields", ",".join(fields)))
    for name in ("limit", "offset"):
        if options.get(name) is not None:
            query.append((name, _query_value(f"options.{name}", options[name])))
    return method, path, query, body


async def _run(outer: Request, action: Any) -> dict[str, Any]:
    """Serve one action through the app's own routes (fault rules applied) → its result."""
    runtime: SimRuntime = outer.app.state.sim
    try:
        method, rel_path, query, body = _prepare(action)
    except AsanaApiError as err:
        result = _result(err.status, {}, err.body())
        method, rel_path = _named(action)
        path = API_PREFIX + rel_path
    else:
        path = API_PREFIX + rel_path
        rule = runtime.faults.pick(method, path)
        if rule is not None:
            runtime.stats.faults_injected += 1
        if rule is not None and rule.kind in ("status", "drop"):
            result = _faulted(rule)
            runtime.faults.note(method, path, rule, result["status_code"])
        else:
            result = await _serve(outer, method, path, query, body)
            if rule is not None and rule.kind in ("apply_then_status", "apply_then_drop"):
                served = result["status_code"]
                result = _faulted(rule)
                runtime.faults.note(method, path, rule, result["status_code"], served)
    # counted apart from the client's calls, under the status the action's result carries
    runtime.stats.by_route[f"{BATCHED} {method} {_route_template(outer, method, path)}"][
        str(result["status_code"])
    ] += 1
    return result


def _named(action: Any) -> tuple[str, str]:
    """Method and relative path of an action refused before it ran, as far as it has them."""
    fields = action if isinstance(action, dict) else {}
    method, path = fields.get("method"), fields.get("relative_path")
    return (method.upper() if isinstance(method, str) else "?"), (path if isinstance(path, str) else "?")


def _result(status: int, headers: dict[str, str], body: Any) -> dict[str, Any]:
    return {"status_code": status, "headers": headers, "body": body}


def _faulted(rule: FaultRule) -> dict[str, Any]:
    """The result an action gets from a fault rule (504 for the ``drop`` kinds)."""
    headers = {k.lower(): v for k, v in rule.headers.items()}
    if rule.kind in ("drop", "apply_then_drop"):
        err = AsanaApiError(504, "The connection was lost before this action was answered (simulated)")
        return _result(504, headers, err.body())
    try:
        body: Any = json.loads(rule.body)
    except ValueError:
        body = AsanaApiError(rule.status, rule.body).body()
    return _result(rule.status, headers, body)


def _route_template(outer: Request, method: str, path: str) -> str:
    """The route template an action's path matches (``/api/1.0/tasks/{task_gid}``), else
    the path itself; looked up in the API routers, also for actions that did not run."""
    rel = {"type": "http", "method": method, "path": path[len(API_PREFIX) :], "root_path": ""}
    for api_router in outer.app.state.asana_api_routers:
        for route in api_router.routes:
            if isinstance(route, APIRoute) and route.matches(rel)[0] is Match.FULL:
                return API_PREFIX + route.path
    return path


async def _serve(
    outer: Request, method: str, path: str, query: list[tuple[str, str]], body: bytes | None
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name in ("authorization", "host"):
        if name in outer.headers:
            headers[name] = outer.headers[name]
    if body is not None:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body))
    failure: AsanaApiError | None = None
    sent = InnerAnswer(status=500, headers={}, body=b"", scope={})
    try:
        sent = await serve_inner(outer, method, path, urlencode(query).encode(), headers, body or b"")
    except StarletteHTTPException as exc:  # no such route or method: answered like the API
        failure = AsanaApiError(exc.status_code, str(exc.detail))
    except AsanaApiError as exc:
        failure = exc
    except Exception:  # a route's own failure is that action's 500
        failure = AsanaApiError(500, "Server Error")
    if failure is not None:
        sent = InnerAnswer(status=failure.status, headers={}, body=json.dumps(failure.body()).encode(), scope={})
    answer: Any = None
    if sent.body:
        try:
            answer = json.loads(sent.body)
        except ValueError:
            answer = sent.body.decode(errors="replace")
    kept = {k: v for k, v in sent.headers.items() if k in RESULT_HEADERS}
    return _result(sent.status, kept, answer)
