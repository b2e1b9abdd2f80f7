"""Trello runtime factory: one guarded, paced client shared by reader and writer."""

from __future__ import annotations

from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import ConnectionBase, TrelloConnection
from shared.connectors.trello import trello_client
from shared.connectors.trello.capabilities import TRELLO_RATE_LIMIT
from shared.connectors.trello.reader import TrelloReader
from shared.connectors.trello.writer import TrelloWriter


async def open_trello(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `TrelloClient` (key + token in the OAuth header)."""
    if not isinstance(connection, TrelloConnection):
        raise TypeError("open_trello needs a TrelloConnection")
    client = trello_client(connection, allow_loopback=options.allow_loopback, pacer=options.pacer)
    return SimpleRuntime(TrelloReader(client), TrelloWriter(client), (client.aclose,))


register_runtime("trello", open_trello, rate_limit=TRELLO_RATE_LIMIT)
