"""Azure DevOps credentials.

* **Personal access token** (the connection's ``auth.type = "pat"``): HTTP basic with an
  empty user name and the PAT as password, as Azure DevOps documents ("Use any value for
  the user name and the token as the password"). A PAT cannot be refreshed: a refused one
  means the user must create a new one and reconnect.
* **Microsoft Entra ID** (service principal, client credentials): bearer tokens for the
  resource ``499b84ac-1321-427f-aa17-267ca6975798`` (Azure DevOps), renewed a minute before
  they expire and once after a 401 (the kit's ``TokenSource``); ``auth.type =
  "client_credentials"``. With a ``base_url`` override (a local simulator) the token endpoint
  is on that origin.
"""

from __future__ import annotations

import httpx

from shared.connectors.kit.auth import StaticHeaders, TokenSource, basic, token_request
from shared.connectors.settings import AzureDevOpsConnection, AzureDevOpsPat
from shared.contract.clock import Clock

VENDOR = "Azure DevOps"
ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
LOGIN_BASE = "https://login.microsoftonline.com"


def pat_credential(pat: str) -> StaticHeaders:
    return basic("", pat, vendor=VENDOR)


def credential_for(
    connection: AzureDevOpsConnection, login_http: httpx.AsyncClient | None = None
) -> StaticHeaders | TokenSource:
    """The connection's credential; an Entra app needs ``login_http`` (a guarded client that
    may reach the token endpoint)."""
    auth = connection.auth
    if isinstance(auth, AzureDevOpsPat):
        return pat_credential(auth.pat.get_secret_value())
    if login_http is None:
        raise ValueError("an Entra credential needs a client for the token endpoint")
    login_base = LOGIN_BASE
    if connection.base_url:
        url = httpx.URL(connection.base_url)
        login_base = f"{url.scheme}://{url.netloc.decode()}"
    return entra_credential(
        login_http,
        tenant=auth.entra_tenant_id,
        client_id=auth.client_id,
        client_secret=auth.client_secret.get_secret_value(),
        login_base=login_base,
    )


def entra_credential(
    http: httpx.AsyncClient,
    *,
    tenant: str,
    client_id: str,
    client_secret: str,
    login_base: str = LOGIN_BASE,
    clock: Clock | None = None,
) -> TokenSource:
    """Bearer tokens of a service principal (client credentials grant)."""
    url = f"{login_base.rstrip('/')}/{tenant}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": f"{ADO_RESOURCE}/.default",
    }

    async def grant() -> tuple[str, float]:
        body = await token_request(http, url, form, vendor=VENDOR)
        return str(body["access_token"]), float(str(body.get("expires_in", 3599)))

    return TokenSource(grant, clock=clock)
