"""Stateful simulator of the monday.com GraphQL API (https://api.monday.com/v2)."""

from __future__ import annotations

from simulators.monday.app import MondaySimulator, create_app
from simulators.monday.seed import DEFAULT_TOKEN, SeedConfig, token_for

__all__ = ["DEFAULT_TOKEN", "MondaySimulator", "SeedConfig", "create_app", "token_for"]
