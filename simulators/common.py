"""Shared building blocks for the vendor simulators (Trello, Asana, Planner).

Everything here is vendor-neutral: clocks, rate/concurrency limiters, a runtime fault plan,
the ``/_sim/*`` control endpoints (middleware), deterministic text and blob generators and
``serve()`` to run an ASGI app on a free loopback port in a background thread.

Typical wiring inside ``simulators/<vendor>/app.py``::

    runtime = SimRuntime(clock=clock or SimClock(), state=store.dump, reseed=store.reseed,
                         limiters={"token": WindowLimiter(100, 10.0, clock)})
    app = FastAPI(...)
    mount_sim_controls(app, runtime)      # adds /_sim/* + faults, latency, stats

Vendor-specific behaviour (429 bodies, rate-limit headers) stays in the vendor app, which
reads ``runtime.limiters[...]``; ``/_sim/limits`` only reconfigures those objects.

Fault plans (``POST /_sim/faults``; ``GET`` shows the plan, ``DELETE`` or an empty body clears it)::

    {"latency_ms": [lo, hi] | n, "seed": 0,
     "faults": [{"kind": "status", "status": 503, "method": "POST", "path": "/tasks/*/subtasks",
                 "count": 1, "nth": null, "ratio": 1.0, "body": "...", "headers": {...}}]}

Kinds — the first three fail *before* the vendor does anything, the last two *after*:

- ``status``: answer ``status`` + ``body`` + ``headers``; the request is not served.
- ``drop``: close the connection without an answer; the request is not served.
- ``slow_body``: serve the request, stream its answer at ``bytes_per_s``.
- ``apply_then_drop``: serve the request in full (the write happens), then drop the answer
  and reset the connection: the client cannot tell whether the vendor has the item.
- ``apply_then_status``: serve the request in full, then answer ``status`` (e.g. 500, 502,
  504) + ``body`` instead of the real answer — a gateway that lost the reply.

Matching: ``method`` (any when absent) and ``path``, a regular expression searched in the
request path in which a segment that is exactly ``*`` stands for one path segment
(``/tasks/*/subtasks`` matches ``/api/1.0/tasks/123/subtasks``). ``nth`` (1-based) skips the
first ``nth - 1`` matching calls, so ``{"nth": 3}`` with the default ``count`` 1 hits exactly
the third matching call; ``count`` null = every call from then on; ``ratio`` < 1 draws per
call from ``seed``. Every rule counts the calls it matched in ``seen``; ``GET /_sim/faults``
lists what was injected under ``injected`` (method, path, kind, the status the client saw and,
for the ``apply_*`` kinds, the status the vendor had answered). Plans without the new keys
mean what they always meant.

``/_sim/stats`` counts each request under the status its client received, ``drop`` for a
dropped connection, ``client_closed`` when the client went away before any answer started
(e.g. an upload abandoned mid-body; nothing was answered, so it is not a 5xx) and ``error``
when the app ended without answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import random
import re
import socket
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SIM_PREFIX = "/_sim"


def is_sim_path(path: str) -> bool:
    """True for simulator control paths, which are not part of any vendor API."""
    return path == SIM_PREFIX or path.startswith(SIM_PREFIX + "/")


# --------------------------------------------------------------------------- clocks


class SimClock:
    """Real clock. ``monotonic()`` drives limiters; ``time()`` is wall-clock epoch seconds."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""
        return time.monotonic()

    def time(self) -> float:
        """Wall-clock seconds since the Unix epoch (used for vendor timestamps and ids)."""
        return time.time()


class FakeClock(SimClock):
    """Manually driven clock for tests: nothing moves until ``advance()`` is called."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_750_000_000.0) -> None:
        self._mono = start
        self._wall = wall_start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both the monotonic and the wall clock forward."""
        with self._lock:
            self._mono += seconds
            self._wall += seconds


# --------------------------------------------------------------------------- limiters


