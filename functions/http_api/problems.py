"""The one place that turns errors into RFC 9457 problem+json answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from functions.http_api.body_limit import BodyLimitMiddleware
from functions.http_api.request_limits import RequestLimitsMiddleware
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
    414: ("uri-too-long", "URI too long"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid request"),
    429: ("too-many-requests", "Too many requests"),
    431: ("header-fields-too-large", "Request header fields too large"),
}


def problem_type(slug: str) -> str:
    return f"urn:ferry:problem:{slug}"


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
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


#: The methods a 405's `Allow` may name (those the Functions trigger takes).
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Mapping[str, Any]) -> list[str]:
    """Every method some route of `app` takes on this request's path, asked of each route as
    a request with that method. Starlette's own 405 names the methods of the first route whose
    path matched, so `PUT /api/orgs/{id}` was told `Allow: GET` although another router takes
    DELETE on the same path."""
    routes = list(getattr(app, "routes", ()))
    return [
        m
        for m in _METHODS
        if any(route.matches({**scope, "type": "http", "method": m})[0] is Match.FULL for route in routes)
    ]


def install_problem_handlers(app: FastAPI) -> None:
    # An oversized body is answered as a problem before any handler (or parser) sees it, and
    # so is an oversized query string or header block (the last added runs first).
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestLimitsMiddleware)
    # No "/api/me/" → 307 to "/api/me": Starlette builds that Location from the Host header, so
    # a forged Host made Ferry redirect a client to any site. An unrouted path, with or without
    # a trailing slash, is a 404 problem like any other.
    app.router.redirect_slashes = False

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
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request.app, request.scope))
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"
            headers = {**(headers or {}), "Allow": allow}
        return problem(exc.status_code, slug, title, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Internals stay in the log (redacted); the client gets a correlation-free generic answer.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal", "Internal error", instance=request.url.path)
