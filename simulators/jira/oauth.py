"""Atlassian's OAuth 2.0 (3LO) endpoints, as far as a server-side client uses them.

https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ :

- ``POST https://auth.atlassian.com/oauth/token`` with a JSON body: ``grant_type`` =
  ``authorization_code`` (``client_id``, ``client_secret``, ``code``, ``redirect_uri``) or
  ``refresh_token`` (``client_id``, ``client_secret``, ``refresh_token``). The answer carries
  ``access_token`` (``expires_in`` 3600 s), ``token_type`` ``Bearer``, ``scope`` and a
  ``refresh_token``. Refresh tokens rotate: each refresh answers a new one and the old one
  stops working.
- ``GET https://api.atlassian.com/oauth/token/accessible-resources`` (bearer): the sites the
  token may reach, each with the ``id`` (cloudId) that API calls put in
  ``/ex/jira/<cloudId>/rest/api/3/…``.

Errors follow RFC 6749 (``{"error": "invalid_grant", "error_description": …}``).
"""

from __future__ import annotations

import json
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.jira.store import JiraStore

ACCESS_TTL_S = 3600
SCOPES = "read:jira-work write:jira-work read:jira-user manage:jira-project offline_access"
router = APIRouter()


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


@router.post("/oauth/token")
async def oauth_token(request: Request) -> JSONResponse:
    """Exchange an authorization code or a refresh token for an access token."""
    store: JiraStore = request.app.state.jira_store
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _error(400, "invalid_request", "the body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "invalid_request", "the body must be a JSON object")
    client_id, secret = str(body.get("client_id") or ""), str(body.get("client_secret") or "")
    with store.lock:
        if not client_id or store.oauth_clients.get(client_id) != secret:
            return _error(401, "access_denied", "Unauthorized")
        grant = body.get("grant_type")
        if grant == "refresh_token":
            account = store.refresh_tokens.pop(str(body.get("refresh_token") or ""), None)
        elif grant == "authorization_code":
            account = store.auth_codes.pop(str(body.get("code") or ""), None)
        else:
            return _error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        if account is None or account not in store.users:
            return _error(403, "invalid_grant", "Unknown or invalid refresh token.")
        access = f"jira-sim-access-{secrets.token_hex(16)}"
        refresh = f"jira-sim-refresh-{secrets.token_hex(16)}"
        store.access_tokens[access] = (account, store.clock.monotonic() + ACCESS_TTL_S)
        store.refresh_tokens[refresh] = account
    return JSONResponse(
        {
            "access_token": access,
            "expires_in": ACCESS_TTL_S,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": SCOPES,
        }
    )


@router.get("/oauth/token/accessible-resources")
async def accessible_resources(request: Request) -> JSONResponse:
    """The one site this simulator is, for a valid bearer token."""
    store: JiraStore = request.app.state.jira_store
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    held = store.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    if held is None or held[1] <= store.clock.monotonic():
        return JSONResponse({"code": 401, "message": "Unauthorized"}, status_code=401)
    site = str(request.base_url).rstrip("/")
    return JSONResponse(
        [
            {
                "id": store.cloud_id,
                "url": site,
                "name": "ferry-sim",
                "scopes": SCOPES.split(),
                "avatarUrl": f"{site}/avatar.png",
            }
        ]
    )
