"""Pick the key wrapper of a region from settings.

* Azure: the region's Key Vault (`FERRY_KEYVAULT_URI_<REGION>`, key
  `FERRY_KEYVAULT_KEY_NAME`) through `DefaultAzureCredential` (managed identity).
* Local, no vault URI: `LocalKeyWrapper` under `<local data dir>/keys/<region>`
  (default data dir `.ferry/` under the project root, which is git-ignored).
* Local, vault URI on loopback: the Key Vault simulator (`tools/keyvault_sim.py`) through
  the real SDK, with challenge-resource and certificate checks off and a static token.

Compose with the region's data-key store: `Vault(store, build_key_wrapper(settings, region))`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlparse

from shared.config import LOCAL_DATA_DIRNAME
from shared.errors import ConfigError
from shared.vault.keys import KeyVaultKeyWrapper, KeyWrapper, LocalKeyWrapper

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential

    from shared.config import Settings

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class StaticLocalCredential:
    """Async TokenCredential handing out a fixed token: for the local simulator only."""

    def __init__(self, token: str = "local-keyvault-sim") -> None:
        self._token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def local_key_dir(settings: Settings, region: str, *, project_root: Path | None = None) -> Path:
    """Folder of a region's local key files."""
    base = settings.local_data_dir or (project_root or Path.cwd()) / LOCAL_DATA_DIRNAME
    return Path(base) / "keys" / region


def build_key_wrapper(
    settings: Settings, region: str, *, credential: AsyncTokenCredential | None = None, project_root: Path | None = None
) -> KeyWrapper:
    """The key wrapper serving `region` (see module docstring for the three cases)."""
    uri = settings.region(region).keyvault_uri
    if not uri:
        if not settings.is_local:
            raise ConfigError(f"region {region} has no Key Vault URI (FERRY_KEYVAULT_URI_*)")
        return LocalKeyWrapper(local_key_dir(settings, region, project_root=project_root), settings.keyvault_key_name)
    simulator = settings.is_local and urlparse(uri).hostname in _LOOPBACK
    if simulator:
        # the simulator's resource (vault.azure.net) does not match 127.0.0.1 and its
        # certificate is self-signed; both checks stay on for every real vault
        return KeyVaultKeyWrapper(
            uri,
            settings.keyvault_key_name,
            credential or StaticLocalCredential(),
            verify_challenge_resource=False,
            connection_verify=False,
        )
    if credential is None:
        from azure.identity.aio import DefaultAzureCredential

        return KeyVaultKeyWrapper(uri, settings.keyvault_key_name, DefaultAzureCredential(), close_credential=True)
    return KeyVaultKeyWrapper(uri, settings.keyvault_key_name, credential)
