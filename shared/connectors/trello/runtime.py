"""Trello runtime factory: one guarded, paced client shared by reader and writer."""
from __future__ import annotations

from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import ConnectionBase, TrelloConnection
from shared.connectors.trello.client import TRELLO_RATE_LIMIT, TrelloClient
from shared.connectors.trello.reader import TrelloReader
from shared.connectors.trello.writer import TrelloWriter
from shared.net.http import build_client


async def open_trello(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `TrelloClient` (key + token in the OAuth header)."""
    if not isinstance(connection, TrelloConnection):
        raise TypeError("open_trello needs a TrelloConnection")
    http = build_client("trello", allow_loopback=options.allow_loopback,
                        base_url=connection.effective_base_url())
    client = TrelloClient(http, connection.auth.api_key.get_secret_value(),
                          connection.auth.token.get_secret_value(), pacer=options.pacer)
    return SimpleRuntime(TrelloReader(client), TrelloWriter(client), (client.aclose,))


register_runtime("trello", open_trello, rate_limit=TRELLO_RATE_LIMIT)
