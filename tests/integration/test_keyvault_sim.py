"""The production key-wrapping path against the local Key Vault simulator over HTTPS.

The real `azure-keyvault-keys` aio clients talk to `tools.keyvault_sim` (self-signed
certificate for 127.0.0.1, bearer challenge). The data-key store is the dict stand-in of
the unit tests, standing for the lead's Cosmos repository until it exists.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from typing import Any, Self

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.keyvault.keys.aio import KeyClient
from azure.keyvault.keys.crypto import KeyWrapAlgorithm
from azure.keyvault.keys.crypto.aio import CryptographyClient

from shared.vault.keys import RSA_OAEP_256, KeyVaultKeyWrapper, WrappedKey
from shared.vault.service import Vault
from tests.unit.vault.test_vault_service import DictDataKeyStore
from tools.keyvault_sim import RunningSimulator, serve

DEK = bytes(range(32))
CLIENT_KW: dict[str, Any] = {"verify_challenge_resource": False, "connection_verify": False, "retry_total": 0}


class StaticCredential:
    """Any async TokenCredential works with the simulator; this one records scopes."""

    def __init__(self, token: str = "sim-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


@pytest.fixture(scope="module")
def kv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    with serve(0, tmp_path_factory.mktemp("kvsim"), keys=("ferry-kek",)) as running:
        running.sim.token_check = lambda token: token != "revoked"
        yield running


async def test_unauthenticated_call_gets_bearer_challenge(kv: RunningSimulator) -> None:
    context = ssl.create_default_context(cafile=str(kv.cert_file))  # cert valid for 127.0.0.1
    async with httpx.AsyncClient(verify=context) as client:
        response = await client.get(f"{kv.url}/keys/ferry-kek", params={"api-version": "7.6"})
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert 'resource="https://vault.azure.net"' in challenge


async def test_sdk_wraps_and_unwraps(kv: RunningSimulator) -> None:
    credential = StaticCredential()
    async with KeyClient(kv.url, credential, **CLIENT_KW) as keys:
        key = await keys.get_key("ferry-kek")
    assert key.id and key.id.startswith(f"{kv.url}/keys/ferry-kek/")
    async with CryptographyClient(key.id, credential, **CLIENT_KW) as crypto:
        wrapped = await crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, DEK)
        assert wrapped.key_id == key.id
        unwrapped = await crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    assert unwrapped.key == DEK
    assert ("https://vault.azure.net/.default",) in credential.scopes
    assert ("POST", f"/keys/ferry-kek/{key.properties.version}/unwrapkey", 200) in kv.sim.calls


async def test_wrapper_survives_key_rotation(kv: RunningSimulator) -> None:
    credential = StaticCredential()
    wrapper = KeyVaultKeyWrapper(kv.url, "ferry-kek", credential, **CLIENT_KW)
    try:
        old = await wrapper.wrap(DEK)
        assert old.alg == RSA_OAEP_256 and old.kid == await wrapper.current_kid()
        async with KeyClient(kv.url, credential, **CLIENT_KW) as keys:
            rotated = await keys.rotate_key("ferry-kek")
            versions = [p.version async for p in keys.list_properties_of_key_versions("ferry-kek")]
        assert rotated.properties.version in versions and len(versions) >= 2
        assert await wrapper.current_kid() == old.kid  # cached until refreshed
        wrapper.forget_current()
        assert await wrapper.current_kid() == rotated.id
        new = await wrapper.wrap(DEK)
        assert new.kid == rotated.id != old.kid
        assert await wrapper.unwrap(old) == DEK  # old version still unwraps
        assert await wrapper.unwrap(new) == DEK
    finally:
        await wrapper.close()


async def test_vault_rotation_over_key_vault(kv: RunningSimulator) -> None:
    credential = StaticCredential()
    wrapper = KeyVaultKeyWrapper(kv.url, "ferry-kek", credential, **CLIENT_KW)
    store = DictDataKeyStore()
    secrets = {"auth.pat": "ado-pat-0123456789abcdef", "auth.email": "x@example.com"}
    try:
        vault = Vault(store, wrapper)
        sealed = await vault.encrypt_fields("org-eu-1", "conn-1", secrets)
        before = store.docs["org-eu-1"]["keys"][0]["kid"]
        async with KeyClient(kv.url, credential, **CLIENT_KW) as keys:
            rotated = await keys.rotate_key("ferry-kek")
        # no forget_current() here: Vault.rotate asks the vault for the newest version
        assert await vault.rotate("org-eu-1") == rotated.id != before
        assert store.docs["org-eu-1"]["keys"][0]["kid"] == rotated.id
        assert await Vault(store, wrapper).decrypt_fields("org-eu-1", "conn-1", sealed) == secrets
    finally:
        await wrapper.close()


async def test_refused_token_and_unknown_version(kv: RunningSimulator) -> None:
    async with KeyClient(kv.url, StaticCredential("revoked"), **CLIENT_KW) as keys:
        with pytest.raises(ClientAuthenticationError):
            await keys.get_key("ferry-kek")
    wrapper = KeyVaultKeyWrapper(kv.url, "ferry-kek", StaticCredential(), **CLIENT_KW)
    try:
        bogus = WrappedKey(f"{kv.url}/keys/ferry-kek/{'0' * 32}", RSA_OAEP_256, b"x" * 256)
        with pytest.raises(ResourceNotFoundError):
            await wrapper.unwrap(bogus)
    finally:
        await wrapper.close()


async def test_local_settings_with_simulator_uri_use_the_sdk_path(kv: RunningSimulator) -> None:
    from shared.config import RegionSettings, Settings
    from shared.vault.factory import build_key_wrapper

    region = RegionSettings(
        name="eu", cosmos_endpoint="https://127.0.0.1:1", cosmos_database="ferry-eu", keyvault_uri=kv.url
    )
    settings = Settings(
        environment="local",
        stamp_region="eu",
        regions={"eu": region},
        oidc_issuers=("http://127.0.0.1:1",),
        oidc_audience="api://ferry",
        keyvault_key_name="ferry-kek",
    )
    wrapper = build_key_wrapper(settings, "eu")
    assert isinstance(wrapper, KeyVaultKeyWrapper)
    try:
        assert await wrapper.unwrap(await wrapper.wrap(DEK)) == DEK
    finally:
        await wrapper.close()


async def test_persisted_keys_survive_a_simulator_restart(tmp_path: Any) -> None:
    from tools.keyvault_sim import KeyVaultSimulator

    credential = StaticCredential()
    with serve(0, tmp_path / "tls", sim=KeyVaultSimulator(state_dir=tmp_path / "state"), keys=("kek",)) as first:
        wrapper = KeyVaultKeyWrapper(first.url, "kek", credential, **CLIENT_KW)
        old = await wrapper.wrap(DEK)
        await wrapper.close()
    with serve(0, tmp_path / "tls", sim=KeyVaultSimulator(state_dir=tmp_path / "state"), keys=("kek",)) as second:
        wrapper = KeyVaultKeyWrapper(second.url, "kek", credential, **CLIENT_KW)
        try:
            # same key version; only the vault URL (port) differs after the restart
            moved = WrappedKey(old.kid.replace(first.url, second.url), old.alg, old.value)
            assert await wrapper.current_kid() == moved.kid
            assert await wrapper.unwrap(moved) == DEK
        finally:
            await wrapper.close()
