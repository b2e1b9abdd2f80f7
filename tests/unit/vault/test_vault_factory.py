"""build_key_wrapper picks the region's wrapper: local files, simulator, or Key Vault."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import RegionSettings, Settings
from shared.errors import ConfigError, NotFoundError
from shared.vault.factory import build_key_wrapper, local_key_dir
from shared.vault.keys import KeyVaultKeyWrapper, LocalKeyWrapper


def _settings(environment: str, uri: str | None, data_dir: Path | None) -> Settings:
    regions = {
        name: RegionSettings(
            name=name,
            cosmos_endpoint="https://127.0.0.1:1",  # type: ignore[arg-type]
            cosmos_database=f"ferry-{name}",
            keyvault_uri=uri,
        )
        for name in ("eu", "us")
    }
    return Settings(
        environment=environment,
        stamp_region="eu",
        regions=regions,  # type: ignore[arg-type]
        oidc_issuers=("https://issuer.example",),
        oidc_audience="api://ferry",
        local_data_dir=data_dir,
    )


async def test_local_regions_get_separate_key_folders(tmp_path: Path) -> None:
    settings = _settings("local", None, tmp_path)
    eu, us = build_key_wrapper(settings, "eu"), build_key_wrapper(settings, "us")
    assert isinstance(eu, LocalKeyWrapper) and isinstance(us, LocalKeyWrapper)
    wrapped = await eu.wrap(b"k" * 32)
    assert (tmp_path / "keys" / "eu" / "ferry-kek").is_dir()
    assert not (tmp_path / "keys" / "us").exists()
    with pytest.raises(NotFoundError):  # an EU data key cannot be unwrapped by the US key
        await us.unwrap(wrapped)


def test_default_local_folder_is_dot_ferry_under_project_root(tmp_path: Path) -> None:
    settings = _settings("local", None, None)
    assert local_key_dir(settings, "eu", project_root=tmp_path) == tmp_path / ".ferry/keys/eu"


async def test_azure_requires_a_vault_and_uses_it() -> None:
    with pytest.raises(ConfigError):
        build_key_wrapper(_settings("azure", None, None), "eu")
    wrapper = build_key_wrapper(_settings("azure", "https://ferry-eu.vault.azure.net", None), "eu")
    assert isinstance(wrapper, KeyVaultKeyWrapper)
    await wrapper.close()  # also closes the DefaultAzureCredential it owns
