"""Bearer-PAT authentication and Asana's rate limits, as ASGI middleware.

https://developers.asana.com/docs/rate-limits : per token, 150 requests/minute on free
domains and 1,500/minute on paid ones; at most 50 concurrent GETs and 15 concurrent writes
(POST/PUT/PATCH/DELETE). Over a limit the API answers 429 with ``Retry-After`` (seconds).
Limits are ``runtime.limiters["requests" | "reads" | "writes"]`` so ``/_sim/limits`` can
change or disable them at runtime.

A batch (``POST /batch``, tag "Batch API" in asana_oas.yaml) "counts against both the
standard rate limiter and the concurrent request limiter as though you had made a separate
HTTP request for every individual action … The batch request itself incurs no cost. If any
of the actions in a batch request would exceed any of the enforced limits, the entire
request will fail with a 429". So the gate reads the batch's body (and replays it to the
app) to count its actions: one window hit per action (all recorded, as rejected requests
are), one concurrency slot per action held while the batch runs (GET actions are reads, the
others writes); any refusal answers 429 for the whole batch before any action runs. A body
that is not a valid batch counts as one write and reaches the route, which answers 400.
"""

from __future__ import annotations

import json
import math
from contextlib import AsyncExitStack

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.asana.api import API_PREFIX
from simulators.asana.models import AsanaApiError
from simulators.asana.routes_batch import BATCH_PATH, action_kinds
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
        kinds: list[str] | None = None
        if scope["method"] == "POST" and scope["path"].rstrip("/") == API_PREFIX + BATCH_PATH:
            body, receive = await _buffer(receive)
            kinds = action_kinds(body)
        if kinds is None:
            kinds = ["reads" if scope["method"] in ("GET", "HEAD", "OPTIONS") else "writes"]
        window = self.runtime.limiters["requests"]
        assert isinstance(window, WindowLimiter)
        # every hit is made (and recorded), also after one was refused
        waits = [w for w in [window.hit(token) for _ in kinds] if w is not None]
        if waits:
            retry = str(max(1, math.ceil(max(waits))))
            await _answer(send, AsanaApiError(429, TOO_MANY, headers={"Retry-After": retry}))
            return
        async with AsyncExitStack() as slots:
            for kind in kinds:
                gate = self.runtime.limiters[kind]
                assert isinstance(gate, ConcurrencyLimiter)
                if not await slots.enter_async_context(gate.slot(token)):
                    # leaving the stack gives back the slots already taken
                    await _answer(send, AsanaApiError(429, TOO_MANY, headers={"Retry-After": "1"}))
                    return
            scope.setdefault("state", {})["asana_user"] = user.gid
            token_var = CALLER.set(user.gid)
            try:
                await self.app(scope, receive, send)
            finally:
                CALLER.reset(token_var)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read a request's whole body; return it and a ``receive`` that replays it to the app."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return body, replay
