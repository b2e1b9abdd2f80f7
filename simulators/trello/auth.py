"""Trello auth (``key`` + ``token`` query parameters or an ``Authorization: OAuth`` header),
the documented rate limits and Trello's error responses.

Rate limits (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/):
300 requests / 10 s per API key, 100 / 10 s per token, and ``/1/members/`` 100 / 900 s.
A refusal is a 429 with ``{"error":"API_TOKEN_LIMIT_EXCEEDED","message":"Rate limit exceeded"}``
(or ``API_KEY_LIMIT_EXCEEDED``). Trello documents no ``Retry-After``; it sends
``x-rate-limit-api-token-{interval-ms,max,remaining}`` and ``x-rate-limit-api-key-…``
headers, which are emitted here on every ``/1`` response.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.common import WindowLimiter
from simulators.trello.store import Member, TrelloStore

_OAUTH_RE = re.compile(r'(oauth_consumer_key|oauth_token)\s*=\s*"([^"]*)"')


class TrelloError(Exception):
    """An error Trello answers as ``text/plain`` (its usual style: ``invalid id`` etc.)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


NOT_FOUND = "The requested resource was not found."
KEY_429_ALLOWANCE = 200


def error_response(exc: TrelloError) -> Response:
    return PlainTextResponse(exc.text, status_code=exc.status)


async def trello_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TrelloError)
    return error_response(exc)


def make_limiters(runtime_clock: Any) -> dict[str, WindowLimiter]:
    """The three documented limits, keyed by the names ``/_sim/limits`` uses."""
    return {
        "token": WindowLimiter(100, 10.0, runtime_clock),
        "key": WindowLimiter(300, 10.0, runtime_clock),
        "members": WindowLimiter(100, 900.0, runtime_clock),
    }


def _credentials(scope: Scope) -> tuple[str | None, str | None, bool]:
    request = Request(scope)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("oauth"):
        found = dict(_OAUTH_RE.findall(header))
        return found.get("oauth_consumer_key"), found.get("oauth_token"), True
    return request.query_params.get("key"), request.query_params.get("token"), False


class TrelloAuthMiddleware:
    """Authenticates ``/1/*`` calls, applies the rate limits, adds the rate-limit headers."""

    def __init__(self, app: ASGIApp, store_ref: Any, limiters: dict[str, WindowLimiter]) -> None:
        self.app = app
        self.store_ref = store_ref  # callable returning the current TrelloStore
        self.limiters = limiters  # the same objects SimRuntime exposes at /_sim/limits
        key_l = limiters["key"]
        self._key_429s = WindowLimiter(KEY_429_ALLOWANCE, key_l.window_s, key_l.clock)
        self._key_blocked_until: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/1/"):
            await self.app(scope, receive, send)
            return
        store: TrelloStore = self.store_ref()
        key, token, via_header = _credentials(scope)
        is_download = "/download/" in scope["path"]
        # Attachment downloads need the Authorization header since Jan 2021
        # (https://community.developer.atlassian.com/t/update-authenticated-access-to-s3/43681).
        if is_download and not via_header:
            await PlainTextResponse("unauthorized", 401)(scope, receive, send)
            return
        if not key or key not in store.api_keys:
            await PlainTextResponse("invalid key", 401)(scope, receive, send)
            return
        if not token:
            await PlainTextResponse("unauthorized permission requested", 401)(scope, receive, send)
            return
        member: Member | None = store.member_by_token(token)
        if member is None:
            await PlainTextResponse("invalid token", 401)(scope, receive, send)
            return
        refusal = self._check_limits(scope["path"], key, token)
        headers = self._headers(key, token)
        if refusal is not None:
            body = json.dumps({"error": refusal, "message": "Rate limit exceeded"})
            resp = Response(body, 429, media_type="application/json", headers=headers)
            await resp(scope, receive, send)
            return
        scope.setdefault("state", {})["trello_member"] = member
        headers = self._headers(key, token)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                raw += [(k.encode(), v.encode()) for k, v in headers.items()]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _check_limits(self, path: str, key: str, token: str) -> str | None:
        key_l = self.limiters["key"]
        # "If an API key gets more than 200 429s, every request on that key returns 429 for
        # the rest of the 10 s window" (rate-limits guide): a key in the penalty box.
        now = key_l.clock.monotonic()
        if key_l.enabled and self._key_blocked_until.get(key, 0.0) > now:
            return "API_KEY_LIMIT_EXCEEDED"
        refusal = self._refusal(path, key, token)
        if refusal is None:
            return None
        if key_l.enabled and self._key_429s.hit(key) is not None:
            self._key_blocked_until[key] = now + key_l.window_s
        return refusal

    def _refusal(self, path: str, key: str, token: str) -> str | None:
        lim = self.limiters
        token_l, key_l, members_l = lim["token"], lim["key"], lim["members"]
        # Check everything before recording, so a refused request is not counted anywhere.
        if token_l.enabled and token_l.remaining(token) == 0:
            return "API_TOKEN_LIMIT_EXCEEDED"
        if key_l.enabled and key_l.remaining(key) == 0:
            return "API_KEY_LIMIT_EXCEEDED"
        is_members = path.startswith("/1/members/")
        if is_members and members_l.enabled and members_l.remaining(token) == 0:
            return "API_TOKEN_LIMIT_EXCEEDED"
        token_l.hit(token)
        key_l.hit(key)
        if is_members:
            members_l.hit(token)
        return None

    def _headers(self, key: str, token: str) -> dict[str, str]:
        lim = self.limiters
        t, k = lim["token"], lim["key"]
        return {
            "x-rate-limit-api-token-interval-ms": str(int(t.window_s * 1000)),
            "x-rate-limit-api-token-max": str(t.limit),
            "x-rate-limit-api-token-remaining": str(t.remaining(token)),
            "x-rate-limit-api-key-interval-ms": str(int(k.window_s * 1000)),
            "x-rate-limit-api-key-max": str(k.limit),
            "x-rate-limit-api-key-remaining": str(k.remaining(key)),
        }


def current_member(request: Request) -> Member:
    """The member the token belongs to (set by :class:`TrelloAuthMiddleware`)."""
    return request.state.trello_member


async def params(request: Request) -> dict[str, Any]:
    """Trello reads arguments from the query string and from a JSON or form body alike."""
    out: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if request.method in ("POST", "PUT") and "application/json" in ctype:
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise TrelloError(400, "invalid json") from exc
            if isinstance(body, dict):
                out.update(dict(body.items()))
    elif request.method in ("POST", "PUT") and ("form" in ctype):
        form = await request.form(max_part_size=1 << 30)
        for k, v in form.multi_items():
            out[k] = v  # UploadFile objects stay as they are
    return out
