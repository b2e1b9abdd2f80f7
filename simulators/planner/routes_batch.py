"""JSON batching: ``POST /v1.0/$batch`` (https://learn.microsoft.com/graph/json-batching).

Up to 20 requests in one call, each ``{id, method, url, headers?, body?, dependsOn?}`` with
``url`` relative to the version root. Each runs as if it were sent alone, with the batch's
``Authorization``: the same routes, validation, etags and throttling (Graph evaluates every
request of a batch against its limits, so a throttled one answers 429 with ``Retry-After``
in its own response; the batch itself is not a throttled request). Requests run in the order
given; one whose ``dependsOn`` request failed (status ≥ 400) is not run and answers 424. A
body needs a ``Content-Type`` header. The batch answers 200 with ``{"responses": [{id,
status, headers, body}]}``; malformed batches answer 400.

Requests inside a batch are counted apart from the calls the client made: ``/_sim/stats``
``by_route`` keys ``"$batch › METHOD /route"`` (``total`` counts the batch call once; a
throttled request inside still counts in ``throttled``). Fault rules (``/_sim/faults``) apply
to the batch call and to each request inside by its own method and path: ``status`` answers
that request with the rule's status, ``apply_then_status`` runs it first; a connection cannot
drop under one request of a batch, so ``drop`` / ``apply_then_drop`` answer it 504 there
(unrun / run).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from simulators.common import InnerAnswer, serve_inner
from simulators.planner.auth import check_token
from simulators.planner.errors import bad_request, graph_error_body
from simulators.planner.state import sim_state

router = APIRouter(prefix="/v1.0")

MAX_REQUESTS = 20
#: headers a request's answer carries in the batch answer, as Graph spells them
ANSWER_HEADERS = {h.lower(): h for h in ("ETag", "Retry-After", "Location", "Content-Type", "Preference-Applied")}
#: prefix of the stats route of a request served inside a batch
BATCHED = "$batch ›"
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


def _requests(body: Any) -> list[dict[str, Any]]:
    """The batch's requests, validated as Graph does before running any of them."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    items: list[dict[str, Any]] = body["requests"]
    if not items:
        raise bad_request("Invalid batch payload format.")
    if len(items) > MAX_REQUESTS:
        raise bad_request(f"Number of batch requests exceeds the maximum of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise bad_request("Invalid batch payload format.")
        rid, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(rid, str) or not rid or rid in seen:
            raise bad_request("Batch request ids must be unique non-empty strings.")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise bad_request(f"Invalid method in batch request '{rid}'.")
        if not isinstance(url, str) or not url or url.startswith(("http://", "https://")):
            raise bad_request(f"Batch request '{rid}' needs a URL relative to the version root.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or any(d not in seen for d in depends):
            raise bad_request(f"Batch request '{rid}' depends on a request that is not before it in the batch.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise bad_request(f"Invalid headers in batch request '{rid}'.")
        if "body" in item and not any(k.lower() == "content-type" for k in headers):
            raise bad_request(f"Content-Type header must be specified for the body of batch request '{rid}'.")
        seen.add(rid)
    return items


@router.post("/$batch")
async def batch(request: Request) -> JSONResponse:
    check_token(request)  # authenticated, but only the requests inside count against limits
    try:
        payload = await request.json()
    except ValueError as exc:
        raise bad_request("Invalid JSON in the request body.") from exc
    items = _requests(payload)
    status: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for item in items:
        rid = item["id"]
        failed = [d for d in item.get("dependsOn", []) if status[d] >= 400]
        if failed:
            status[rid] = 424
            out.append(
                {
                    "id": rid,
                    "status": 424,
                    "body": graph_error_body(request, "FailedDependency", f"Dependent request '{failed[0]}' failed."),
                }
            )
            continue
        answer = await _run(request, item)
        status[rid] = answer["status"]
        out.append(answer)
    return JSONResponse({"responses": out})


async def _run(outer: Request, item: dict[str, Any]) -> dict[str, Any]:
    """Serve one request of the batch through the app's own routes (faults applied)."""
    url = urlsplit(item["url"] if item["url"].startswith("/") else "/" + item["url"])
    method, path = item["method"].upper(), "/v1.0" + url.path
    runtime = sim_state(outer).runtime
    rule = runtime.faults.pick(method, path)
    if rule is not None:
        runtime.stats.faults_injected += 1
    if rule is not None and rule.kind in ("status", "drop"):
        status = rule.status if rule.kind == "status" else 504
        runtime.faults.note(method, path, rule, status)
        return _faulted(item["id"], rule, status)
    answer = await _serve(outer, item, method, path, url.query)
    if rule is not None and rule.kind in ("apply_then_status", "apply_then_drop"):
        status = rule.status if rule.kind == "apply_then_status" else 504
        runtime.faults.note(method, path, rule, status, answer["status"])
        return _faulted(item["id"], rule, status)
    return answer


def _faulted(rid: str, rule: Any, status: int) -> dict[str, Any]:
    try:
        body: Any = json.loads(rule.body)
    except ValueError:
        body = rule.body
    return {"id": rid, "status": status, "headers": {"Content-Type": "application/json", **rule.headers}, "body": body}


async def _serve(outer: Request, item: dict[str, Any], method: str, path: str, query: str) -> dict[str, Any]:
    headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    auth = outer.headers.get("authorization")
    if auth:
        headers["authorization"] = auth
    body = b""
    if "body" in item:
        body = json.dumps(item["body"]).encode()
        headers["content-length"] = str(len(body))
    try:
        sent = await serve_inner(outer, method, path, query.encode(), headers, body)
    except Exception:  # a route's own failure is that request's 500, as in Graph
        failure = json.dumps(graph_error_body(outer, "InternalServerError", "The request failed.")).encode()
        sent = InnerAnswer(status=500, headers={"content-type": "application/json"}, body=failure, scope={})
    route = sent.scope.get("route")
    stats = sim_state(outer).runtime.stats
    # Counted apart from the client's calls (``total`` counts the batch once); a throttled
    # request counts as a 429 all the same.
    stats.by_route[f"{BATCHED} {method} {getattr(route, 'path', path)}"][str(sent.status)] += 1
    if sent.status == 429:
        stats.by_status["429"] += 1
    answer: dict[str, Any] = {
        "id": item["id"],
        "status": sent.status,
        "headers": {ANSWER_HEADERS[k]: v for k, v in sent.headers.items() if k in ANSWER_HEADERS},
    }
    if sent.body:
        try:
            answer["body"] = json.loads(sent.body)
        except ValueError:
            answer["body"] = sent.body.decode(errors="replace")
    return answer
