"""Trello simulator: ``create_app(seed_config=None, *, clock=None)``."""

from __future__ import annotations

from simulators.trello.app import create_app
from simulators.trello.seed import SeedConfig

__all__ = ["SeedConfig", "create_app"]
