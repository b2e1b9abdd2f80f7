"""Authentication and Jira Cloud's rate limits, as ASGI middleware.

Auth (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/ and
…/oauth-2-3lo-apps/):

- on the site (``https://<site>.atlassian.net/rest/api/3/…``): HTTP basic with the account's
  e-mail and an API token;
- through the OAuth 2.0 (3LO) gateway (``https://api.atlassian.com/ex/jira/<cloudId>/rest/api/3/…``):
  ``Authorization: Bearer <access token>`` from ``POST /oauth/token`` (see ``oauth.py``).

A request without valid credentials is answered 401 in Jira's ErrorCollection shape.

Rate limits (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/, "Last
updated Mar 5, 2026"): three independent systems; this simulator enforces the two that
apply to API-token traffic —

- **burst** (``jira-burst-based``): per-second request limits per tenant and per API,
  token buckets that allow a short burst above the steady rate. The page publishes no
  numbers; the defaults here (``BURST``) are the simulator's, changeable through
  ``/_sim/limits`` (limiters ``burst_read`` and ``burst_write``);
- **per-issue writes** (``jira-per-issue-on-write``): writes to one issue (the issue itself,
  its comments, attachments, transitions, remote links) within a short and a longer window
  (``PER_ISSUE``: limiters ``issue_write_short`` and ``issue_write_long``).

A refused request gets 429 with ``Retry-After`` (whole seconds), ``X-RateLimit-Limit``,
``X-RateLimit-Remaining: 0``, ``X-RateLimit-Reset`` (ISO 8601) and ``RateLimit-Reason``. The
points-based hourly quota applies to OAuth apps only ("API token-based traffic is not
affected") and is not simulated.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.common import SimClock, SimRuntime, WindowLimiter
from simulators.jira.store import JiraError, JiraStore

API_PREFIX = "/rest/api/3"
_GATEWAY = re.compile(r"^/ex/jira/([0-9a-fA-F-]{36})(/rest/api/3(?:/.*)?)$")
_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)(?:/|$)")
_ID_SEGMENT = re.compile(r"/[^/]*\d[^/]*")  # ids and issue keys in a path
NOT_AUTHENTICATED = "Client must be authenticated to access this resource."

#: (steady requests per second, burst capacity) per API kind — simulator defaults
BURST = {"burst_read": (100.0, 200), "burst_write": (50.0, 100)}
#: per-issue write windows: (writes, seconds) — simulator defaults
PER_ISSUE = {"issue_write_short": (20, 2.0), "issue_write_long": (100, 30.0)}


class TokenBucketLimiter:
    """Token buckets per key: ``capacity`` tokens, refilled at ``rate`` per second.

    Same control surface as ``simulators.common.WindowLimiter`` (``configure``, ``reset``,
    ``describe``, ``enabled``) so ``/_sim/limits`` can change it.
    """

    def __init__(self, rate: float, capacity: int, clock: SimClock) -> None:
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.enabled = True
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Take one token; None = allowed, else seconds until one is there."""
        if not self.enabled:
            return None
        with self._lock:
            now = self.clock.monotonic()
            tokens, at = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def configure(
        self, *, rate: float | None = None, capacity: int | None = None, enabled: bool | None = None, **_: Any
    ) -> None:
        if rate is not None:
            self.rate = float(rate)
        if capacity is not None:
            self.capacity = int(capacity)
        if enabled is not None:
            self.enabled = bool(enabled)

    def describe(self) -> dict[str, Any]:
        return {"type": "token_bucket", "rate": self.rate, "capacity": self.capacity, "enabled": self.enabled}


def make_limiters(clock: SimClock) -> dict[str, Any]:
    """The burst buckets and per-issue windows, named for ``/_sim/limits``."""
    out: dict[str, Any] = {name: TokenBucketLimiter(rate, cap, clock) for name, (rate, cap) in BURST.items()}
    out.update({name: WindowLimiter(n, window, clock) for name, (n, window) in PER_ISSUE.items()})
    return out


