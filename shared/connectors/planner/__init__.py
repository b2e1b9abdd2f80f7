"""Microsoft Planner (Graph v1.0) connector: reader and writer. See README.md here."""
from __future__ import annotations

from shared.connectors.planner.client import PlannerCredentials
from shared.connectors.planner.connection import (
    PlannerSettings,
    credentials_from,
    planner_capabilities,
    settings_from,
)
from shared.connectors.planner.reader import PlannerReader
from shared.connectors.planner.writer import PlannerWriter

__all__ = ["PlannerCredentials", "PlannerReader", "PlannerSettings", "PlannerWriter",
           "credentials_from", "planner_capabilities", "settings_from"]
