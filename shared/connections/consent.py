"""The OAuth consent of a connector whose sign-in is an OAuth app (Asana's `oauth_app`): the
authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636, S256) that yields the refresh
token Ferry keeps sealed in the vault.

1. `start_consent` (a connector manager, `POST …/connectors/{id}/consent`) makes a state —
   `<org id>.<connector id>.<nonce>` — and a PKCE verifier, stores a single-use record of them
   (bound to the org, the connector and the caller; the verifier sealed by the vault; gone
   after `CONSENT_TTL_S`) and answers the vendor's authorize URL.
2. The vendor sends the browser back to the redirect URI (the console's
   `/console/oauth/callback`) with `code` and `state`.
3. `finish_consent` (the same caller, `POST …/consent/callback`) takes the record (deleted
   first: a state is used once, even by two callbacks at the same moment), checks caller and
   expiry, exchanges the code with the verifier at the vendor's token endpoint through the
   SSRF guard, and stores the refresh token sealed in the connector, as a PATCH would.

Records live in the `idempotency` container (partition = the org; purged with it; the
retention sweep deletes them once `expiresAt` has passed). Nothing of the flow is logged.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from shared.connections.service import allow_loopback_for, connection_of, get_connector, update_connector
from shared.connectors.asana.auth import token_url_for
from shared.connectors.kit.auth import token_request
from shared.connectors.settings import AsanaConnection, AsanaOAuthApp, ConnectionBase
from shared.errors import PermissionDeniedError, ValidationFailed
from shared.net.http import build_client
from shared.store.repository import TenantRepository, iso, utcnow
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.vault.regional import vault_for

#: how long a started consent may take (the person signs in at the vendor meanwhile)
CONSENT_TTL_S = 600
#: the console page the vendor sends the browser back to (same origin as the API)
CONSOLE_CALLBACK_PATH = "/console/oauth/callback"
VERIFIER_FIELD = "consent.code_verifier"
ASANA_AUTHORIZE_URL = "https://app.asana.com/-/oauth_authorize"


class ConsentRecords(TenantRepository):
    """Started consents, one document per state (`consent:<sha256 of the nonce>`)."""

    container_name = "idempotency"


@dataclass(frozen=True)
class ConsentApp:
    """What the flow needs of a vendor's OAuth app."""

    vendor: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str
    #: the redirect URI registered with the app, when the connector names one
    redirect_uri: str | None
    pkce: bool
    scopes: tuple[str, ...] = ()


def _origin_of(url: str) -> str:
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode()}"


def consent_app(connection: ConnectionBase) -> ConsentApp:
    """The OAuth app of a connection whose sign-in method has a consent step; ValidationFailed
    for any other (a PAT, a password, a kind without OAuth apps)."""
    if isinstance(connection, AsanaConnection) and isinstance(connection.auth, AsanaOAuthApp):
        auth = connection.auth
        # Asana's consent page and token endpoint live on app.asana.com, beside /api/1.0
        # (https://developers.asana.com/docs/oauth); a simulator's on its own origin.
        authorize = (
            f"{_origin_of(connection.base_url)}/-/oauth_authorize" if connection.base_url else ASANA_AUTHORIZE_URL
        )
        return ConsentApp(
            vendor="Asana",
            authorize_url=authorize,
            token_url=token_url_for(connection),
            client_id=auth.client_id,
            client_secret=auth.client_secret.get_secret_value(),
            redirect_uri=auth.redirect_uri,
            pkce=True,  # Asana supports S256 code challenges
        )
    raise ValidationFailed(
        "this connector's sign-in method has no consent step (only an OAuth app has one)",
        field="connection.auth.type",
        errors=[{"field": "connection.auth.type", "message": "not an OAuth app"}],
    )


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _record_id(nonce: str) -> str:
    return "consent:" + hashlib.sha256(nonce.encode()).hexdigest()


def check_redirect_uri(app: ConsentApp, requested: str | None, api_origin: str) -> str:
    """The redirect URI of this consent: the app's registered one, or the console's callback
    on the API's own origin. Anything else is refused (the code must come back to Ferry)."""
    allowed = {f"{api_origin}{CONSOLE_CALLBACK_PATH}"} | ({app.redirect_uri} if app.redirect_uri else set())
    chosen = requested or app.redirect_uri or f"{api_origin}{CONSOLE_CALLBACK_PATH}"
    if chosen not in allowed or urlsplit(chosen).scheme not in ("http", "https"):
        raise ValidationFailed(
            "redirectUri: must be the connector's redirect URI or this console's callback",
            field="redirectUri",
            errors=[{"field": "redirectUri", "message": "not the connector's redirect URI or this console's callback"}],
        )
    return chosen


