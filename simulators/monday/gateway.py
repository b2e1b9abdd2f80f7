"""The ``/v2`` endpoint: request parsing, operation tagging, auth, limits and execution.

Two ASGI layers:

* :class:`OperationTagger` (outermost, outside the ``/_sim`` fault middleware) reads the
  request — JSON or a GraphQL multipart upload — and rewrites the path the rest of the stack
  sees to ``/v2[/file]/<query|mutation>/<root fields joined by +>``, e.g.
  ``/v2/mutation/create_item``. That is what makes the common fault plans work on a
  one-endpoint API: ``{"kind": "apply_then_drop", "path": "/v2/mutation/create_item$"}`` hits
  item creation only, and ``/_sim/stats`` counts requests per operation.
* :class:`MondayGate` (inside the fault middleware) authenticates, applies the limits and
  executes the operation against the official schema.

Auth: ``Authorization: <API token>`` (monday's documented form; a ``Bearer`` prefix is
accepted too). Missing or unknown tokens answer 401.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
from graphql import GraphQLError, OperationType, execute
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.common import ConcurrencyLimiter, SimRuntime, WindowLimiter
from simulators.monday.complexity import MAX_QUERY_COMPLEXITY, ComplexityBudget, query_complexity
from simulators.monday.context import Charge, RequestContext
from simulators.monday.errors import transport_error
from simulators.monday.files import UploadedFile, UploadTooLarge, apply_map, parse_operations, spool
from simulators.monday.schema import (
    load_schema,
    parse_document,
    root_field_names,
    select_operation,
    validation_errors,
)
from simulators.monday.store import ACCOUNT_ID, MondayStore

GRAPHQL_PATHS = ("/v2", "/v2/file")
PAYLOAD_KEY = "monday_payload"


@dataclass
class Payload:
    """One request's operation (or why it has none)."""

    query: str = ""
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    files: tuple[UploadedFile, ...] = ()
    error: str | None = None


async def _read_payload(scope: Scope, receive: Receive, upload_dir: str) -> Payload:
    request = Request(scope, receive)
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("multipart/form-data"):
            return await _read_multipart(request, upload_dir)
        raw = await request.body()
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            return Payload(error="the request body must be a JSON object")
        variables = body.get("variables")
        if isinstance(variables, str):  # monday's playground sends variables as a string
            variables = json.loads(variables or "{}")
        return Payload(str(body.get("query") or ""), variables or {}, body.get("operationName"))
    except (ValueError, UnicodeDecodeError) as exc:
        return Payload(error=f"invalid request body: {exc}")


async def _read_multipart(request: Request, upload_dir: str) -> Payload:
    form = await request.form(max_files=20, max_fields=50)
    try:
        texts = {k: v for k, v in form.items() if isinstance(v, str)}
        query, variables, op_name = parse_operations(texts)
        files: dict[str, UploadedFile] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await anyio.to_thread.run_sync(
                    spool,
                    upload_dir,
                    value.file,
                    value.filename or key,
                    value.content_type or "application/octet-stream",
                )
        mapping = json.loads(texts.get("map") or "{}")
        if not mapping and len(files) == 1:
            mapping = {next(iter(files)): "variables.file"}
        apply_map(variables, mapping, files)
        return Payload(query, variables, op_name, tuple(files.values()))
    except UploadTooLarge as exc:
        return Payload(error=f"file {exc} is too large")
    finally:
        await form.close()


def _tag(path: str, payload: Payload) -> str:
    if payload.error or not payload.query:
        return f"{path}/invalid"
    try:
        op = select_operation(parse_document(payload.query), payload.operation_name)
    except GraphQLError:
        return f"{path}/invalid"
    if op is None:
        return f"{path}/invalid"
    # ``complexity`` rides along with many operations: it does not name them
    fields = [f for f in root_field_names(op) if f != "complexity"] or root_field_names(op)
    return f"{path}/{op.operation.value}/{'+'.join(fields) or 'none'}"


class OperationTagger:
    """Outermost layer: parse the request once, tag its path with the operation."""

    def __init__(self, app: ASGIApp, upload_dir: str) -> None:
        self.app = app
        self.upload_dir = upload_dir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in GRAPHQL_PATHS:
            await self.app(scope, receive, send)
            return
        payload = await _read_payload(scope, receive, self.upload_dir)
        tagged = _tag(scope["path"], payload)
        inner = dict(scope, path=tagged, raw_path=tagged.encode())
        inner["state"] = {**scope.get("state", {}), PAYLOAD_KEY: payload}
        sent_body = False

        async def replay() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return await receive()

        try:
            await self.app(inner, replay, send)
        finally:  # parts no mutation took (taken ones were moved under the store)
            await anyio.to_thread.run_sync(_discard, [up.path for up in payload.files])


def _discard(paths: list[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


async def _json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    raw = json.dumps(body).encode()
    hdrs = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(raw)).encode())]
    hdrs += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": raw})


def _token(scope: Scope) -> str:
    auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").strip()
    return auth[7:].strip() if auth.lower().startswith("bearer ") else auth


