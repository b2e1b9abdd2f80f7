"""monday.com connector: reader and writer over the GraphQL API (``https://api.monday.com/v2``)."""

from __future__ import annotations

from shared.connectors.monday.auth import credential_for
from shared.connectors.monday.capabilities import MONDAY_RATE_LIMIT, monday_capabilities
from shared.connectors.monday.client import MondayClient
from shared.connectors.monday.reader import MondayReader
from shared.connectors.monday.writer import MondayWriter
from shared.connectors.settings import MondayConnection
from shared.contract.clock import Clock
from shared.contract.pacer import Pacer
from shared.net.http import build_client


def monday_client(
    connection: MondayConnection,
    *,
    allow_loopback: bool = False,
    pacer: Pacer | None = None,
    clock: Clock | None = None,
) -> MondayClient:
    """A client for ``connection`` (SSRF-guarded HTTP clients). Pass the credential's pacer
    from ``PacerRegistry.get(key, MONDAY_RATE_LIMIT)``; without one it makes its own."""
    base_url = connection.effective_base_url().rstrip("/")
    http = build_client("monday", allow_loopback=allow_loopback, base_url=base_url)
    return MondayClient(http, credential_for(connection), pacer=pacer, clock=clock)


__all__ = ["MONDAY_RATE_LIMIT", "MondayClient", "MondayReader", "MondayWriter", "monday_capabilities", "monday_client"]
