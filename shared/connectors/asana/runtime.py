"""Asana runtime factory: one guarded, paced client shared by reader and writer.

The registry's pacer is built from the paid-plan limit (1,500 requests/minute per token);
on a free workspace (150/minute) Asana's 429 + Retry-After slows the pacer down
(adaptive rate) and long waits defer the chunk, so nothing is lost, only paced.
"""
from __future__ import annotations

from shared.connectors.asana.client import AsanaClient, asana_rate_limit
from shared.connectors.asana.reader import AsanaReader
from shared.connectors.asana.writer import AsanaWriter
from shared.connectors.kinds import AsanaConnection, AsanaPersonalAccessToken, ConnectionBase
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.errors import ValidationFailed


async def open_asana(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `AsanaClient` (bearer personal access token)."""
    if not isinstance(connection, AsanaConnection):
        raise TypeError("open_asana needs an AsanaConnection")
    if not isinstance(connection.auth, AsanaPersonalAccessToken):
        raise ValidationFailed("auth: Asana OAuth apps are not supported yet; use a personal "
                               "access token", field="auth")
    client = AsanaClient(connection.effective_base_url(),
                         connection.auth.token.get_secret_value(), pacer=options.pacer,
                         allow_loopback=options.allow_loopback)
    return SimpleRuntime(AsanaReader(client), AsanaWriter(client), (client.aclose,))


register_runtime("asana", open_asana, rate_limit=asana_rate_limit("paid"))
