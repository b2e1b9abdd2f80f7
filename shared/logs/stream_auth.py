"""A long response (a log stream) ends when its credential stops holding.

Authorisation is checked when a request starts; a live stream may then run for minutes
(up to 540 s). Within it the key may be revoked, the member deactivated or removed, the
org deleted, or the bearer token may expire. `StreamAuthorisation` is asked before each
event: at the token's expiry it ends the stream at once, and every `interval_s` it runs
the same authorisation again (`recheck`, which raises as the request would have). The
wait between checks bounds how long a revoked credential can keep reading: 30 s, the
same order as the heartbeat, and one cheap point read per stream per interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from shared.errors import AuthenticationError, NotFoundError, PermissionDeniedError, TooManyRequestsError

log = logging.getLogger("ferry.logs")
RECHECK_INTERVAL_S = 30.0
Clock = Callable[[], float]

#: What a failed recheck means for the stream; anything else (a storage hiccup) does not end it.
#: A recheck spends no request rate, so a 429 there is the failure throttle refusing a
#: credential that just failed.
_REFUSALS = (AuthenticationError, PermissionDeniedError, NotFoundError, TooManyRequestsError)


class StreamAuthorisation:
    """Tells a stream when to stop because its caller may no longer read it."""

    def __init__(
        self,
        recheck: Callable[[], Awaitable[object]],
        *,
        expires_at: float | None,
        interval_s: float = RECHECK_INTERVAL_S,
        clock: Clock = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._recheck = recheck
        self._expires_at = expires_at
        self._interval_s = interval_s
        self._clock = clock
        self._next_check = clock() + interval_s
        self.reason: str | None = None

    async def ended(self) -> str | None:
        """None while the caller may go on reading; otherwise why the stream ends (sticky)."""
        if self.reason is not None:
            return self.reason
        now = self._clock()
        if self._expires_at is not None and now >= self._expires_at:
            self.reason = "credentials expired"
            return self.reason
        if now < self._next_check:
            return None
        self._next_check = now + self._interval_s
        try:
            await self._recheck()
        except _REFUSALS as exc:
            self.reason = f"access ended: {exc.detail}"
        except Exception as exc:
            log.warning("stream re-authorisation could not run: %s", type(exc).__name__)
            self._next_check = now + min(self._interval_s, 5.0)
        return self.reason
