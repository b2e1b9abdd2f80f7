"""The one place that turns errors into RFC 9457 problem+json answers."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from functions.http_api.body_limit import BodyLimitMiddleware
from shared.errors import FerryError, TooManyRequestsError

log = logging.getLogger("ferry.api")
PROBLEM_JSON = "application/problem+json"

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid request"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_type(slug: str) -> str:
    return f"urn:ferry:problem:{slug}"


def problem(
    status: int, slug: str, title: str, detail: str | None = None, *, instance: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    # An oversized body is answered as a problem before any handler (or parser) sees it.
    app.add_middleware(BodyLimitMiddleware)

    @app.exception_handler(FerryError)
    async def ferry_error(request: Request, exc: FerryError) -> JSONResponse:
        headers = None
        if isinstance(exc, TooManyRequestsError):
            headers = {"Retry-After": str(max(1, int(round(exc.retry_after))))}
        if exc.status >= 500:
            log.error("request failed: %s", exc.slug, exc_info=exc)
            return problem(exc.status, exc.slug, exc.title, instance=request.url.path, headers=headers)
        extra = {k: v for k, v in exc.extra.items() if isinstance(v, (str, int, float, bool, list, dict))}
        if exc.status == 422 and "errors" not in extra and isinstance(extra.get("field"), str):
            # Every 422 names its failing fields the same way, whichever layer refused them.
            extra["errors"] = [{"field": extra["field"], "message": exc.detail}]
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="ferry"'}
        return problem(exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path, headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(e.get("loc", ())), "message": e.get("msg", "invalid"), "code": e.get("type")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "validation", "Invalid request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        if exc.status_code == 404 and detail in (None, "Not Found"):
            detail = f"no route {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(exc.status_code, slug, title, detail, instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Internals stay in the log (redacted); the client gets a correlation-free generic answer.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal", "Internal error", instance=request.url.path)
