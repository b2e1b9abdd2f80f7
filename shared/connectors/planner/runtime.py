"""Registers the Planner runtime: a reader and a writer sharing one client, pacer and token."""
from __future__ import annotations

from shared.connectors.planner.client import GRAPH_RATE_LIMIT
from shared.connectors.planner.connection import credentials_from, settings_from
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


async def open_planner(connection: ConnectionBase, options: RuntimeOptions) -> ConnectorRuntime:
    """Reader + writer for a validated Planner connection."""
    if not isinstance(connection, PlannerConnection):
        raise ValidationFailed("kind: not a planner connection")
    credentials = credentials_from(connection)
    settings = settings_from(connection, allow_loopback=options.allow_loopback)
    reader = PlannerReader(credentials, settings, pacer=options.pacer)
    writer = PlannerWriter(credentials, settings, graph=reader.graph)
    return SimpleRuntime(reader=reader, writer=writer, closers=(reader.aclose,))


register_runtime("planner", open_planner, rate_limit=GRAPH_RATE_LIMIT)
