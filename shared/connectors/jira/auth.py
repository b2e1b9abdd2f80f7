"""Jira Cloud credentials.

- ``api_token``: HTTP basic with the account's e-mail and an API token
  (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/). API
  tokens cannot be refreshed: a 401 means the token was revoked or mistyped and the run
  pauses until the connector is given a new one (``AuthRequiredError``).
- ``oauth_app``: an OAuth 2.0 (3LO) app
  (https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/). ``POST
  https://auth.atlassian.com/oauth/token`` with a JSON body (``grant_type=refresh_token``,
  ``client_id``, ``client_secret``, ``refresh_token``) answers an access token valid
  ``expires_in`` seconds (one hour) and a new refresh token: Atlassian's refresh tokens
  rotate, the old one stops working. The kit's ``RotatingRefreshGrant`` stores each new one
  through the runtime's ``SecretKeeper`` before the access token is used, and the kit's
  ``TokenSource`` renews the access token before it expires and once after a 401.
"""

from __future__ import annotations

import httpx

from shared.connectors.kit.auth import Credential, TokenSource, basic
from shared.connectors.kit.rotation import RotatingRefreshGrant, SecretKeeper
from shared.connectors.settings import JiraConnection, JiraOAuthApp
from shared.contract.clock import Clock

VENDOR = "Jira"
OAUTH_TOKEN_URL = "https://auth.atlassian.com/oauth/token"


def token_url_for(connection: JiraConnection) -> str:
    """Atlassian's token endpoint, or ``/oauth/token`` on the overriding base URL's origin
    (the local simulator serves the gateway and the token endpoint on one origin)."""
    if not connection.base_url:
        return OAUTH_TOKEN_URL
    url = httpx.URL(connection.base_url)
    return f"{url.scheme}://{url.netloc.decode()}/oauth/token"


def credential_for(
    connection: JiraConnection,
    http: httpx.AsyncClient | None = None,
    *,
    keeper: SecretKeeper | None = None,
    clock: Clock | None = None,
) -> Credential:
    """The connection's credential. An OAuth app needs ``http`` (guarded for Jira's hosts) to
    reach the token endpoint, and ``keeper`` to store its rotated refresh tokens (without
    one they live in memory only, and the stored connection is dead after a refresh)."""
    auth = connection.auth
    if not isinstance(auth, JiraOAuthApp):
        return basic(auth.email, auth.api_token.get_secret_value(), vendor=VENDOR)
    if http is None:
        raise TypeError("a Jira OAuth app needs an HTTP client for its token endpoint")
    form = {
        "grant_type": "refresh_token",
        "client_id": auth.client_id,
        "client_secret": auth.client_secret.get_secret_value(),
        "refresh_token": auth.refresh_token.get_secret_value(),
    }
    grant = RotatingRefreshGrant(
        http, token_url_for(connection), form, vendor=VENDOR, keeper=keeper, json_body=True, clock=clock
    )
    return TokenSource(grant, clock=clock)
