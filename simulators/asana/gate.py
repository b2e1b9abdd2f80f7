"""Bearer-PAT authentication and Asana's rate limits, as ASGI middleware.

https://developers.asana.com/docs/rate-limits : per token, 150 requests/minute on free
domains and 1,500/minute on paid ones; at most 50 concurrent GETs and 15 concurrent writes
(POST/PUT/PATCH/DELETE). Over a limit the API answers 429 with ``Retry-After`` (seconds).
Limits are ``runtime.limiters["requests" | "reads" | "writes"]`` so ``/_sim/limits`` can
change or disable them at runtime.
"""

from __future__ import annotations

import json
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.asana.api import API_PREFIX
from simulators.asana.models import AsanaApiError
from simulators.asana.store import CALLER, AsanaStore
from simulators.common import ConcurrencyLimiter, SimClock, SimRuntime, WindowLimiter

PLANS = {"free": 150, "paid": 1500}
TOO_MANY = "You have made too many requests recently. Please, be chill."


class CountingWindowLimiter(WindowLimiter):
    """Asana counts rejected requests against the quota too ("Rejected requests still
    count", rate-limits page), so a client that keeps retrying early stays blocked."""

    def hit(self, key: str) -> float | None:
        if not self.enabled:
            return None
        with self._lock:
            now = self.clock.monotonic()
            q = self._trim(key, now)
            q.append(now)
            if len(q) <= self.limit:
                return None
            # allowed again once all but limit-1 of the recorded hits left the window
            return max(0.0, q[len(q) - self.limit] + self.window_s - now)


def make_limiters(plan: str, clock: SimClock) -> dict[str, WindowLimiter | ConcurrencyLimiter]:
    """The three documented limits for ``plan`` ("free" or "paid")."""
    return {
        "requests": CountingWindowLimiter(PLANS[plan], 60.0, clock),
        "reads": ConcurrencyLimiter(50),
        "writes": ConcurrencyLimiter(15),
    }


async def _answer(send: Send, err: AsanaApiError) -> None:
    body = json.dumps(err.body()).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AsanaGate:
    """Authenticates ``/api/1.0/*`` calls and applies the per-token limits."""

    def __init__(self, app: ASGIApp, store: AsanaStore, runtime: SimRuntime) -> None:
        self.app = app
        self.store = store
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        user = self.store.user_by_token(token) if token else None
        if user is None:
            await _answer(send, AsanaApiError(401, "Not Authorized"))
            return
        window = self.runtime.limiters["requests"]
        assert isinstance(window, WindowLimiter)
        wait = window.hit(token)
        if wait is not None:
            retry = str(max(1, math.ceil(wait)))
            await _answer(send, AsanaApiError(429, TOO_MANY, headers={"Retry-After": retry}))
            return
        kind = "reads" if scope["method"] in ("GET", "HEAD", "OPTIONS") else "writes"
        gate = self.runtime.limiters[kind]
        assert isinstance(gate, ConcurrencyLimiter)
        async with gate.slot(token) as ok:
            if not ok:
                await _answer(send, AsanaApiError(429, TOO_MANY, headers={"Retry-After": "1"}))
                return
            scope.setdefault("state", {})["asana_user"] = user.gid
            token_var = CALLER.set(user.gid)
            try:
                await self.app(scope, receive, send)
            finally:
                CALLER.reset(token_var)
