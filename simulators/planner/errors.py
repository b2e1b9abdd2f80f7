"""Error bodies as Microsoft Graph and Entra ID (AAD) send them.

Graph: `{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`
(https://learn.microsoft.com/graph/errors). Entra ID token endpoint: a flat OAuth 2.0 body with
`error`, `error_description` ("AADSTSnnnn: ..."), `error_codes`, `timestamp`, `trace_id`,
`correlation_id`, `error_uri`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class GraphError(Exception):
    """Raised by routes; rendered as a Graph error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        inner: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.inner = inner or {}


def not_found(message: str = "The requested item is not found.") -> GraphError:
    # Planner answers 404 with an empty code; directory objects use Request_ResourceNotFound.
    return GraphError(404, "", message)


def directory_not_found(key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def limit_exceeded(limit_code: str, message: str) -> GraphError:
    """Planner answers 403 when a service limit is hit; `code` names the limit."""
    return GraphError(403, limit_code, message)


def graph_error_body(request: Request, code: str, message: str, **inner: Any) -> dict[str, Any]:
    """The JSON body of a Graph error."""
    request_id = str(uuid.uuid4())
    inner_error: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": request.headers.get("client-request-id", request_id),
    }
    inner_error.update(inner)
    return {"error": {"code": code, "message": message, "innerError": inner_error}}


async def graph_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for GraphError."""
    assert isinstance(exc, GraphError)
    return JSONResponse(
        graph_error_body(request, exc.code, exc.message, **exc.inner),
        status_code=exc.status,
        headers=exc.headers,
    )


class AadError(Exception):
    """Raised by the token endpoint; rendered as an Entra ID OAuth error."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description


async def aad_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for AadError."""
    assert isinstance(exc, AadError)
    trace_id = str(uuid.uuid4())
    correlation_id = request.headers.get("client-request-id", str(uuid.uuid4()))
    now = datetime.now(UTC)
    description = (
        f"AADSTS{exc.aadsts}: {exc.description}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}"
    )
    body = {
        "error": exc.error,
        "error_description": description,
        "error_codes": [exc.aadsts],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={exc.aadsts}",
    }
    return JSONResponse(body, status_code=exc.status)
