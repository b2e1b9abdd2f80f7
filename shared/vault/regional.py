"""The vault of an organisation's region: `vault_for(ctx)`.

One `Vault` per region per process: its data-key store is that region's `dataKeys`
container and its key wrapper that region's Key Vault key (locally: the region's key
files or the Key Vault simulator, see shared/vault/factory.py). Vaults are cached per
`Stores` object, so a process reuses the unwrapped-data-key cache across invocations, and
a test that builds new `Stores` gets new vaults.
"""

from __future__ import annotations

import threading
import weakref

from shared.store.stores import Stores
from shared.tenancy.context import TenantContext
from shared.vault.factory import build_key_wrapper
from shared.vault.service import Vault
from shared.vault.store import CosmosDataKeyStore

_lock = threading.Lock()
_vaults: weakref.WeakKeyDictionary[Stores, dict[str, Vault]] = weakref.WeakKeyDictionary()


def vault_for(ctx: TenantContext) -> Vault:
    """The vault of `ctx`'s region (built on first use, then reused by this process)."""
    return regional_vault(ctx.stores, ctx.region)


def regional_vault(stores: Stores, region: str) -> Vault:
    """The vault of `region` for these stores (see `vault_for`)."""
    with _lock:
        per_region = _vaults.setdefault(stores, {})
        vault = per_region.get(region)
        if vault is None:
            settings = stores.settings
            vault = Vault(CosmosDataKeyStore(stores, region), build_key_wrapper(settings, region))
            per_region[region] = vault
        return vault


def forget_vaults() -> None:
    """Drop every cached vault (tests, or after the key configuration changed)."""
    with _lock:
        _vaults.clear()
