"""Microsoft Planner (Graph v1.0) connector: reader and writer. See README.md here."""

from __future__ import annotations

from shared.connectors.planner.auth import PlannerCredentials, credentials_from
from shared.connectors.planner.capabilities import GRAPH_RATE_LIMIT, planner_capabilities
from shared.connectors.planner.client import PlannerClient, PlannerSettings, connect, settings_from
from shared.connectors.planner.reader import PlannerReader
from shared.connectors.planner.writer import PlannerWriter

__all__ = [
    "GRAPH_RATE_LIMIT",
    "PlannerClient",
    "PlannerCredentials",
    "PlannerReader",
    "PlannerSettings",
    "PlannerWriter",
    "connect",
    "credentials_from",
    "planner_capabilities",
    "settings_from",
]
