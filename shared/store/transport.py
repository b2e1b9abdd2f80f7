"""HTTP transport settings of the Azure SDK clients (Cosmos DB, Blob and Queue Storage).

azure-core's aiohttp transport defaults to ``use_env_settings=True``, which opens its
``aiohttp.ClientSession`` with ``trust_env=True``: aiohttp then looks up ``*_PROXY`` /
``NO_PROXY`` and reads ``~/.netrc`` on every request (issue 19 measured that at ~8 % of a
worker's CPU). Ferry reaches Cosmos and Storage directly (private endpoints in Azure, loopback
locally) and never through a proxy from the environment, so the clients are built without it
(``AioHttpTransport``'s ``use_env_settings`` keyword, documented on the class:
https://learn.microsoft.com/python/api/azure-core/azure.core.pipeline.transport.aiohttptransport).
"""

from __future__ import annotations

from typing import Any

#: Keyword arguments every Azure SDK client of Ferry's stores gets. The storage clients
#: hand their keywords to the ``AioHttpTransport`` they build; the Cosmos client does not
#: (it builds its pipeline without them), so it gets a transport built here.
CLIENT_OPTIONS: dict[str, Any] = {"use_env_settings": False}


def cosmos_transport() -> Any:
    """An aiohttp transport for ``azure.cosmos.aio.CosmosClient(transport=...)`` that does not
    read proxy settings or ``.netrc`` from the environment (the client owns and closes it)."""
    from azure.core.pipeline.transport import AioHttpTransport

    return AioHttpTransport(**CLIENT_OPTIONS)
