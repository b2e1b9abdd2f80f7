"""Registers the Planner runtime: a reader and a writer sharing one client (HTTP client,
pacer and token)."""

from __future__ import annotations

from shared.connectors.kit.http import ApiClient
from shared.connectors.planner.auth import credential_for, credentials_from
from shared.connectors.planner.capabilities import GRAPH_RATE_LIMIT
from shared.connectors.planner.client import PLANNER_ERRORS, PlannerClient, settings_from
from shared.connectors.planner.reader import PlannerReader
from shared.connectors.planner.writer import PlannerWriter
from shared.connectors.registry import (
    ConnectorRuntime,
    RuntimeOptions,
    SimpleRuntime,
    register_runtime,
)
from shared.connectors.settings import ConnectionBase, PlannerConnection
from shared.errors import ValidationFailed
from shared.net.http import build_client


async def open_planner(connection: ConnectionBase, options: RuntimeOptions) -> ConnectorRuntime:
    """Reader + writer for a validated Planner connection."""
    if not isinstance(connection, PlannerConnection):
        raise ValidationFailed("kind: not a planner connection")
    settings = settings_from(connection, allow_loopback=options.allow_loopback)
    http = build_client("planner", allow_loopback=settings.allow_loopback, base_url=settings.base_url)
    api = ApiClient(http, pacer=options.pacer, errors=PLANNER_ERRORS, credential=credential_for(connection, http))
    account = credentials_from(connection)
    client = PlannerClient(api, client_id=account.client_id, delegated=account.delegated)
    return SimpleRuntime(reader=PlannerReader(client), writer=PlannerWriter(client), closers=(client.aclose,))


register_runtime("planner", open_planner, rate_limit=GRAPH_RATE_LIMIT)
