"""Authentication, the api-version check and the TSTU limit, in front of every API route.

- **PAT**: ``Authorization: Basic base64(<any user name>:<PAT>)`` (the spec's
  ``accessToken`` scheme: "Use any value for the user name and the token as the password").
- **Microsoft Entra ID**: ``Authorization: Bearer <token>`` from the simulated token
  endpoint ``POST /{tenant}/oauth2/v2.0/token`` (client credentials, scope
  ``499b84ac-1321-427f-aa17-267ca6975798/.default``, Azure DevOps' resource id). The
  service principal acts as an identity added to the organization.
- Refused credentials answer **401** ``TF400813`` with the ``WWW-Authenticate`` challenges
  the service sends; an expired bearer token too.
- ``api-version`` is required (the spec marks it required on every operation): missing →
  400; a preview-only route (comments) called without ``-preview`` → 400, as the service does.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from simulators.azure_devops.errors import AdoError
from simulators.azure_devops.state import SimState, sim_state
from simulators.azure_devops.store import Identity
from simulators.azure_devops.tstu import TstuLimiter

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
TOKEN_LIFETIME_S = 3599
_CHALLENGE = 'Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm="https://dev.azure.com/"'

router = APIRouter()


def _unauthorized(message: str = "") -> AdoError:
    return AdoError(
        401,
        message or "TF400813: The user '' is not authorized to access this resource.",
        "UnauthorizedRequestException",
        headers={"WWW-Authenticate": _CHALLENGE, "X-TFS-FedAuthRedirect": "Suppressed"},
    )


def authenticate(state: SimState, header: str) -> Identity:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized() from None
        _, _, pat = decoded.partition(":")
        who = state.store.identity_by_pat(pat) if pat else None
        if who is None:
            raise _unauthorized()
        return who
    if scheme.lower() == "bearer" and value:
        held = state.store.bearer_tokens.get(value)
        if held is None:
            raise _unauthorized()
        if state.clock.monotonic() >= held[1]:
            raise _unauthorized("TF400813: The access token has expired.")
        return state.store.identities[held[0]]
    raise _unauthorized()


def request_class(method: str, path: str) -> str:
    low = path.lower()
    if "/wiql" in low:
        return "query"
    if method == "POST" and low.endswith("/workitemsbatch"):
        return "read"
    if "/attachments" in low and method in ("POST", "PUT"):
        return "upload"
    return "read" if method in ("GET", "HEAD") else "write"


def check_api_version(request: Request, *, preview: bool = False) -> None:
    version = request.query_params.get("api-version")
    if not version:
        raise AdoError(
            400,
            "VS800075: The request did not specify an api-version. Specify "
            "api-version=7.1 (the version this organization serves).",
            "VssVersionNotSpecifiedException",
        )
    if not version.startswith(("7.0", "7.1")):
        raise AdoError(
            400,
            f"VS800071: The requested REST API version of {version} is out of "
            "range for this server. The latest REST API version for this server is "
            "7.1.",
            "VssVersionOutOfRangeException",
        )
    if preview and "-preview" not in version:
        raise AdoError(
            400,
            f'VS800063: The requested version "{version}" of the resource is '
            "under preview. The -preview flag must be supplied in the api-version "
            'for such requests. For example: "7.1-preview"',
            "VssInvalidPreviewVersionException",
        )


def caller(request: Request, *, preview: bool = False) -> Identity:
    """The authenticated identity of an API request (after the api-version and TSTU checks)."""
    state = sim_state(request)
    org = request.path_params.get("organization", "")
    if org.lower() != state.store.organization.lower():
        raise AdoError(404, f"VS800075: The organization '{org}' does not exist.", "HostDoesNotExistException")
    who = authenticate(state, request.headers.get("authorization", ""))
    check_api_version(request, preview=preview)
    limiter = state.runtime.limiters.get("tstu")
    if isinstance(limiter, TstuLimiter):
        wait = limiter.charge(who.id, request_class(request.method, request.url.path))
        if wait is not None:
            raise AdoError(
                429,
                "TF400733: The request has been canceled: Request was blocked "
                "due to exceeding usage of resource 'ATCPU' in namespace 'User'.",
                "RequestBlockedException",
                headers=limiter.headers(who.id, wait),
            )
        if limiter.near(who.id):
            request.state.rate_headers = limiter.headers(who.id, None)
    return who


def preview_caller(request: Request) -> Identity:
    return caller(request, preview=True)


# --- the Entra ID token endpoint (client credentials) -----------------------------------


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _aad_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code]}, status_code=status
    )


@router.post("/{tenant}/oauth2/v2.0/token")
async def token_endpoint(tenant: str, request: Request) -> JSONResponse:
    state = sim_state(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if tenant.lower() != state.store.tenant_id.lower():
        return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    if form.get("grant_type") != "client_credentials":
        return _aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    app = state.store.apps.get(form.get("client_id", ""))
    if app is None:
        return _aad_error(400, "unauthorized_client", 700016, "Application was not found.")
    if form.get("client_secret") != app.client_secret:
        return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    if form.get("scope", "").strip() != f"{ADO_RESOURCE}/.default":
        return _aad_error(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
    token = ".".join(
        (
            _b64({"typ": "JWT", "alg": "none"}),
            _b64({"aud": ADO_RESOURCE, "tid": state.store.tenant_id, "appid": app.client_id}),
            secrets.token_urlsafe(24),
        )
    )
    state.store.bearer_tokens[token] = (app.identity_id, state.clock.monotonic() + TOKEN_LIFETIME_S)
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": token,
        },
        headers={"Cache-Control": "no-store"},
    )
