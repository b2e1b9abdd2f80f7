"""Key-encryption keys: wrap and unwrap organisation data keys.

Two providers share one small interface (`KeyWrapper`):

* `KeyVaultKeyWrapper`: an RSA key in Azure Key Vault, RSA-OAEP-256 through
  `azure.keyvault.keys.crypto.aio.CryptographyClient`, reached with any async
  `TokenCredential` (production: `DefaultAzureCredential`, i.e. managed identity).
  The private key never leaves the vault; unwrapping is a vault call.
* `LocalKeyWrapper`: RSA keys in PEM files under a git-ignored folder (default
  `.ferry/keys` under the project root; the path is passed in), for local runs and tests.

A wrapped key carries the full key id (`kid`, including the key version), so data keys
wrapped under an older key version keep unwrapping after the key is rotated.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from shared.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.keyvault.keys.aio import KeyClient
    from azure.keyvault.keys.crypto.aio import CryptographyClient

#: JOSE name of the only wrap algorithm Ferry uses
RSA_OAEP_256 = "RSA-OAEP-256"
_OAEP_SHA256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under a key-encryption key (`kid` names key and version)."""

    kid: str
    alg: str
    value: bytes


@runtime_checkable
class KeyWrapper(Protocol):
    """Wraps and unwraps data keys with a key-encryption key."""

    async def wrap(self, dek: bytes) -> WrappedKey:
        """Encrypt `dek` under the current key version."""
        ...

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Decrypt a data key wrapped under any (current or older) key version."""
        ...

    async def current_kid(self) -> str:
        """Full id (with version) of the key version `wrap` uses now."""
        ...


class LocalKeyWrapper:
    """RSA-OAEP-256 with RSA keys kept as PEM files: `<dir>/<key_name>/<version>.pem`.

    The newest version is named in `<dir>/<key_name>/current`. Files are created 0600.
    `kid` looks like `local:<key_name>/<version>`.
    """

    def __init__(
        self, directory: str | os.PathLike[str], key_name: str = "ferry-data-keys", *, key_size: int = 2048
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,127}", key_name):
            raise ConfigError("local key name must be 1-127 letters, digits or dashes")
        self._dir = Path(directory) / key_name
        self._name = key_name
        self._key_size = key_size
        self._cache: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = asyncio.Lock()

    async def wrap(self, dek: bytes) -> WrappedKey:
        """Encrypt `dek` under the current local key version (created on first use)."""
        kid = await self.current_kid()
        public = self._load(kid).public_key()
        return WrappedKey(kid=kid, alg=RSA_OAEP_256, value=public.encrypt(dek, _OAEP_SHA256))

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Decrypt with the key version named in `wrapped.kid`."""
        if wrapped.alg != RSA_OAEP_256:
            raise ValueError(f"unsupported wrap algorithm {wrapped.alg}")
        return self._load(wrapped.kid).decrypt(wrapped.value, _OAEP_SHA256)

    async def current_kid(self) -> str:
        """The current key version's id; creates the first version when there is none."""
        pointer = self._dir / "current"
        if not pointer.exists():
            async with self._lock:  # two first uses must not create two versions
                if not pointer.exists():
                    return await self.rotate()
        return self._kid(pointer.read_text("ascii").strip())

    async def rotate(self) -> str:
        """Create a new key version and make it current; older versions stay usable."""
        version = uuid.uuid4().hex
        key = await asyncio.to_thread(rsa.generate_private_key, 65537, self._key_size)
        self._dir.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(self._dir / f"{version}.pem", pem)
        # write-then-rename: a reader never sees a half-written pointer
        tmp = self._dir / f"current.{version}.tmp"
        _write_private(tmp, version.encode("ascii"))
        os.replace(tmp, self._dir / "current")
        self._cache[version] = key
        return self._kid(version)

    def _kid(self, version: str) -> str:
        return f"local:{self._name}/{version}"

    def _load(self, kid: str) -> rsa.RSAPrivateKey:
        prefix = f"local:{self._name}/"
        version = kid[len(prefix) :] if kid.startswith(prefix) else ""
        if not re.fullmatch(r"[0-9a-f]{32}", version):
            raise NotFoundError(f"key id is not a version of local key {self._name}")
        if version not in self._cache:
            path = self._dir / f"{version}.pem"
            if not path.exists():
                raise NotFoundError(f"local key version {version} does not exist")
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ConfigError(f"{path} is not an RSA private key")
            self._cache[version] = key
        return self._cache[version]


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class KeyVaultKeyWrapper:
    """RSA-OAEP-256 with an Azure Key Vault key (one vault per region).

    `current_kid` asks the vault for the key's newest version and caches the answer for
    `refresh_seconds`, so a rotation in the vault is picked up without a restart.
    `client_kwargs` go to both SDK clients (e.g. `verify_challenge_resource=False`,
    `connection_verify=False` for the local simulator; `api_version`, `retry_total`).
    """

    def __init__(
        self,
        vault_uri: str,
        key_name: str,
        credential: AsyncTokenCredential,
        *,
        refresh_seconds: float = 300.0,
        close_credential: bool = False,
        **client_kwargs: Any,
    ) -> None:
        from azure.keyvault.keys.aio import KeyClient  # lazy: keep cold start small

        self._credential = credential
        self._close_credential = close_credential
        self._key_name = key_name
        self._client_kwargs = client_kwargs
        self._keys: KeyClient = KeyClient(vault_uri, credential, **client_kwargs)
        self._crypto: dict[str, CryptographyClient] = {}
        self._current: tuple[float, str] | None = None
        self._refresh = refresh_seconds

    async def current_kid(self) -> str:
        """Full id of the key's newest version (cached for `refresh_seconds`)."""
        now = time.monotonic()
        if self._current is None or now >= self._current[0]:
            key = await self._keys.get_key(self._key_name)
            if key.id is None:
                raise ConfigError(f"Key Vault key {self._key_name} has no id")
            self._current = (now + self._refresh, key.id)
        return self._current[1]

    async def wrap(self, dek: bytes) -> WrappedKey:
        """Wrap `dek` with the current key version (RSA-OAEP-256)."""
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        kid = await self.current_kid()
        result = await self._client(kid).wrap_key(KeyWrapAlgorithm.rsa_oaep_256, dek)
        return WrappedKey(kid=result.key_id or kid, alg=RSA_OAEP_256, value=result.encrypted_key)

    async def unwrap(self, wrapped: WrappedKey) -> bytes:
        """Unwrap in the vault with the exact key version that wrapped it."""
        from azure.keyvault.keys.crypto import KeyWrapAlgorithm

        if wrapped.alg != RSA_OAEP_256:
            raise ValueError(f"unsupported wrap algorithm {wrapped.alg}")
        result = await self._client(wrapped.kid).unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.value)
        return result.key

    def forget_current(self) -> None:
        """Drop the cached current version (call after rotating the vault key)."""
        self._current = None

    async def close(self) -> None:
        """Close the SDK clients, and the credential if this wrapper was told it owns it."""
        for client in self._crypto.values():
            await client.close()
        self._crypto.clear()
        await self._keys.close()
        if self._close_credential:
            await self._credential.close()

    def _client(self, kid: str) -> CryptographyClient:
        from azure.keyvault.keys.crypto.aio import CryptographyClient

        if kid not in self._crypto:
            self._crypto[kid] = CryptographyClient(kid, self._credential, **self._client_kwargs)
        return self._crypto[kid]
