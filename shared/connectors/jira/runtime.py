"""Jira runtime factory: one guarded, paced client shared by reader and writer.

With an API token the connection's ``site_url`` (``https://<site>.atlassian.net``, or a
self-hosted Jira that the SSRF guard admits) is the API host; ``base_url`` overrides it for a
local simulator. With an OAuth app the API is the 3LO gateway
``https://api.atlassian.com/ex/jira/<cloudId>`` (``base_url`` stands for its origin locally)
and the site stays the workspace; the rotated refresh tokens are stored through
``options.secrets`` (``auth.py``).
"""

from __future__ import annotations

from shared.connectors.jira.auth import credential_for
from shared.connectors.jira.capabilities import JIRA_RATE_LIMIT
from shared.connectors.jira.client import JiraClient
from shared.connectors.jira.reader import JiraReader
from shared.connectors.jira.writer import JiraWriter
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import ConnectionBase, JiraConnection, JiraOAuthApp
from shared.net.http import build_client


async def open_jira(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one ``JiraClient``."""
    if not isinstance(connection, JiraConnection):
        raise TypeError("open_jira needs a JiraConnection")
    http = build_client("jira", allow_loopback=options.allow_loopback, base_url=connection.effective_base_url())
    try:
        credential = credential_for(connection, http, keeper=options.secrets)
    except BaseException:
        await http.aclose()
        raise
    oauth = isinstance(connection.auth, JiraOAuthApp)
    client = JiraClient(http, credential, pacer=options.pacer, site=connection.site_url if oauth else None)
    return SimpleRuntime(JiraReader(client), JiraWriter(client), (client.aclose,))


register_runtime("jira", open_jira, rate_limit=JIRA_RATE_LIMIT)
