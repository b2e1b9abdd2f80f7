"""Azure DevOps (Boards) connector: reader and writer over REST 7.1 (``dev.azure.com/<org>``
or an Azure DevOps Server collection)."""

from __future__ import annotations

from shared.connectors.azure_devops.auth import credential_for
from shared.connectors.azure_devops.capabilities import (
    AZURE_DEVOPS_RATE_LIMIT,
    azure_devops_capabilities,
)
from shared.connectors.azure_devops.client import AdoClient
from shared.connectors.azure_devops.reader import AzureDevOpsReader
from shared.connectors.azure_devops.writer import AzureDevOpsWriter
from shared.connectors.settings import AzureDevOpsConnection, AzureDevOpsPat
from shared.contract.clock import Clock
from shared.contract.pacer import Pacer
from shared.net.http import build_client


def azure_devops_client(
    connection: AzureDevOpsConnection,
    *,
    allow_loopback: bool = False,
    pacer: Pacer | None = None,
    clock: Clock | None = None,
) -> AdoClient:
    """A client for ``connection`` (SSRF-guarded). Pass the credential's pacer from the
    registry; without one it makes its own from ``AZURE_DEVOPS_RATE_LIMIT``."""
    base_url = connection.effective_base_url().rstrip("/") + "/"
    http = build_client("azure_devops", allow_loopback=allow_loopback, base_url=base_url)
    login = (
        None
        if isinstance(connection.auth, AzureDevOpsPat)
        else build_client("azure_devops", allow_loopback=allow_loopback)
    )
    client = AdoClient(http, credential_for(connection, login), pacer=pacer, clock=clock)
    if login is not None:
        client.closers.append(login.aclose)
    return client


__all__ = [
    "AZURE_DEVOPS_RATE_LIMIT",
    "AdoClient",
    "AzureDevOpsReader",
    "AzureDevOpsWriter",
    "azure_devops_capabilities",
    "azure_devops_client",
]
