"""Another worker process for the rotation tests: opens a stored connector the way the
migration worker does (from Cosmos and the vault only) and asks the vendor who it is.

``python -m tests.integration.oauth_worker_process <org id> <connector id>`` with the test
session's settings in the environment; prints the account's e-mail, or the error's type and
message (never a secret: the messages are the kit's)."""

from __future__ import annotations

import asyncio
import os
import sys

from shared.config import settings_from_env
from shared.connections import service
from shared.store.stores import Stores
from shared.tenancy.context import TenantContext


async def main(org_id: str, connector_id: str) -> int:
    stores = Stores(settings_from_env(os.environ))
    await stores.start()
    try:
        runtime = await service.open_connector(TenantContext.for_org(stores, org_id), connector_id)
        try:
            assert runtime.reader is not None
            print((await runtime.reader.whoami()).email)
            return 0
        finally:
            await runtime.aclose()
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        await stores.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
