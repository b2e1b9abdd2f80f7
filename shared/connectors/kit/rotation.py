"""Refresh tokens that rotate: every refresh answers a new refresh token and the old one stops
working (Atlassian's OAuth 2.0 3LO apps, https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/).

A rotated token held only in memory is a lockout waiting to happen: the next worker, or the
next run, still holds the old one. So ``RotatingRefreshGrant`` hands the new refresh token to
the runtime's ``SecretKeeper`` (the connections layer re-seals it in the vault with a
compare-and-set on the connector document) *before* the access token that came with it is
used. Connectors stay pure: they see the keeper only as this protocol.

Two holders of one connector (two worker processes, or a worker and a connection test) may
refresh at once. The vendor takes the old token once: the loser's grant is refused. The
loser then re-reads the stored token (waiting briefly while the winner is still storing it)
and, when another one is stored by now, retries with it (a few times at most, never with a
token already refused: with more holders the stored one may be used up again before it is
presented); a refusal that no newly stored token explains pauses the run
(``AuthRequiredError``).

What cannot be saved: the vendor rotated the token but its answer never arrived (the new
token was never seen). The old one is then dead and the run pauses with the vendor's reason;
the user reconnects.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

import httpx

from shared.connectors.kit.auth import token_request
from shared.contract.clock import Clock, SystemClock
from shared.errors import AuthRequiredError, TransientError

#: the dotted path of a refresh token in a connection (``split_secrets``' names)
REFRESH_TOKEN_PATH = "auth.refresh_token"
#: how long a refused holder waits, in steps, for a concurrent winner to store its token: a
#: winner stores right after its grant (one document write), so a few seconds cover it
SETTLE_DELAYS_S = (0.25, 0.5, 1.0, 2.0)
#: stored successors a refused holder tries before the refusal stands (two holders racing
#: need one; each further concurrent rotation may need one more)
MAX_SUCCESSORS = 3


class SecretKeeper(Protocol):
    """Where a connection's secrets are kept between runs, as a connector may use it: read one
    secret field, and replace it only where it still holds what this holder knew."""

    async def stored(self, path: str) -> str | None:
        """The value of secret ``path`` (``auth.refresh_token``) stored now, None if unset."""
        ...

    async def replace(self, path: str, previous: Collection[str], fresh: str) -> bool:
        """Store ``fresh`` as secret ``path`` if the stored value is one of ``previous`` (or
        ``fresh`` already). True when ``fresh`` is stored now; False when another value is
        stored (the user reconnected meanwhile): that one is left as it is. Raises
        ``AuthRequiredError`` when the connection is gone or its secrets are unreadable, any
        other error when the store could not be reached (the write may or may not have
        applied)."""
        ...


class RotatingRefreshGrant:
    """The OAuth 2.0 refresh-token grant (RFC 6749 §6) for a ``TokenSource``, storing every
    rotated refresh token through ``keeper`` before its access token is returned.

    ``form`` holds ``grant_type``, ``client_id``, ``client_secret`` and ``refresh_token``.
    Without a keeper (a test, a one-off script) the rotated token lives in memory only.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        form: Mapping[str, str],
        *,
        vendor: str,
        keeper: SecretKeeper | None = None,
        path: str = REFRESH_TOKEN_PATH,
        json_body: bool = False,
        clock: Clock | None = None,
        settle_delays_s: tuple[float, ...] = SETTLE_DELAYS_S,
    ) -> None:
        self._http = http
        self._url = token_url
        self._form = dict(form)
        self._vendor = vendor
        self._keeper = keeper
        self._path = path
        self._json = json_body
        self._clock = clock or SystemClock()
        self._settle = settle_delays_s
        #: the values the keeper may hold as ours: the one we started from, plus any fresh one
        #: whose write failed (it may have applied before the answer was lost)
        self._known: set[str] = {self._form["refresh_token"]}

    async def __call__(self) -> tuple[str, float]:
        refused: set[str] = set()
        while True:
            try:
                body = await self._request()
                break
            except AuthRequiredError:
                refused.add(self._form["refresh_token"])
                # Another holder may have rotated it first: retry with the token it stored.
                # The stored one may itself be used up by the time we present it (a third
                # rotation raced ours), so a few successors are tried, never one twice.
                successor = await self._successor(refused) if len(refused) <= MAX_SUCCESSORS else None
                if successor is None:
                    raise
                self._form["refresh_token"] = successor
                self._known = {successor}
        await self._keep(str(body.get("refresh_token") or ""))
        return str(body["access_token"]), float(str(body.get("expires_in", 3600)))

    async def _request(self) -> dict[str, object]:
        return await token_request(self._http, self._url, self._form, vendor=self._vendor, json_body=self._json)

    async def _successor(self, refused: Collection[str]) -> str | None:
        """A stored refresh token not yet ``refused``, waiting a little for a concurrent
        winner to finish storing it; None when nobody replaced it (the refusal stands)."""
        if self._keeper is None:
            return None
        for delay in (0.0, *self._settle):
            if delay:
                await self._clock.sleep(delay)
            stored = await self._keeper.stored(self._path)
            if stored and stored not in refused:
                return stored
        return None

    async def _keep(self, fresh: str) -> None:
        """Store a rotated refresh token; until it is stored, its access token is not used."""
        if not fresh or fresh == self._form["refresh_token"]:
            return  # the vendor did not rotate it
        self._form["refresh_token"] = fresh  # in memory first: it is the only live one now
        if self._keeper is None:
            return
        try:
            await self._keeper.replace(self._path, frozenset(self._known), fresh)
        except AuthRequiredError:
            raise
        except Exception as exc:
            # The write may have applied before it failed: the next store accepts either.
            # The call is retried (the pacer) and refreshes again from the fresh token.
            self._known.add(fresh)
            raise TransientError(
                f"{self._vendor}: the rotated refresh token could not be stored yet ({type(exc).__name__})"
            ) from exc
        # Stored, or another value (a reconnection) is stored and stays: either way the next
        # store may replace only what we hold now.
        self._known = {fresh}
