"""Azure DevOps' global consumption limit, measured in TSTUs.

https://learn.microsoft.com/azure/devops/integrate/concepts/rate-limits: a user's requests
are delayed, then blocked with **429** (``TF400733: … Request was blocked due to exceeding
usage of resource …``), when their consumption over a sliding 5-minute window exceeds
200 TSTUs (Azure DevOps throughput units). Answers then carry ``Retry-After``,
``X-RateLimit-Resource``, ``X-RateLimit-Delay``, ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` (0 once delayed or blocked) and ``X-RateLimit-Reset`` (Unix time
when usage would be back to 0).

The service does not publish what one request costs. The simulator charges a fixed cost
per class of request (``COSTS``, an assumption stated here and in the README), tunable
through ``POST /_sim/limits {"limiters": {"tstu": {"limit": 5, "window_s": 300}}}`` so
tests can reach the limit with a handful of calls.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from typing import Any

from simulators.common import SimClock, WindowLimiter

#: TSTUs charged per request class (simulator assumption; see module docstring)
COSTS = {"read": 0.02, "query": 0.1, "write": 0.05, "upload": 0.1}
DEFAULT_LIMIT = 200.0
WINDOW_S = 300.0


class TstuLimiter(WindowLimiter):
    """A sliding window of weighted charges per identity (``limit`` is in TSTUs)."""

    def __init__(self, limit: float = DEFAULT_LIMIT, window_s: float = WINDOW_S, clock: SimClock | None = None) -> None:
        super().__init__(int(limit), window_s, clock)
        self.tstu_limit = float(limit)
        self.costs = dict(COSTS)
        self._charges: dict[str, deque[tuple[float, float]]] = defaultdict(deque)
        self._usage: dict[str, float] = defaultdict(float)
        self._tlock = threading.Lock()

    def _expire(self, key: str, now: float) -> None:
        q = self._charges[key]
        while q and q[0][0] <= now - self.window_s:
            _, cost = q.popleft()
            self._usage[key] -= cost
        if not q:
            self._usage[key] = 0.0

    def usage(self, key: str) -> float:
        with self._tlock:
            self._expire(key, self.clock.monotonic())
            return self._usage[key]

    def charge(self, key: str, request_class: str) -> float | None:
        """Charge one request; None = allowed, else seconds until usage is under the limit.

        A blocked request is not charged (it did no work)."""
        if not self.enabled:
            return None
        cost = self.costs.get(request_class, self.costs["read"])
        with self._tlock:
            now = self.clock.monotonic()
            self._expire(key, now)
            if self._usage[key] + cost > self.tstu_limit:
                return self._wait_locked(key, now, cost)
            self._charges[key].append((now, cost))
            self._usage[key] += cost
            return None

    def _wait_locked(self, key: str, now: float, cost: float) -> float:
        """Seconds until enough old charges leave the window for ``cost`` to fit."""
        usage = self._usage[key]
        for at, old in self._charges[key]:
            usage -= old
            if usage + cost <= self.tstu_limit:
                return max(0.001, at + self.window_s - now)
        return self.window_s

    def headers(self, key: str, wait: float | None) -> dict[str, str]:
        """The X-RateLimit-* headers for ``key`` (``wait`` set when the request was blocked)."""
        with self._tlock:
            now = self.clock.monotonic()
            self._expire(key, now)
            usage = self._usage[key]
            last = self._charges[key][-1][0] if self._charges[key] else now
        reset = self.clock.time() + max(0.0, last + self.window_s - now)
        out = {
            "X-RateLimit-Resource": "ATCPU",
            "X-RateLimit-Limit": f"{self.tstu_limit:g}",
            "X-RateLimit-Remaining": "0" if wait is not None else f"{max(0.0, self.tstu_limit - usage):.3f}",
            "X-RateLimit-Reset": str(math.ceil(reset)),
            "X-RateLimit-Delay": f"{(wait or 0.0):.3f}",
        }
        if wait is not None:
            out["Retry-After"] = str(max(1, math.ceil(wait)))
        return out

    def near(self, key: str) -> bool:
        """Usage at or above 80 % of the limit: answers carry the X-RateLimit headers."""
        return self.enabled and self.usage(key) >= 0.8 * self.tstu_limit

    def remaining(self, key: str) -> int:
        return int(max(0.0, self.tstu_limit - self.usage(key)))

    def reset(self) -> None:
        with self._tlock:
            self._charges.clear()
            self._usage.clear()

    def configure(
        self,
        *,
        limit: float | None = None,
        window_s: float | None = None,
        enabled: bool | None = None,
        costs: dict[str, float] | None = None,
        **_: Any,
    ) -> None:
        if limit is not None:
            self.tstu_limit = float(limit)
            self.limit = int(limit)
        if window_s is not None:
            self.window_s = float(window_s)
        if enabled is not None:
            self.enabled = bool(enabled)
        if costs:
            for name, value in costs.items():
                if name not in self.costs:
                    raise KeyError(name)
                self.costs[name] = float(value)

    def describe(self) -> dict[str, Any]:
        return {
            "type": "tstu",
            "limit": self.tstu_limit,
            "window_s": self.window_s,
            "enabled": self.enabled,
            "costs": dict(self.costs),
        }