async def start_consent(
    ctx: TenantContext,
    connector_id: str,
    *,
    actor: str,
    api_origin: str,
    redirect_uri: str | None = None,
) -> dict[str, Any]:
    """Begin the consent: `{"authorizeUrl", "redirectUri", "expiresAt"}` (nothing is audited
    until the consent changes the connector)."""
    doc = await get_connector(ctx, connector_id)
    app = consent_app(await connection_of(ctx, doc))
    chosen = check_redirect_uri(app, redirect_uri, api_origin)
    nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    state = f"{ctx.tenant_id}.{connector_id}.{nonce}"
    sealed = await vault_for(ctx).encrypt_fields(ctx.tenant_id, connector_id, {VERIFIER_FIELD: verifier})
    now = utcnow()
    expires = now + timedelta(seconds=CONSENT_TTL_S)
    await ctx.repo(ConsentRecords).create(
        {
            "id": _record_id(nonce),
            "type": "connector-consent",
            "connectorId": connector_id,
            "actor": actor,
            "redirectUri": chosen,
            "sealed": sealed,
            "createdAt": iso(now),
            "expiresAt": iso(expires),
        }
    )
    query = {"client_id": app.client_id, "redirect_uri": chosen, "response_type": "code", "state": state}
    if app.pkce:
        query |= {"code_challenge": _s256(verifier), "code_challenge_method": "S256"}
    if app.scopes:
        query["scope"] = " ".join(app.scopes)
    return {"authorizeUrl": f"{app.authorize_url}?{urlencode(query)}", "redirectUri": chosen, "expiresAt": iso(expires)}


def _state_parts(ctx: TenantContext, connector_id: str, state: str) -> str:
    """The nonce of a state made for this org and connector."""
    parts = state.split(".")
    if len(parts) != 3 or parts[0] != ctx.tenant_id or parts[1] != connector_id or not parts[2]:
        raise _stale()
    return parts[2]


def _stale() -> ValidationFailed:
    message = "this sign-in was not started here, has expired or was already used: start it again"
    return ValidationFailed(f"state: {message}", field="state", errors=[{"field": "state", "message": message}])


async def finish_consent(
    ctx: TenantContext,
    connector_id: str,
    *,
    code: str,
    state: str,
    actor: str,
    request: RequestInfo | None = None,
    allow_loopback: bool | None = None,
) -> dict[str, Any]:
    """Exchange the code and keep the refresh token (sealed); answers the updated connector
    document. The state is consumed before anything else can fail, so it never serves twice."""
    nonce = _state_parts(ctx, connector_id, state)
    records = ctx.repo(ConsentRecords)
    record = await records.find(_record_id(nonce))
    if record is None or record.get("connectorId") != connector_id or not await records.delete(record["id"]):
        raise _stale()  # unknown, or another callback took it first
    if str(record.get("expiresAt", "")) <= iso(utcnow()):
        raise _stale()
    if record.get("actor") != actor:
        raise PermissionDeniedError("this sign-in was started by someone else: start it again yourself")
    doc = await get_connector(ctx, connector_id)
    connection = await connection_of(ctx, doc)
    app = consent_app(connection)
    verifier = (await vault_for(ctx).decrypt_fields(ctx.tenant_id, connector_id, record.get("sealed", {})))[
        VERIFIER_FIELD
    ]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(record["redirectUri"]),
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    if app.pkce:
        form["code_verifier"] = verifier
    http = build_client(
        connection.kind,
        allow_loopback=allow_loopback_for(ctx, allow_loopback),
        base_url=connection.effective_base_url(),
    )
    try:
        body = await token_request(http, app.token_url, form, vendor=app.vendor)
    finally:
        await http.aclose()
    refresh = body.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise ValidationFailed(
            f"code: {app.vendor} answered no refresh token",
            field="code",
            errors=[{"field": "code", "message": "no refresh token"}],
        )
    # audited as `connector.updated` (changed: auth), as a PATCH of the refresh token would be
    return await update_connector(
        ctx,
        connector_id,
        actor=actor,
        connection={"auth": {"type": connection.auth.type, "refresh_token": refresh}},
        request=request,
        allow_loopback=allow_loopback,
    )
