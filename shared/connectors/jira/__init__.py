"""Jira Cloud connector (REST v3): reader and writer of the canonical model; see README.md."""

from __future__ import annotations

from shared.connectors.jira.capabilities import JIRA_RATE_LIMIT, jira_capabilities
from shared.connectors.jira.client import JiraClient
from shared.connectors.jira.reader import JiraReader
from shared.connectors.jira.writer import JiraWriter

__all__ = ["JIRA_RATE_LIMIT", "JiraClient", "JiraReader", "JiraWriter", "jira_capabilities"]
