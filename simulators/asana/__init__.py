"""Stateful simulator of the Asana REST API (https://app.asana.com/api/1.0)."""

from __future__ import annotations

from simulators.asana.app import create_app
from simulators.asana.seed import (
    DEFAULT_TOKEN,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    SeedConfig,
    auth_code_for,
    refresh_token_for,
    token_for,
)

__all__ = [
    "DEFAULT_TOKEN",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "SeedConfig",
    "auth_code_for",
    "create_app",
    "refresh_token_for",
    "token_for",
]
