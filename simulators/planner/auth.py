"""Simulated Entra ID token endpoint and Graph bearer-token checks (with throttling).

`POST /{tenant}/oauth2/v2.0/token` (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
and .../v2-oauth-ropc) issues opaque JWT-shaped tokens that the Graph routes accept; the token
registry lives in the store, so a forged or foreign token is refused.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from simulators.planner.errors import AadError, GraphError
from simulators.planner.state import SimState, sim_state
from simulators.planner.store import Principal, Token, User

GRAPH_RESOURCE = "https://graph.microsoft.com"
TOKEN_LIFETIME_S = 3599
DELEGATED_SCOPES = "Group.ReadWrite.All Tasks.ReadWrite User.Read User.ReadBasic.All Files.ReadWrite.All"

router = APIRouter()


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _mint(state: SimState, app_id: str, user: User | None, scope: str) -> str:
    """A JWT-shaped opaque token (unsigned: only this simulator's registry makes it valid)."""
    claims: dict[str, Any] = {"aud": GRAPH_RESOURCE, "tid": state.store.tenant_id, "appid": app_id}
    if user is not None:
        claims.update({"oid": user.id, "upn": user.user_principal_name, "scp": scope})
    token = ".".join((_b64({"typ": "JWT", "alg": "none"}), _b64(claims), secrets.token_urlsafe(24)))
    expires = state.clock.monotonic() + TOKEN_LIFETIME_S
    state.store.tokens[token] = Token(app_id, user.id if user else None, expires, scope)
    return token


def _tenant_known(state: SimState, tenant: str, grant_type: str) -> bool:
    store = state.store
    if tenant.lower() in (store.tenant_id.lower(), store.tenant_domain.lower()):
        return True
    # 'organizations' / 'common' only make sense for user sign-in, not for app-only tokens.
    return grant_type in ("password", "refresh_token") and tenant in ("organizations", "common")


@router.post("/{tenant}/oauth2/v2.0/token")
async def token_endpoint(tenant: str, request: Request) -> JSONResponse:
    """Client credentials, resource owner password (ROPC) and refresh token grants."""
    state = sim_state(request)
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}
    grant_type = params.get("grant_type")
    if not grant_type:
        raise AadError(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    if not _tenant_known(state, tenant, grant_type):
        raise AadError(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    if grant_type not in ("client_credentials", "password", "refresh_token"):
        raise AadError(
            400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    app_id = params.get("client_id", "")
    app = state.store.apps.get(app_id)
    if app is None:
        raise AadError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{app_id}' was not found in the directory '{state.store.tenant_domain}'.",
        )
    secret = params.get("client_secret")
    if grant_type == "client_credentials" and not secret:
        raise AadError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if secret is not None and secret != app.client_secret:
        raise AadError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the "
            f"request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{app_id}'.",
        )
    if grant_type == "refresh_token":
        return _refresh(state, params)
    scope = params.get("scope")
    if not scope:
        raise AadError(
            400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    if grant_type == "client_credentials":
        if not scope.strip().endswith("/.default"):
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        token = _mint(state, app_id, None, f"{GRAPH_RESOURCE}/.default")
        return _token_response(token, f"{GRAPH_RESOURCE}/.default")
    return _password(state, app_id, params, scope)


def _password(state: SimState, app_id: str, params: dict[str, str], scope: str) -> JSONResponse:
    username = params.get("username", "")
    user = state.store.user_by_key(username)
    if user is None:
        raise AadError(
            400,
            "invalid_grant",
            50034,
            f"The user account {username} does not exist in the "
            f"{state.store.tenant_id} directory. To sign into this application, the "
            "account must be added to the directory.",
        )
    if params.get("password") != user.password:
        raise AadError(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
    if not user.account_enabled:
        raise AadError(400, "invalid_grant", 50057, "The user account is disabled.")
    if user.mfa_required:
        raise AadError(
            400,
            "invalid_grant",
            50076,
            "Due to a configuration change made by your administrator, or because "
            "you moved to a new location, you must use multi-factor authentication "
            f"to access '{GRAPH_RESOURCE}'.",
        )
    granted = DELEGATED_SCOPES + (" offline_access" if "offline_access" in scope else "")
    token = _mint(state, app_id, user, granted)
    refresh = None
    if "offline_access" in scope:
        refresh = secrets.token_urlsafe(48)
        state.store.refresh_tokens[refresh] = Token(app_id, user.id, math.inf, granted)
    return _token_response(token, granted, refresh)


def _refresh(state: SimState, params: dict[str, str]) -> JSONResponse:
    old = state.store.refresh_tokens.pop(params.get("refresh_token", ""), None)
    if old is None or old.app_id != params.get("client_id"):
        raise AadError(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    user = state.store.users.get(old.user_id or "")
    if user is None or not user.account_enabled:
        raise AadError(400, "invalid_grant", 50057, "The user account is disabled.")
    token = _mint(state, old.app_id, user, old.scope)
    refresh = secrets.token_urlsafe(48)
    state.store.refresh_tokens[refresh] = old
    return _token_response(token, old.scope, refresh)


def _token_response(token: str, scope: str, refresh: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": TOKEN_LIFETIME_S,
        "ext_expires_in": TOKEN_LIFETIME_S,
        "access_token": token,
    }
    if refresh:
        body["refresh_token"] = refresh
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


_CHALLENGE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",'
    ' client_id="00000003-0000-0000-c000-000000000000"'
)


def _unauthorized(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={"WWW-Authenticate": _CHALLENGE})


def graph_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller of a Graph route (401 if unauthenticated, 429 if throttled)."""
    state = sim_state(request)
    token = check_token(request)
    limiter = state.runtime.limiters.get("app")
    wait = limiter.hit(token.app_id) if limiter is not None and hasattr(limiter, "hit") else None
    if wait is not None:
        raise GraphError(
            429,
            "TooManyRequests",
            "Too many requests are being sent. Please retry after the time in Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return Principal(app_id=token.app_id, user_id=token.user_id)


def check_token(request: Request) -> Token:
    """The caller's valid token (401 if there is none), without counting a request."""
    state = sim_state(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not value or scheme.lower() != "bearer":
        raise _unauthorized("Access token is empty.")
    token = state.store.tokens.get(value.strip())
    if token is None:
        if "." not in value:
            raise _unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
        raise _unauthorized("Access token validation failure. Invalid audience.")
    if state.clock.monotonic() >= token.expires_at:
        raise _unauthorized("Lifetime validation failed, the token is expired.")
    return token


def require_user(principal: Principal) -> str:
    """Routes like /me need a delegated (user) token."""
    if principal.user_id is None:
        raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    return principal.user_id
