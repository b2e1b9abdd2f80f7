"""Credentials as request headers, and token sources that can be refreshed.

``ApiClient`` asks its ``Credential`` for headers before every request. After a 401 it asks
once for fresh headers (``refresh`` with the headers that were refused, so concurrent callers
refresh once between them) and sends again; a second 401 is the vendor's final word
(``AuthRequiredError``: the run pauses until the user reconnects).
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import httpx

from shared.contract.clock import Clock, SystemClock
from shared.errors import AuthRequiredError, TransientError


class Credential(Protocol):
    #: whether ``refresh`` can yield other headers (False for static tokens)
    refreshable: bool

    async def headers(self) -> dict[str, str]:
        """Headers that authorise a request now."""
        ...

    async def refresh(self, refused: Mapping[str, str]) -> dict[str, str]:
        """New headers after ``refused`` got a 401 (raises ``AuthRequiredError`` if none)."""
        ...


class StaticHeaders:
    """A credential that cannot be refreshed (API token, PAT, key + token): a 401 means it
    was revoked or mistyped."""

    refreshable = False

    def __init__(self, headers: Mapping[str, str], *, vendor: str) -> None:
        self._headers = dict(headers)
        self.vendor = vendor

    async def headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def refresh(self, refused: Mapping[str, str]) -> dict[str, str]:
        raise AuthRequiredError(f"{self.vendor} refused the credentials: reconnect the connector")


def bearer(token: str, *, vendor: str) -> StaticHeaders:
    return StaticHeaders({"Authorization": f"Bearer {token}"}, vendor=vendor)


def basic(user: str, secret: str, *, vendor: str) -> StaticHeaders:
    """HTTP basic (Jira email + API token, Azure DevOps PAT with an empty user)."""
    pair = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return StaticHeaders({"Authorization": f"Basic {pair}"}, vendor=vendor)


class TokenSource:
    """Bearer tokens from a grant, cached until ``skew_s`` before they expire; one refresh at a
    time, and none when another caller already replaced the refused token."""

    refreshable = True

    def __init__(
        self, grant: Callable[[], Awaitable[tuple[str, float]]], *, clock: Clock | None = None, skew_s: float = 60.0
    ) -> None:
        self._grant = grant
        self.clock = clock or SystemClock()
        self.skew_s = skew_s
        self._token: str | None = None
        self._expires = -math.inf
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and self.clock.monotonic() < self._expires - self.skew_s:
            return self._token
        return await self._renew(self._token)

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}

    async def refresh(self, refused: Mapping[str, str]) -> dict[str, str]:
        stale = refused.get("Authorization", "").removeprefix("Bearer ")
        return {"Authorization": f"Bearer {await self._renew(stale, force=True)}"}

    async def _renew(self, stale: str | None, *, force: bool = False) -> str:
        async with self._lock:
            live = self._token and self.clock.monotonic() < self._expires - self.skew_s
            if self._token and self._token != stale and (live or force):
                return self._token  # another caller renewed it while we waited
            token, lifetime = await self._grant()
            self._token = token
            self._expires = self.clock.monotonic() + lifetime
            return token


def oauth_refresh_grant(
    http: httpx.AsyncClient, token_url: str, form: dict[str, str], *, vendor: str
) -> Callable[[], Awaitable[tuple[str, float]]]:
    """The OAuth 2.0 refresh-token grant (RFC 6749 §6). A rotated refresh token replaces the
    old one in ``form``; a refused grant (400/401/403) means the user must reconnect."""

    async def grant() -> tuple[str, float]:
        body = await token_request(http, token_url, form, vendor=vendor)
        if body.get("refresh_token"):
            form["refresh_token"] = str(body["refresh_token"])
        return str(body["access_token"]), float(str(body.get("expires_in", 3600)))

    return grant


async def token_request(
    http: httpx.AsyncClient, token_url: str, form: Mapping[str, str], *, vendor: str, json_body: bool = False
) -> dict[str, object]:
    """POST a token request form; errors in the kit's terms (never the form in a message).
    ``json_body`` sends the parameters as a JSON object instead (Atlassian's token endpoint
    documents ``Content-Type: application/json``)."""
    try:
        if json_body:
            resp = await http.post(token_url, json=dict(form))
        else:
            resp = await http.post(token_url, data=dict(form))
    except httpx.TransportError as exc:
        raise TransientError(f"{vendor} token endpoint unreachable: {type(exc).__name__}") from exc
    if resp.status_code in (400, 401, 403):
        raise AuthRequiredError(f"{vendor} refused the token request ({_oauth_error(resp)}): reconnect the connector")
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientError(f"{vendor} token endpoint answered {resp.status_code}")
    if resp.status_code >= 300:
        raise AuthRequiredError(f"{vendor} token endpoint answered {resp.status_code}")
    try:
        body = resp.json()
        str(body["access_token"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TransientError(f"{vendor} token endpoint sent no access token") from exc
    return dict(body)


def _oauth_error(resp: httpx.Response) -> str:
    # RFC 6749 §5.2 error codes, plus Entra's description (AADSTS…), both safe to show.
    try:
        body = resp.json()
    except ValueError:
        return str(resp.status_code)
    if not isinstance(body, dict):
        return str(resp.status_code)
    code = str(body.get("error", resp.status_code))
    description = str(body.get("error_description", ""))[:160]
    return f"{code}: {description}" if description else code
