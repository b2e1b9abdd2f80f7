"""Entra ID tokens for Microsoft Graph, as the kit's ``TokenSource``.

Two grants, both at ``{login}/{tenant}/oauth2/v2.0/token`` with the ``.default`` scope of
Graph: client credentials for an app
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow) and
username + password (ROPC) for a delegated Microsoft 365 account
(https://learn.microsoft.com/entra/identity-platform/v2-oauth-ropc). A token is cached until a
minute before ``expires_in``; a Graph 401 asks for a new one once (the kit's ``ApiClient``).
Entra's 400/401 answers (``invalid_client``, ``invalid_grant``, MFA required — AADSTS50076)
are ``AuthRequiredError``: the run pauses until the user fixes the connector.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from shared.connectors.kit.auth import TokenSource, token_request
from shared.connectors.settings import PlannerClientCredentials, PlannerConnection
from shared.contract.clock import Clock

LOGIN_BASE_URL = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: Entra answers without ``expires_in`` are not documented; an hour minus a second is its usual
EXPIRES_IN_S = 3599.0


@dataclass(frozen=True)
class PlannerCredentials:
    """An Entra app (client_secret) or a delegated account (username + password)."""

    tenant: str
    client_id: str
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def delegated(self) -> bool:
        return self.username is not None


def credentials_from(connection: PlannerConnection) -> PlannerCredentials:
    """The credentials of a validated Planner connection document."""
    auth = connection.auth
    if isinstance(auth, PlannerClientCredentials):
        return PlannerCredentials(
            auth.entra_tenant_id, auth.client_id, client_secret=auth.client_secret.get_secret_value()
        )
    return PlannerCredentials(
        auth.entra_tenant_id, auth.client_id, username=auth.username, password=auth.password.get_secret_value()
    )


def login_base_url_for(connection: PlannerConnection) -> str:
    """Entra ID's origin for a connection. With a ``base_url`` override (the local simulator)
    the token endpoint is on that same origin: the simulator serves
    ``/{tenant}/oauth2/v2.0/token`` next to ``/v1.0``."""
    if not connection.base_url:
        return LOGIN_BASE_URL
    url = httpx.URL(connection.base_url)
    return f"{url.scheme}://{url.netloc.decode()}"


def entra_grant(
    http: httpx.AsyncClient,
    credentials: PlannerCredentials,
    *,
    login_base_url: str = LOGIN_BASE_URL,
) -> Callable[[], Awaitable[tuple[str, float]]]:
    """The grant the ``TokenSource`` calls: client credentials, or ROPC when delegated."""
    url = f"{login_base_url.rstrip('/')}/{credentials.tenant}/oauth2/v2.0/token"
    form = {"client_id": credentials.client_id, "scope": GRAPH_SCOPE}
    if credentials.delegated:
        form.update(grant_type="password", username=credentials.username or "", password=credentials.password or "")
    else:
        form["grant_type"] = "client_credentials"
    if credentials.client_secret:
        form["client_secret"] = credentials.client_secret

    async def grant() -> tuple[str, float]:
        body = await token_request(http, url, form, vendor="Planner")
        return str(body["access_token"]), float(str(body.get("expires_in", EXPIRES_IN_S)))

    return grant


def token_source(
    http: httpx.AsyncClient,
    credentials: PlannerCredentials,
    *,
    login_base_url: str = LOGIN_BASE_URL,
    clock: Clock | None = None,
) -> TokenSource:
    """Bearer tokens for ``credentials`` (cached, refreshed once after a 401)."""
    return TokenSource(entra_grant(http, credentials, login_base_url=login_base_url), clock=clock)


def credential_for(
    connection: PlannerConnection, http: httpx.AsyncClient, *, clock: Clock | None = None
) -> TokenSource:
    """The credential of a stored Planner connection."""
    return token_source(http, credentials_from(connection), login_base_url=login_base_url_for(connection), clock=clock)
