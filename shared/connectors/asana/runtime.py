"""Asana runtime factory: one guarded, paced client shared by reader and writer.

Personal access tokens are used as they are; an OAuth app uses its refresh token
(``auth.OAuthRefresher``) against ``https://app.asana.com/-/oauth_token``, or, when the
connection overrides ``base_url`` (local simulator), ``/-/oauth_token`` on that origin.

The registry's pacer is built from the paid-plan limit (1,500 requests/minute per token);
on a free workspace (150/minute) Asana's 429 + Retry-After slows the pacer down
(adaptive rate) and long waits defer the chunk, so nothing is lost, only paced.
"""
from __future__ import annotations

import httpx

from shared.connectors.asana.auth import OAUTH_TOKEN_URL, OAuthRefresher, TokenSource
from shared.connectors.asana.client import AsanaClient, asana_rate_limit
from shared.connectors.asana.reader import AsanaReader
from shared.connectors.asana.writer import AsanaWriter
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import (
    AsanaConnection,
    AsanaOAuthApp,
    AsanaPersonalAccessToken,
    ConnectionBase,
)
from shared.errors import ValidationFailed
from shared.net.http import build_client


def token_url_for(connection: AsanaConnection) -> str:
    """The OAuth token endpoint: Asana's, or the overriding base URL's origin (local)."""
    if not connection.base_url:
        return OAUTH_TOKEN_URL
    url = httpx.URL(connection.base_url)
    return f"{url.scheme}://{url.netloc.decode()}/-/oauth_token"


async def open_asana(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `AsanaClient` (PAT or OAuth app)."""
    if not isinstance(connection, AsanaConnection):
        raise TypeError("open_asana needs an AsanaConnection")
    base = connection.effective_base_url()
    http = build_client("asana", allow_loopback=options.allow_loopback, base_url=base)
    auth = connection.auth
    tokens: str | TokenSource
    if isinstance(auth, AsanaPersonalAccessToken):
        tokens = auth.token.get_secret_value()
    elif isinstance(auth, AsanaOAuthApp):
        if auth.refresh_token is None:
            await http.aclose()
            raise ValidationFailed("auth: the Asana OAuth app has not been authorized yet "
                                   "(no refresh token)", field="auth")
        tokens = OAuthRefresher(http, client_id=auth.client_id,
                                client_secret=auth.client_secret.get_secret_value(),
                                refresh_token=auth.refresh_token.get_secret_value(),
                                token_url=token_url_for(connection))
    else:  # pragma: no cover - the connection model admits no other auth type
        raise ValidationFailed("auth: unsupported Asana auth type", field="auth")
    client = AsanaClient(base, tokens, pacer=options.pacer, http=http,
                         allow_loopback=options.allow_loopback)
    return SimpleRuntime(AsanaReader(client), AsanaWriter(client), (client.aclose,))


register_runtime("asana", open_asana, rate_limit=asana_rate_limit("paid"))