def _error_dict(err: GraphQLError) -> dict[str, Any]:
    out = err.formatted
    if "extensions" not in out:
        out["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return dict(out)


class MondayGate:
    """Auth, limits and execution of ``/v2`` operations (tagged paths)."""

    def __init__(self, app: ASGIApp, store: MondayStore, runtime: SimRuntime, cursors: Any, signer: Any) -> None:
        self.app = app
        self.store = store
        self.runtime = runtime
        self.cursors = cursors
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        payload = scope.get("state", {}).get(PAYLOAD_KEY)
        if scope["type"] != "http" or not isinstance(payload, Payload):
            await self.app(scope, receive, send)
            return
        user = self.store.user_by_token(_token(scope))
        if user is None:
            await _json(send, 401, transport_error("Not Authenticated", "UNAUTHENTICATED", status_code=401))
            return
        ip = (scope.get("client") or ("unknown", 0))[0]
        ip_limit = self.runtime.limiters["ip"]
        assert isinstance(ip_limit, WindowLimiter)
        wait = ip_limit.hit(ip)
        if wait is not None:
            retry = max(1, math.ceil(wait))
            await _json(
                send,
                429,
                transport_error("IP rate limit exceeded", "IP_RATE_LIMIT_EXCEEDED", retry_in_seconds=retry),
                {"Retry-After": str(retry)},
            )
            return
        if payload.error:
            await _json(send, 400, transport_error(payload.error, "BAD_REQUEST", status_code=400))
            return
        gate = self.runtime.limiters["concurrency"]
        assert isinstance(gate, ConcurrencyLimiter)
        async with gate.slot("account") as ok:
            if not ok:
                await _json(
                    send,
                    429,
                    transport_error("Concurrency limit exceeded", "maxConcurrencyExceeded", retry_in_seconds=1),
                    {"Retry-After": "1"},
                )
                return
            status, body, headers = self._run(payload, user, _token(scope), scope)
            await _json(send, status, body, headers)

    def _run(self, payload: Payload, user: Any, token: str, scope: Scope) -> tuple[int, dict[str, Any], dict[str, str]]:
        request_id = str(uuid.uuid4())
        base = {"account_id": ACCOUNT_ID, "extensions": {"request_id": request_id}}
        if not payload.query.strip():
            return 400, transport_error("No query string was present", "BAD_REQUEST", status_code=400), {}
        try:
            document = parse_document(payload.query)
        except GraphQLError as exc:
            return 200, {"errors": [{**_error_dict(exc), "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}], **base}, {}
        problems = validation_errors(document)
        if problems:
            return (
                200,
                {
                    "errors": [
                        {**_error_dict(e), "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in problems
                    ],
                    **base,
                },
                {},
            )
        op = select_operation(document, payload.operation_name)
        if op is None:
            return (
                200,
                {
                    "errors": [
                        {"message": "Unknown or ambiguous operation name", "extensions": {"code": "BAD_REQUEST"}}
                    ],
                    **base,
                },
                {},
            )
        schema = load_schema()
        fragments = {d.name.value: d for d in document.definitions if d.__class__.__name__ == "FragmentDefinitionNode"}
        try:
            cost = query_complexity(schema, op, fragments, payload.variables or {})
        except GraphQLError as exc:  # bad variable values: execute reports them the same way
            return 200, {"errors": [_error_dict(exc)], **base}, {}
        if cost > MAX_QUERY_COMPLEXITY:
            return (
                200,
                {
                    "errors": [
                        {
                            "message": f"Query has complexity of {cost}, which "
                            f"exceeds max complexity of "
                            f"{MAX_QUERY_COMPLEXITY}",
                            "extensions": {
                                "code": "maxComplexityExceeded",
                                "complexity": cost,
                                "maxComplexity": MAX_QUERY_COMPLEXITY,
                            },
                        }
                    ],
                    **base,
                },
                {},
            )
        budget = self.runtime.limiters["complexity"]
        assert isinstance(budget, ComplexityBudget)
        ok, before, after, reset_in = budget.charge(token, cost)
        if not ok:
            return (
                429,
                transport_error(
                    "Complexity budget exhausted", "COMPLEXITY_BUDGET_EXHAUSTED", retry_in_seconds=reset_in
                ),
                {"Retry-After": str(reset_in)},
            )
        host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode("latin-1")
        ctx = RequestContext(
            self.store,
            user,
            f"{scope.get('scheme', 'http')}://{host}",
            self.cursors,
            self.signer,
            Charge(cost, before, after, reset_in),
        )
        from simulators.monday.mutations import mutation_root
        from simulators.monday.queries import query_root

        root = mutation_root(self.store) if op.operation is OperationType.MUTATION else query_root(self.store)
        with self.store.lock:
            result = execute(
                schema,
                document,
                root_value=root,
                context_value=ctx,
                variable_values=payload.variables,
                operation_name=payload.operation_name,
            )
        if hasattr(result, "__await__"):  # pragma: no cover - every resolver is synchronous
            raise RuntimeError("asynchronous resolver")
        body: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            body["errors"] = [_error_dict(e) for e in result.errors]  # type: ignore[union-attr]
        return 200, {**body, **base}, {}
