"""Where the bearer token comes from: a personal access token, or an OAuth app's refresh token.

OAuth (https://developers.asana.com/docs/oauth): ``POST https://app.asana.com/-/oauth_token``
with ``grant_type=refresh_token``, ``client_id``, ``client_secret`` and ``refresh_token``
returns an ``access_token`` valid ``expires_in`` seconds (one hour). The token is refreshed
shortly before it expires and once more when the API answers 401. A refused grant means
the user must reconnect: ``AuthRequiredError`` (the run pauses).
"""
from __future__ import annotations

import asyncio
from typing import Protocol

import httpx

from shared.contract.clock import Clock, SystemClock
from shared.contract.httperrors import error_for_response
from shared.errors import AuthRequiredError, TransientError

OAUTH_TOKEN_URL = "https://app.asana.com/-/oauth_token"


class TokenSource(Protocol):
    #: whether ``refresh`` can produce a new token (False for a PAT)
    refreshable: bool

    async def token(self) -> str:
        """A token believed valid now."""
        ...

    async def refresh(self, stale: str | None = None) -> str:
        """A new token (``stale`` is the one the API refused, to avoid double refreshes)."""
        ...


class StaticToken:
    """A personal access token: nothing to refresh; a 401 means it was revoked."""

    refreshable = False

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    async def refresh(self, stale: str | None = None) -> str:
        raise AuthRequiredError("the Asana personal access token was refused")


class OAuthRefresher:
    """Access tokens from an OAuth app's refresh token (one refresh at a time)."""

    refreshable = True

    def __init__(self, http: httpx.AsyncClient, *, client_id: str, client_secret: str,
                 refresh_token: str, token_url: str = OAUTH_TOKEN_URL,
                 clock: Clock | None = None, skew_s: float = 60.0) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._refresh_token = refresh_token
        self.clock = clock or SystemClock()
        self.skew_s = skew_s
        self._access: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._access and self.clock.monotonic() < self._expires_at - self.skew_s:
            return self._access
        return await self.refresh(self._access)

    async def refresh(self, stale: str | None = None) -> str:
        async with self._lock:
            if self._access and self._access != stale and (
                    self.clock.monotonic() < self._expires_at - self.skew_s):
                return self._access  # another caller refreshed while we waited
            try:
                resp = await self.http.post(self.token_url, data={
                    "grant_type": "refresh_token", "client_id": self.client_id,
                    "client_secret": self._secret, "refresh_token": self._refresh_token})
            except httpx.TransportError as exc:
                raise TransientError(f"Asana token endpoint unreachable: {exc}") from exc
            if resp.status_code in (400, 401, 403):
                error = _oauth_error(resp)
                raise AuthRequiredError(f"Asana refused the OAuth refresh token ({error}): "
                                        "reconnect the connector")
            err = error_for_response(resp)
            if err is not None:
                raise err
            body = resp.json()
            self._access = str(body["access_token"])
            self._expires_at = self.clock.monotonic() + float(body.get("expires_in", 3600))
            if body.get("refresh_token"):
                self._refresh_token = str(body["refresh_token"])
            return self._access


def _oauth_error(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error", resp.status_code))
    except ValueError:
        return str(resp.status_code)
