"""Asana's OAuth token endpoint, ``POST https://app.asana.com/-/oauth_token``.

https://developers.asana.com/docs/oauth : form-encoded ``grant_type`` = ``authorization_code``
(with ``code`` and ``redirect_uri``) or ``refresh_token``, plus ``client_id`` and
``client_secret``. The answer carries ``access_token`` (bearer, ``expires_in`` 3600 s),
``token_type``, ``data`` (the user) and, for a code exchange, a ``refresh_token``.
Errors follow RFC 6749 (``{"error": "invalid_grant", "error_description": ...}``).
The seed registers one client and a refresh token and an authorization code per user.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from simulators.asana.store import AsanaStore

TOKEN_PATH = "/-/oauth_token"
ACCESS_TTL_S = 3600
router = APIRouter()


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


@router.post(TOKEN_PATH)
async def oauth_token(request: Request) -> JSONResponse:
    """Exchange a code or a refresh token for an access token."""
    store: AsanaStore = request.app.state.asana_store
    form = await request.form()
    client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    if not client_id or store.oauth_clients.get(client_id) != secret:
        return _error(401, "invalid_client", "The client credentials are invalid")
    grant = form.get("grant_type")
    refresh: str | None = None
    if grant == "refresh_token":
        user_gid = store.refresh_tokens.get(str(form.get("refresh_token") or ""))
    elif grant == "authorization_code":
        user_gid = store.auth_codes.pop(str(form.get("code") or ""), None)
        if user_gid is not None:
            refresh = f"asana-sim-refresh-{secrets.token_hex(8)}"
            store.refresh_tokens[refresh] = user_gid
    else:
        return _error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    if user_gid is None or user_gid not in store.users:
        return _error(400, "invalid_grant", "The grant is invalid, expired or revoked")
    access = f"asana-sim-access-{secrets.token_hex(12)}"
    store.tokens[access] = user_gid
    store.token_expiry[access] = store.clock.monotonic() + ACCESS_TTL_S
    user = store.users[user_gid]
    body: dict[str, object] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL_S,
        "data": {"id": int(user.gid), "gid": user.gid, "name": user.name, "email": user.email},
    }
    if refresh:
        body["refresh_token"] = refresh
    return JSONResponse(body)
