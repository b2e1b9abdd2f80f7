"""Azure DevOps runtime factory: one guarded, paced client shared by reader and writer."""

from __future__ import annotations

from shared.connectors.azure_devops import azure_devops_client
from shared.connectors.azure_devops.capabilities import AZURE_DEVOPS_RATE_LIMIT
from shared.connectors.azure_devops.reader import AzureDevOpsReader
from shared.connectors.azure_devops.writer import AzureDevOpsWriter
from shared.connectors.registry import RuntimeOptions, SimpleRuntime, register_runtime
from shared.connectors.settings import AzureDevOpsConnection, ConnectionBase


async def open_azure_devops(connection: ConnectionBase, options: RuntimeOptions) -> SimpleRuntime:
    """Reader and writer over one ``AdoClient`` (PAT in HTTP basic)."""
    if not isinstance(connection, AzureDevOpsConnection):
        raise TypeError("open_azure_devops needs an AzureDevOpsConnection")
    client = azure_devops_client(connection, allow_loopback=options.allow_loopback, pacer=options.pacer)
    return SimpleRuntime(AzureDevOpsReader(client), AzureDevOpsWriter(client), (client.aclose,))


register_runtime("azure_devops", open_azure_devops, rate_limit=AZURE_DEVOPS_RATE_LIMIT)
