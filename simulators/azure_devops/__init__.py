"""Azure DevOps Services (Boards) simulator. See README.md here."""

from __future__ import annotations

from simulators.azure_devops.app import create_app
from simulators.azure_devops.seed import DEFAULT_PAT, SeedConfig

__all__ = ["DEFAULT_PAT", "SeedConfig", "create_app"]