class WindowLimiter:
    """Sliding-window request limiter per key (e.g. per token, per API key, per user)."""

    def __init__(self, limit: int, window_s: float, clock: SimClock | None = None) -> None:
        self.limit = limit
        self.window_s = window_s
        self.enabled = True
        self.clock = clock or SimClock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._hits[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def hit(self, key: str) -> float | None:
        """Record one request for ``key``. None = allowed; else seconds until one is allowed.

        A refused request is not recorded (it does not extend the penalty).
        """
        if not self.enabled:
            return None
        with self._lock:
            now = self.clock.monotonic()
            q = self._trim(key, now)
            if len(q) >= self.limit:
                return max(0.0, q[0] + self.window_s - now)
            q.append(now)
            return None

    def remaining(self, key: str) -> int:
        """Requests still allowed for ``key`` in the current window."""
        with self._lock:
            return max(0, self.limit - len(self._trim(key, self.clock.monotonic())))

    def reset(self) -> None:
        """Forget all recorded hits."""
        with self._lock:
            self._hits.clear()

    def configure(
        self, *, limit: int | None = None, window_s: float | None = None, enabled: bool | None = None
    ) -> None:
        """Change settings at runtime (used by ``POST /_sim/limits``)."""
        if limit is not None:
            self.limit = int(limit)
        if window_s is not None:
            self.window_s = float(window_s)
        if enabled is not None:
            self.enabled = bool(enabled)

    def describe(self) -> dict[str, Any]:
        return {"type": "window", "limit": self.limit, "window_s": self.window_s, "enabled": self.enabled}


class ConcurrencyLimiter:
    """Caps requests in flight per key. ``async with lim.slot(key) as ok`` — ok False = full.

    ``async with lim as ok`` uses the empty key.
    """

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.enabled = True
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def in_flight(self, key: str = "") -> int:
        return self._in_flight[key]

    @contextlib.asynccontextmanager
    async def slot(self, key: str = "") -> AsyncIterator[bool]:
        """Try to take a slot; yields False (and takes nothing) when the key is full."""
        with self._lock:
            ok = not self.enabled or self._in_flight[key] < self.max_in_flight
            if ok:
                self._in_flight[key] += 1
        try:
            yield ok
        finally:
            if ok:
                with self._lock:
                    self._in_flight[key] -= 1

    async def __aenter__(self) -> bool:
        # One stack per task (contextvars are copied per asyncio task), so concurrent
        # ``async with lim`` blocks do not share state.
        cm = self.slot("")
        stack = _CM_STACK.get(None)
        if stack is None:
            stack = []
            _CM_STACK.set(stack)
        stack.append(cm)
        return await cm.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await _CM_STACK.get().pop().__aexit__(*exc)

    def reset(self) -> None:
        with self._lock:
            self._in_flight.clear()

    def configure(self, *, max_in_flight: int | None = None, enabled: bool | None = None, **_: Any) -> None:
        if max_in_flight is not None:
            self.max_in_flight = int(max_in_flight)
        if enabled is not None:
            self.enabled = bool(enabled)

    def describe(self) -> dict[str, Any]:
        return {"type": "concurrency", "max_in_flight": self.max_in_flight, "enabled": self.enabled}


_CM_STACK: contextvars.ContextVar[list[Any]] = contextvars.ContextVar("sim_cm_stack")

Limiter = WindowLimiter | ConcurrencyLimiter


# --------------------------------------------------------------------------- faults


#: Kinds that fail before the request reaches the vendor app.
BEFORE_KINDS = ("status", "drop", "slow_body")
#: Kinds that let the vendor app serve the request in full, then lose its answer.
APPLY_KINDS = ("apply_then_drop", "apply_then_status")
FAULT_KINDS = BEFORE_KINDS + APPLY_KINDS
#: How many injected faults ``GET /_sim/faults`` remembers (oldest dropped first).
INJECTED_LOG_MAX = 1_000

# A path segment that is exactly "*" (followed by "/", the "$" anchor or the end of the
# pattern) means one segment. "/*" means nothing else useful in a regex over a path.
_STAR_SEGMENT = re.compile(r"(?<=/)\*(?=/|\$|$)")


@functools.lru_cache(maxsize=256)
def path_pattern(path: str) -> re.Pattern[str]:
    """Compile a rule's ``path``: a regex in which a lone ``*`` segment is ``[^/]+``."""
    return re.compile(_STAR_SEGMENT.sub("[^/]+", path))


@dataclass
class FaultRule:
    """One fault; see the module docstring for the JSON form and the kinds.

    ``count`` None = unlimited; ``nth`` = first fire at the nth matching call (1-based);
    ``ratio`` is the chance a matching request gets the fault; ``seen`` counts matching calls.
    """

    kind: str = "status"
    status: int = 503
    path: str | None = None  # regex searched in the request path ("*" = one segment)
    method: str | None = None
    count: int | None = 1
    ratio: float = 1.0
    body: str = '{"error":"simulated fault"}'
    headers: dict[str, str] = field(default_factory=dict)
    bytes_per_s: int = 16_384
    nth: int | None = None
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or path_pattern(self.path).search(path) is not None

    def validate(self) -> None:
        """Raise ValueError (or re.error) for a rule the middleware could not apply."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        if self.path:
            path_pattern(self.path)  # a bad regex is the caller's error (400)
        if self.nth is not None and (isinstance(self.nth, bool) or not isinstance(self.nth, int) or self.nth < 1):
            raise ValueError(f"nth must be a whole number >= 1, not {self.nth!r}")
        if self.kind == "apply_then_status" and not 400 <= int(self.status) <= 599:
            # a success status would hide the fault: the client must see an error
            raise ValueError(f"apply_then_status needs an error status, not {self.status}")


@dataclass
class FaultPlan:
    """Runtime-settable latency and fault queue. Rules are tried in order; first hit wins."""

    latency_ms: tuple[int, int] = (0, 0)
    faults: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: deque[dict[str, Any]] = deque(maxlen=INJECTED_LOG_MAX)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPlan:
        """Build from the JSON body of ``POST /_sim/faults``."""
        lat = data.get("latency_ms") or (0, 0)
        if isinstance(lat, (int, float)):
            lat = (int(lat), int(lat))
        rules = [FaultRule(**r) for r in data.get("faults", [])]
        for rule in rules:
            rule.validate()
        return cls(latency_ms=(int(lat[0]), int(lat[1])), faults=rules, seed=int(data.get("seed", 0)))

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": list(self.latency_ms),
                "seed": self.seed,
                "faults": [asdict(r) for r in self.faults],
                "injected": list(self.injected),
            }

    def latency_s(self) -> float:
        lo, hi = self.latency_ms
        if hi <= 0:
            return 0.0
        with self._lock:
            return self._rng.uniform(lo, hi) / 1000.0

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Return the fault to apply to this request (consuming one ``count``), if any.

        Every matching rule counts the call (``seen``), also when an earlier rule wins, so
        ``nth`` always means "the nth call of this route" whatever else the plan holds.
        """
        with self._lock:
            chosen: FaultRule | None = None
            for rule in list(self.faults):
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                if chosen is not None:
                    continue
                if rule.nth is not None and rule.seen < rule.nth:
                    continue
                if rule.ratio < 1.0 and self._rng.random() >= rule.ratio:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.faults.remove(rule)
                chosen = rule
            return chosen

    def note(
        self, method: str, path: str, rule: FaultRule, seen_status: int | str, applied_status: int | str | None = None
    ) -> None:
        """Remember one injected fault for ``GET /_sim/faults`` (``injected``)."""
        entry: dict[str, Any] = {"method": method, "path": path, "kind": rule.kind, "status": seen_status}
        if applied_status is not None:
            entry["applied_status"] = applied_status
        with self._lock:
            self.injected.append(entry)


# --------------------------------------------------------------------------- batch calls


@dataclass
class InnerAnswer:
    """What one request inside a batch call was answered (header names lower case), and the
    scope it ran in (routing sets ``route`` there)."""

    status: int
    headers: dict[str, str]
    body: bytes
    scope: dict[str, Any]


async def serve_inner(
    outer: Request, method: str, path: str, query: bytes, headers: Mapping[str, str], body: bytes
) -> InnerAnswer:
    """Serve one request of a batch call (Graph's ``$batch``, Asana's ``/batch``) through the
    app's own routes, as if it had been sent alone. It runs in the batch call's scope (app,
    state, exception handlers) without what routing set for the batch route itself
    (``fastapi`` holds FastAPI's per-request routing state: shared, the inner request's routing
    would overwrite the batch call's). A route's own exception propagates to the caller."""
    scope: dict[str, Any] = {
        **{
            k: v
            for k, v in outer.scope.items()
            if k not in ("route", "endpoint", "path_params", "headers", "query_string", "fastapi")
        },
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    answer = InnerAnswer(status=500, headers={}, body=b"", scope=scope)
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await outer.app.router(scope, receive, send)
    return answer


# --------------------------------------------------------------------------- runtime + stats


@dataclass
class SimStats:
    """Request counts per route template and status."""

    by_route: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_status: Counter[str] = field(default_factory=Counter)
    total: int = 0
    faults_injected: int = 0

    def record(self, route: str, status: int | str) -> None:
        self.total += 1
        self.by_route[route][str(status)] += 1
        self.by_status[str(status)] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "throttled": self.by_status.get("429", 0),
            "faults_injected": self.faults_injected,
            "by_status": dict(self.by_status),
            "by_route": {k: dict(v) for k, v in sorted(self.by_route.items())},
        }


@dataclass
class SimRuntime:
    """Everything ``/_sim/*`` controls. Kept on ``app.state.sim`` for in-process tests.

    ``state()`` returns a JSON-able dump of the vendor store; ``reseed(params)`` rebuilds it
    and returns a JSON-able summary.
    """

    clock: SimClock = field(default_factory=SimClock)
    state: Callable[[], Any] = dict
    reseed: Callable[[dict[str, Any]], Any] | None = None
    limiters: dict[str, Limiter] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)
    stats: SimStats = field(default_factory=SimStats)

    def set_limits(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``{"enabled": bool, "reset": bool, "limiters": {name: {...}}}``."""
        for lim in self.limiters.values():
            if "enabled" in body:
                lim.configure(enabled=bool(body["enabled"]))
            if body.get("reset"):
                lim.reset()
        for name, conf in (body.get("limiters") or {}).items():
            if name not in self.limiters:
                raise KeyError(name)
            self.limiters[name].configure(**conf)
        return self.describe_limits()

    def describe_limits(self) -> dict[str, Any]:
        return {name: lim.describe() for name, lim in self.limiters.items()}


def _route_name(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "")
    return f"{scope.get('method', '?')} {path}"


async def _sim_endpoint(runtime: SimRuntime, request: Request) -> Response:
    sub = request.url.path[len(SIM_PREFIX) :].strip("/")
    method = request.method
    body: dict[str, Any] = {}
    if method == "POST":
        raw = await request.body()
        body = (await request.json()) if raw.strip() else {}
    if sub == "state" and method == "GET":
        return JSONResponse(runtime.state())
    if sub == "stats" and method == "GET":
        return JSONResponse(runtime.stats.to_dict())
    if sub in ("stats/reset", "stats") and method in ("POST", "DELETE"):
        runtime.stats = SimStats()
        return JSONResponse(runtime.stats.to_dict())
    if sub == "faults" and method == "GET":
        return JSONResponse(runtime.faults.to_dict())
    if sub == "faults" and method in ("POST", "DELETE"):
        try:
            runtime.faults = FaultPlan.from_dict(body)
        except (TypeError, ValueError, re.error) as exc:
            return JSONResponse({"error": f"bad fault plan: {exc}"}, status_code=400)
        return JSONResponse(runtime.faults.to_dict())
    if sub == "limits" and method == "GET":
        return JSONResponse(runtime.describe_limits())
    if sub == "limits" and method == "POST":
        try:
            return JSONResponse(runtime.set_limits(body))
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad limits: {exc!r}"}, status_code=400)
    if sub == "seed" and method == "POST":
        if runtime.reseed is None:
            return JSONResponse({"error": "reseed not supported"}, status_code=501)
        try:
            return JSONResponse(runtime.reseed(body))
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad seed parameters: {exc}"}, status_code=400)
    if sub == "clock" and method == "POST":
        if not isinstance(runtime.clock, FakeClock):
            return JSONResponse({"error": "clock is not a FakeClock"}, status_code=409)
        runtime.clock.advance(float(body.get("advance_s", 0)))
        return JSONResponse({"monotonic": runtime.clock.monotonic(), "time": runtime.clock.time()})
    return JSONResponse({"error": f"unknown sim endpoint {method} {sub}"}, status_code=404)


class SimControls:
    """ASGI middleware: serves ``/_sim/*``, injects latency/faults, counts requests."""

    def __init__(self, app: ASGIApp, runtime: SimRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if is_sim_path(path):
            response = await _sim_endpoint(self.runtime, Request(scope, receive))
            await response(scope, receive, send)
            return
        rt = self.runtime
        delay = rt.faults.latency_s()
        if delay:
            await asyncio.sleep(delay)
        method = scope["method"]
        plan = rt.faults
        rule = plan.pick(method, path)
        if rule is not None:
            rt.stats.faults_injected += 1
        if rule is not None and rule.kind == "drop":
            rt.stats.record(f"{method} {path}", "drop")
            plan.note(method, path, rule, "drop")
            await _drop_connection(send)
            return
        if rule is not None and rule.kind == "status":
            rt.stats.record(f"{method} {path}", rule.status)
            plan.note(method, path, rule, rule.status)
            await _fault_response(rule)(scope, receive, send)
            return
        if rule is not None and rule.kind in APPLY_KINDS:
            await self._apply_then_fail(scope, receive, send, rule, plan)
            return
        client = _ClientWatch(receive)
        slow = rule.bytes_per_s if rule is not None and rule.kind == "slow_body" else 0

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                client.started(message["status"])
            if slow and message["type"] == "http.response.body" and message.get("body"):
                await _send_slowly(send, message, slow)
                return
            await send(message)

        try:
            await self.app(scope, client.receive, send_wrapper)
        except ClientDisconnect:
            if not client.gone:
                raise
            # The client abandoned its request mid-body: nobody is left to answer, and a
            # traceback would only look like a simulator failure.
        finally:
            rt.stats.record(_route_name(scope), client.label())

    async def _apply_then_fail(
        self, scope: Scope, receive: Receive, send: Send, rule: FaultRule, plan: FaultPlan
    ) -> None:
        """Let the vendor app serve the request in full (state changes), discard its answer,
        then reset the connection or answer the rule's status: the lost-reply case a client
        must survive without writing the item twice."""
        applied: list[int] = []

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                applied.append(message["status"])

        method, path = scope["method"], scope["path"]
        client = _ClientWatch(receive)
        try:
            await self.app(scope, client.receive, swallow)
        except ClientDisconnect:
            if not client.gone:
                raise
            self.runtime.stats.record(_route_name(scope), CLIENT_CLOSED)
            return
        except Exception:
            # The app itself failed (not the simulated fault): let the server answer 500.
            self.runtime.stats.record(_route_name(scope), "error")
            raise
        if client.gone:
            self.runtime.stats.record(_route_name(scope), CLIENT_CLOSED)
            return
        served: int | str = applied[0] if applied else "none"
        if rule.kind == "apply_then_drop":
            self.runtime.stats.record(_route_name(scope), "drop")
            plan.note(method, path, rule, "drop", served)
            await _drop_connection(send)
            return
        self.runtime.stats.record(_route_name(scope), rule.status)
        plan.note(method, path, rule, rule.status, served)
        await _fault_response(rule)(scope, receive, send)


#: Stats label of a request whose client went away before any answer started. Starlette
#: turns the resulting ``ClientDisconnect`` into a 500 that nobody receives; counting that
#: as a vendor 500 made a busy multi-org run look as if the simulator had failed.
CLIENT_CLOSED = "client_closed"


class _ClientWatch:
    """Wraps ``receive`` to notice ``http.disconnect`` (the client closed the connection) and
    keeps the status of the answer the client actually got, if any."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.gone = False
        self.status: int | None = None

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        return message

    def started(self, status: int) -> None:
        """An answer starts; it only counts if the client was still there."""
        if self.status is None and not self.gone:
            self.status = status

    def label(self) -> int | str:
        """The stats label: the status the client got, or why it got none."""
        if self.status is not None:
            return self.status
        return CLIENT_CLOSED if self.gone else "error"


def _fault_response(rule: FaultRule) -> Response:
    hdrs = {"content-type": "application/json", **rule.headers}
    return Response(rule.body, status_code=rule.status, headers=hdrs)


async def _send_slowly(send: Send, message: Message, bytes_per_s: int) -> None:
    body: bytes = message["body"]
    step = max(1, bytes_per_s // 10)
    for i in range(0, len(body), step):
        last = i + step >= len(body)
        await send(
            {
                "type": "http.response.body",
                "body": body[i : i + step],
                "more_body": message.get("more_body", False) if last else True,
            }
        )
        if not last:
            await asyncio.sleep(0.1)


class SimulatedDrop(ConnectionError):
    """Raised when a drop fault is injected and the server transport is not reachable
    (e.g. under ``httpx.ASGITransport``): the client sees an exception, not a response."""


async def _drop_connection(send: Send) -> None:
    # uvicorn passes its RequestResponseCycle.send bound method; aborting its transport closes
    # the TCP connection without a response, which is what a real network drop looks like.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(3):  # let connection_lost run so uvicorn does not try to write a 500
            await asyncio.sleep(0)
        return
    raise SimulatedDrop("simulated dropped connection")


def mount_sim_controls(app: Starlette, runtime: SimRuntime) -> Starlette:
    """Wrap ``app`` with :class:`SimControls` and keep ``runtime`` on ``app.state.sim``."""
    app.state.sim = runtime
    # Outermost (outside Starlette's ServerErrorMiddleware) so a "drop" fault sees the
    # server's own ``send`` and can abort the socket.
    build_inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: SimControls(build_inner(), runtime)  # type: ignore[method-assign]
    return app


# --------------------------------------------------------------------------- seed helpers


def seeded_rng(seed: int | str) -> random.Random:
    """A private, deterministic RNG (never the global one)."""
    return random.Random(f"ferry-sim:{seed}")


_WORDS = (
    "migration",
    "ferry",
    "board",
    "sprint",
    "review",
    "design",
    "launch",
    "budget",
    "customer",
    "roadmap",
    "bug",
    "release",
    "draft",
    "meeting",
    "follow-up",
    "data",
)
_UNICODE_BITS = (
    "Ünïcödé",
    "naïve café",
    "日本語のタスク",
    "中文任务",
    "한국어",
    "עברית",
    "العربية",
    "Ελληνικά",
    "Кириллица",
    "emoji 🚀✅🔥",
    "👩‍💻 ZWJ",
    "e\u0301 combining",
    "math 𝛑≈3.14",
    'tab\tand "quotes" <tag> & amp',
    "RTL \u202eevil\u202c",
)


def words(rng: random.Random, n: int) -> str:
    """``n`` plain ASCII words."""
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def unicode_text(rng: random.Random, n: int = 4) -> str:
    """A short string mixing scripts, emoji (incl. ZWJ sequences), combining marks, RTL."""
    parts = [rng.choice(_UNICODE_BITS) for _ in range(n)]
    return " ".join(parts)


def long_text(rng: random.Random, chars: int) -> str:
    """Exactly ``chars`` code points of mixed ASCII/unicode paragraphs (for limits tests)."""
    out: list[str] = []
    size = 0
    while size < chars:
        para = f"{words(rng, 12)} {unicode_text(rng, 2)}.\n\n"
        out.append(para)
        size += len(para)
    return "".join(out)[:chars]


# --------------------------------------------------------------------------- blobs


class Blob:
    """Deterministic pseudo-random bytes of a chosen size, generated on demand.

    Block ``i`` (64 KiB) is derived from ``(seed, i)`` only, so any byte range can be produced
    without generating the preceding bytes and a 1 GiB attachment costs no memory.
    """

    BLOCK = 65_536

    def __init__(self, size: int, seed: int | str) -> None:
        self.size = size
        self.seed = seed

    def _block(self, index: int) -> bytes:
        return random.Random(f"blob:{self.seed}:{index}").randbytes(self.BLOCK)

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``[start, end)`` (end defaults to size) in chunks of <= 64 KiB."""
        stop = self.size if end is None else min(end, self.size)
        pos = max(0, start)
        while pos < stop:
            idx, off = divmod(pos, self.BLOCK)
            chunk = self._block(idx)[off : off + (stop - pos)]
            yield chunk
            pos += len(chunk)

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """Materialise a range (only for small blobs/ranges)."""
        return b"".join(self.iter_bytes(start, end))

    def sha256(self) -> str:
        """Hex SHA-256 of the whole blob, computed in a streaming way."""
        import hashlib

        h = hashlib.sha256()
        for chunk in self.iter_bytes():
            h.update(chunk)
        return h.hexdigest()


def make_blob(size: int, seed: int | str) -> Blob:
    """Deterministic bytes of ``size`` for attachments; see :class:`Blob`."""
    return Blob(size, seed)


def content_disposition(filename: str) -> str:
    """``attachment`` with the file's name as HTTP allows it in a header (RFC 6266): an ASCII
    fallback and, for any other name, the UTF-8 ``filename*`` (a header is Latin-1 only, so a
    name like "Plan – v2.pdf" written as-is fails the response)."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def blob_response(
    blob: Blob,
    *,
    media_type: str = "application/octet-stream",
    filename: str | None = None,
    range_header: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Stream ``blob`` (supports a single ``bytes=a-b`` Range)."""
    hdrs = {"accept-ranges": "bytes", **(headers or {})}
    if filename:
        hdrs["content-disposition"] = content_disposition(filename)
    start, end, status = 0, blob.size, 200
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", (range_header or "").strip())
    if m and (m.group(1) or m.group(2)):
        if m.group(1):
            start = int(m.group(1))
            end = min(blob.size, int(m.group(2)) + 1) if m.group(2) else blob.size
        else:
            start = max(0, blob.size - int(m.group(2)))
        if start >= blob.size:
            return Response(status_code=416, headers={"content-range": f"bytes */{blob.size}"})
        status = 206
        hdrs["content-range"] = f"bytes {start}-{end - 1}/{blob.size}"
    hdrs["content-length"] = str(end - start)
    return StreamingResponse(blob.iter_bytes(start, end), status_code=status, media_type=media_type, headers=hdrs)


# --------------------------------------------------------------------------- serving


@contextlib.contextmanager
def serve(app: ASGIApp, port: int = 0, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``app`` with uvicorn in a daemon thread; yield ``http://host:port`` until exit."""
    import uvicorn

    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # asyncio sets TCP_NODELAY only for IPPROTO_TCP
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual_port = sock.getsockname()[1]
    # On exit, a request still in flight (a slow_body fault dripping to a worker a test killed)
    # is cancelled after a short grace: uvicorn would otherwise wait for it without end, and
    # the join below gave up only after its 10 s, leaving the thread serving it.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"sim-server-{actual_port}"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("simulator server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{actual_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
