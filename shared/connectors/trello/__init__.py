"""Trello connector: reader and writer over the REST API (``https://api.trello.com/1``)."""

from __future__ import annotations

from shared.connectors.settings import TrelloConnection
from shared.connectors.trello.auth import credential_for
from shared.connectors.trello.capabilities import TRELLO_RATE_LIMIT, trello_capabilities
from shared.connectors.trello.client import TrelloClient
from shared.connectors.trello.reader import TrelloReader
from shared.connectors.trello.writer import TrelloWriter
from shared.contract.clock import Clock
from shared.contract.pacer import Pacer
from shared.net.http import build_client


def trello_client(
    connection: TrelloConnection,
    *,
    allow_loopback: bool = False,
    pacer: Pacer | None = None,
    clock: Clock | None = None,
) -> TrelloClient:
    """A client for ``connection`` (SSRF-guarded HTTP clients). Pass the credential's pacer
    from ``PacerRegistry.get(key, TRELLO_RATE_LIMIT)``; without one it makes its own."""
    base_url = connection.effective_base_url().rstrip("/") + "/"
    http = build_client("trello", allow_loopback=allow_loopback, base_url=base_url)
    return TrelloClient(http, credential_for(connection), pacer=pacer, clock=clock)


__all__ = ["TRELLO_RATE_LIMIT", "TrelloClient", "TrelloReader", "TrelloWriter", "trello_capabilities", "trello_client"]
