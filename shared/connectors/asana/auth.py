"""The credential an Asana connection stands for: a personal access token, or an OAuth app's
refresh token.

OAuth (https://developers.asana.com/docs/oauth): ``POST https://app.asana.com/-/oauth_token``
with ``grant_type=refresh_token``, ``client_id``, ``client_secret`` and ``refresh_token``
returns an ``access_token`` valid ``expires_in`` seconds (one hour). The kit's
``TokenSource`` renews it shortly before it expires and once more when the API answers 401;
a refused grant means the user must reconnect (``AuthRequiredError``: the run pauses).
"""

from __future__ import annotations

import httpx

from shared.connectors.kit.auth import Credential, TokenSource, bearer, oauth_refresh_grant
from shared.connectors.settings import AsanaConnection, AsanaPersonalAccessToken
from shared.errors import ValidationFailed

VENDOR = "Asana"
OAUTH_TOKEN_URL = "https://app.asana.com/-/oauth_token"


def token_url_for(connection: AsanaConnection) -> str:
    """The OAuth token endpoint: Asana's, or the overriding base URL's origin (local)."""
    if not connection.base_url:
        return OAUTH_TOKEN_URL
    url = httpx.URL(connection.base_url)
    return f"{url.scheme}://{url.netloc.decode()}/-/oauth_token"


def credential_for(connection: AsanaConnection, http: httpx.AsyncClient) -> Credential:
    """The connection's credential; ``http`` (guarded for Asana) reaches the token endpoint.
    An OAuth app without a refresh token (not consented yet) is a validation error: the
    consent flow (authorization code) belongs to the HTTP API."""
    auth = connection.auth
    if isinstance(auth, AsanaPersonalAccessToken):
        return bearer(auth.token.get_secret_value(), vendor=VENDOR)
    if auth.refresh_token is None:
        raise ValidationFailed("auth: the Asana OAuth app has not been authorized yet (no refresh token)", field="auth")
    form = {
        "grant_type": "refresh_token",
        "client_id": auth.client_id,
        "client_secret": auth.client_secret.get_secret_value(),
        "refresh_token": auth.refresh_token.get_secret_value(),
    }
    return TokenSource(oauth_refresh_grant(http, token_url_for(connection), form, vendor=VENDOR))
