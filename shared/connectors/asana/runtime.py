"""Asana runtime factory: one guarded, paced client shared by reader and writer.

Personal access tokens are used as they are; an OAuth app uses its refresh token against
``https://app.asana.com/-/oauth_token``, or, when the connection overrides ``base_url``
(local simulator), ``/-/oauth_token`` on that origin (``auth.credential_for``).

The registry's pacer is built from the paid-plan limit (1,500 requests/minute per token);
on a free workspace (150/minute) Asana's 429 + Retry-After slows the pacer down
(adaptive rate) and long waits defer the chunk, so nothing is lost, only paced.
"""

from __future__ import annotations

from shared.connectors.asana.auth import credential_for
from shared.connectors.asana.capabilities import asana_rate_limit
from shared.connectors.asana.client import AsanaClient
from shared.connectors.asana.reader import AsanaReader
from shared.connectors.asana.writer import AsanaWriter
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import AsanaConnection, ConnectionBase
from shared.net.http import build_client


async def open_asana(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `AsanaClient` (PAT or OAuth app)."""
    if not isinstance(connection, AsanaConnection):
        raise TypeError("open_asana needs an AsanaConnection")
    base = connection.effective_base_url()
    http = build_client("asana", allow_loopback=options.allow_loopback, base_url=base)
    try:
        credential = credential_for(connection, http)
    except BaseException:
        await http.aclose()
        raise
    client = AsanaClient(base, credential, pacer=options.pacer, http=http, allow_loopback=options.allow_loopback)
    return SimpleRuntime(AsanaReader(client), AsanaWriter(client), (client.aclose,))


register_runtime("asana", open_asana, rate_limit=asana_rate_limit("paid"))