async def answer(send: Send, err: JiraError) -> None:
    """Send ``err`` as Jira's ErrorCollection."""
    body = json.dumps(err.body()).encode()
    headers = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def throttled(store: JiraStore, wait: float, limit: int, reason: str) -> JiraError:
    seconds = max(1, math.ceil(wait))
    reset = datetime.fromtimestamp(store.clock.time() + seconds, UTC)
    return JiraError(
        429,
        "Rate limit exceeded.",
        headers={
            "Retry-After": str(seconds),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "RateLimit-Reason": reason,
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
        },
    )


class JiraGate:
    """Authenticates ``/rest/api/3`` calls (site or 3LO gateway) and applies the limits."""

    def __init__(self, app: ASGIApp, store: JiraStore, runtime: SimRuntime) -> None:
        self.app = app
        self.store = store
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        gateway = _GATEWAY.match(path)
        if not (gateway or path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        account = self._authenticate(
            headers.get(b"authorization", b"").decode("latin-1"), gateway.group(1) if gateway else None
        )
        if account is None:
            await answer(
                send, JiraError(401, NOT_AUTHENTICATED, headers={"WWW-Authenticate": 'Basic realm="protected-area"'})
            )
            return
        state = scope.setdefault("state", {})
        state["jira_account"] = account
        if gateway:
            # the 3LO gateway serves the same API under /ex/jira/<cloudId>
            prefix = path[: len(path) - len(gateway.group(2))]
            state["jira_root"] = prefix
            scope = {
                **scope,
                "path": gateway.group(2),
                "raw_path": gateway.group(2).encode(),
                "root_path": scope.get("root_path", ""),
            }
        else:
            state["jira_root"] = ""
        refused = self._limits(scope["method"], scope["path"])
        if refused is not None:
            await answer(send, refused)
            return
        await self.app(scope, receive, send)

    def _authenticate(self, header: str, cloud_id: str | None) -> str | None:
        scheme, _, value = header.partition(" ")
        if cloud_id is not None:
            if scheme.lower() != "bearer" or cloud_id != self.store.cloud_id:
                return None
            held = self.store.access_tokens.get(value.strip())
            if held is None or held[1] <= self.store.clock.monotonic():
                return None
            return held[0]
        if scheme.lower() != "basic":
            return None
        try:
            email, _, token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self.store.api_tokens.get((email.lower(), token))

    def _bucket(self, name: str) -> TokenBucketLimiter:
        found = self.runtime.limiters[name]
        assert isinstance(found, TokenBucketLimiter)
        return found

    def _window(self, name: str) -> WindowLimiter:
        found = self.runtime.limiters[name]
        assert isinstance(found, WindowLimiter)
        return found

    def _limits(self, method: str, path: str) -> JiraError | None:
        write = method not in ("GET", "HEAD", "OPTIONS")
        bucket = self._bucket("burst_write" if write else "burst_read")
        # per tenant and per API: one bucket per method and path shape
        shape = _ID_SEGMENT.sub("/{id}", path)
        wait = bucket.hit(f"{method} {shape}")
        if wait is not None:
            return throttled(self.store, wait, bucket.capacity, "jira-burst-based")
        hit = _ISSUE_PATH.match(path)
        if not write or hit is None:
            return None
        with self.store.lock:
            issue = self.store.issues.get(hit.group(1)) or next(
                (i for i in self.store.issues.values() if i.key == hit.group(1).upper()), None
            )
        if issue is None:
            return None
        windows = [self._window("issue_write_short"), self._window("issue_write_long")]
        for window in windows:  # check both first: a refused write must count in neither
            if window.enabled and window.remaining(issue.id) == 0:
                wait = window.hit(issue.id) or 1.0
                return throttled(self.store, wait, window.limit, "jira-per-issue-on-write")
        for window in windows:
            window.hit(issue.id)
        return None
