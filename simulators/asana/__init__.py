"""Stateful simulator of the Asana REST API (https://app.asana.com/api/1.0)."""

from __future__ import annotations

from simulators.asana.app import create_app
from simulators.asana.seed import DEFAULT_TOKEN, SeedConfig

__all__ = ["DEFAULT_TOKEN", "SeedConfig", "create_app"]
