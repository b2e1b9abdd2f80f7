"""Failed-authentication limits per client address and per API key prefix.

Sliding-window log: each tracked key keeps the times of its most recent failures (at
most `limit` of them); once `limit` failures fall inside `window_s`, further attempts are
refused with `TooManyRequestsError(retry_after=…)` until the oldest one leaves the
window. Memory is bounded: at most `max_tracked` keys (least recently failed evicted
first) × `limit` timestamps.

Where the counters live — a deliberate choice: in memory, per worker instance. In Azure
each Function App instance keeps its own window, so an attacker spread over N instances
gets up to N × limit failures per window. That is accepted because the limiter guards
cost and noise, not secrecy: API keys carry ≥ 143 secret bits and tokens are
signature-checked, so guessing is hopeless at any rate. Counting in Cosmos instead
would turn every failed attempt into a paid write (a cost amplifier for the attacker)
and add a database round trip to the rejection path.

Client addresses are limited per IPv4 address and per IPv6 /64 (`client_key`). The
caller must pass the address the platform saw, not a client-supplied header: on Azure
the last `X-Forwarded-For` entry is set by the platform's front end; elsewhere use the socket peer.

Intended use by the auth dependency::

    ... authenticate (a valid credential passes, whatever the counters say) ...
    on failure: throttle.record_failure(ip, key_prefix=prefix_or_None)
                throttle.check_client(ip)            # past the limit the failure is a 429
                throttle.check_prefix(prefix)        # API keys: a flood at one prefix, too
                raise 401

Both limits are consulted only after a failed attempt, never before a credential is
checked: someone who knows a key's (non-secret) prefix cannot lock its legitimate holder
out, and the failures of some clients behind a shared address (an office NAT) cannot lock
out the others' valid tokens and keys. The limits make a flood visible (429 with Retry-After);
they never refuse a valid credential.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from shared.errors import TooManyRequestsError

Clock = Callable[[], float]


def client_key(address: str) -> str:
    """The unit a client address is limited by.

    IPv6 addresses count per /64 network: one subscriber usually holds a whole /64, so
    limiting single addresses would be bypassed by rotating through it. IPv4-mapped IPv6
    addresses count as their IPv4 address. Anything that is not an IP is used as given.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SlidingWindowLimiter:
    """Counts events per key over a sliding window; refuses once `limit` is reached."""

    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        clock: Clock = time.monotonic,
        max_tracked: int = 100_000,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_tracked < 1:
            raise ValueError("limit, window_s and max_tracked must be positive")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_tracked = max_tracked
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _live(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = now - self.window_s
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it is not limited."""
        now = self._clock()
        events = self._live(key, now)
        if events is None or len(events) < self.limit:
            return None
        return max(events[0] + self.window_s - now, 0.001)

    def check(self, key: str, what: str = "attempts") -> None:
        """Raise TooManyRequestsError when `key` has reached its limit."""
        wait = self.retry_after(key)
        if wait is not None:
            raise TooManyRequestsError(f"too many failed {what}; retry later", retry_after=float(math.ceil(wait)))

    def record(self, key: str) -> None:
        """Count one event for `key` now."""
        now = self._clock()
        events = self._live(key, now)
        if events is None:
            events = deque(maxlen=self.limit)
            self._events[key] = events
            while len(self._events) > self._max_tracked:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        events.append(now)

    def clear(self, key: str) -> None:
        """Forget `key` (an operator unblocking an address, say)."""
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)


class AuthFailureThrottle:
    """The two limiters of the sign-in path: per client address and per key prefix."""

    def __init__(
        self,
        *,
        per_client: int = 20,
        per_prefix: int = 20,
        window_s: float = 300.0,
        clock: Clock = time.monotonic,
        max_tracked: int = 100_000,
    ) -> None:
        self.clients = SlidingWindowLimiter(limit=per_client, window_s=window_s, clock=clock, max_tracked=max_tracked)
        self.prefixes = SlidingWindowLimiter(limit=per_prefix, window_s=window_s, clock=clock, max_tracked=max_tracked)

    def check_client(self, client: str) -> None:
        """Refuse a client address that failed too often (call after a failure only)."""
        self.clients.check(client_key(client), "sign-in attempts from this address")

    def check_prefix(self, prefix: str) -> None:
        """Refuse further wrong guesses at one key prefix (call after a failure only)."""
        self.prefixes.check(prefix, "attempts with this API key")

    def record_failure(self, client: str, *, key_prefix: str | None = None) -> None:
        """Count one failed authentication for the client and, if known, the key prefix."""
        self.clients.record(client_key(client))
        if key_prefix:
            self.prefixes.record(key_prefix)
