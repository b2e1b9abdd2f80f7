"""Microsoft Graph (Planner) + Entra ID token endpoint simulator. See README.md here."""

from __future__ import annotations

from simulators.planner.app import create_app
from simulators.planner.seed import SeedConfig

__all__ = ["SeedConfig", "create_app"]
