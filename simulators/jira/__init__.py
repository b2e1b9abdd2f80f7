"""Stateful simulator of the Jira Cloud platform REST API v3 (``https://<site>.atlassian.net``)."""

from __future__ import annotations

from simulators.jira.app import create_app
from simulators.jira.seed import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    SeedConfig,
    auth_code_for,
    refresh_token_for,
    token_for,
)

__all__ = [
    "DEFAULT_EMAIL",
    "DEFAULT_TOKEN",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "SeedConfig",
    "auth_code_for",
    "create_app",
    "refresh_token_for",
    "token_for",
]
