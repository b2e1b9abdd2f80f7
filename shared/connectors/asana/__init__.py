"""Asana connector: reader and writer of the canonical model over the Asana REST API."""

from __future__ import annotations

from shared.connectors.asana.capabilities import asana_capabilities, asana_rate_limit
from shared.connectors.asana.client import API_BASE, AsanaClient
from shared.connectors.asana.reader import AsanaReader
from shared.connectors.asana.writer import AsanaWriter

__all__ = ["API_BASE", "AsanaClient", "AsanaReader", "AsanaWriter", "asana_capabilities", "asana_rate_limit"]
