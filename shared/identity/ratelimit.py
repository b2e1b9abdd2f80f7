"""Request-rate limits per credential and per organisation (token buckets, in memory).

Each key (a caller: `key:<id>` or `user:<member id>`; an org: `org:<id>`) has a bucket of
`burst` requests refilled at `rate` per second; a request that finds it empty is refused
with `TooManyRequestsError(retry_after=…)` (429 + `Retry-After`). Only authenticated
requests are counted here; failed sign-ins have their own throttle (throttle.py).

Like the failure throttle, the buckets live per worker instance: N instances allow up to N
times the rate. They guard cost and fairness between tenants (one busy script must not
starve an org's other users), not secrecy. Memory is bounded by `max_tracked` buckets,
least recently used evicted first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import TooManyRequestsError

Clock = Callable[[], float]

#: Per credential (an API key, a member): 20 requests/s sustained, bursts of 120.
CALLER_RATE, CALLER_BURST = 20.0, 120.0
#: Per organisation, all its callers together.
ORG_RATE, ORG_BURST = 60.0, 400.0


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucketLimiter:
    """`burst` requests at once, then `rate` per second, per key."""

    def __init__(self, *, rate: float, burst: float, clock: Clock = time.monotonic, max_tracked: int = 100_000) -> None:
        if rate <= 0 or burst < 1 or max_tracked < 1:
            raise ValueError("rate, burst and max_tracked must be positive")
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._max_tracked = max_tracked
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, what: str = "requests") -> None:
        """Spend one request of `key`, or raise TooManyRequestsError saying when to retry."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            while len(self._buckets) > self._max_tracked:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens < 1:
            wait = (1 - bucket.tokens) / self.rate
            raise TooManyRequestsError(f"too many {what}; retry later", retry_after=float(max(1, math.ceil(wait))))
        bucket.tokens -= 1


class RequestRateLimits:
    """The two request limits of the API: per caller and per organisation."""

    def __init__(
        self,
        *,
        caller_rate: float = CALLER_RATE,
        caller_burst: float = CALLER_BURST,
        org_rate: float = ORG_RATE,
        org_burst: float = ORG_BURST,
        clock: Clock = time.monotonic,
    ) -> None:
        self.callers = TokenBucketLimiter(rate=caller_rate, burst=caller_burst, clock=clock)
        self.orgs = TokenBucketLimiter(rate=org_rate, burst=org_burst, clock=clock)

    def take(self, *, caller: str, org: str | None = None) -> None:
        """Count one authenticated request of `caller` (in `org`, when it acts in one)."""
        self.callers.take(caller, "requests with this credential")
        if org is not None:
            self.orgs.take(org, "requests to this organisation")
