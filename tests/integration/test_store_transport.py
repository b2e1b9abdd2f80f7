"""The Azure SDK clients of the stores take no proxy (nor ``.netrc``) from the environment.

With ``trust_env`` on, aiohttp looks these up on every request (issue 19: ~8 % of a worker's
CPU); a proxy that is named in the environment but unreachable shows whether it is still read.
"""

from __future__ import annotations

import pytest

from shared.store.stores import Stores

DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


async def test_store_clients_ignore_proxy_settings_from_the_environment(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    stores = Stores(settings)
    try:
        await stores.start()  # creates containers and queues: Cosmos and Storage both answer
        for region in stores.regions:
            await stores.cosmos(region).ping()
            await stores.storage(region).ping()
    finally:
        await stores.close()
