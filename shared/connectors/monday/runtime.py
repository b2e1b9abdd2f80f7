"""monday.com runtime factory: one guarded, paced client shared by reader and writer."""

from __future__ import annotations

from shared.connectors.monday import monday_client
from shared.connectors.monday.capabilities import MONDAY_RATE_LIMIT
from shared.connectors.monday.reader import MondayReader
from shared.connectors.monday.writer import MondayWriter
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import ConnectionBase, MondayConnection


async def open_monday(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one `MondayClient` (API token in `Authorization`)."""
    if not isinstance(connection, MondayConnection):
        raise TypeError("open_monday needs a MondayConnection")
    client = monday_client(connection, allow_loopback=options.allow_loopback, pacer=options.pacer)
    return SimpleRuntime(MondayReader(client), MondayWriter(client), (client.aclose,))


register_runtime("monday", open_monday, rate_limit=MONDAY_RATE_LIMIT)
