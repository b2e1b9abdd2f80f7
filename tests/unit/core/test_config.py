from __future__ import annotations

import json

import pytest

from shared.config import (
    AZURE_SETTINGS,
    LOCAL_ONLY_SETTINGS,
    OPTIONAL_SETTINGS,
    load_local_settings,
    settings_from_env,
)
from shared.errors import ConfigError

AZURE_ENV = {
    "FERRY_ENVIRONMENT": "azure",
    "FERRY_STAMP_REGION": "eu",
    "FERRY_REGIONS": "eu,us",
    "FERRY_COSMOS_ENDPOINT_EU": "https://ferry-eu.documents.azure.com:443/",
    "FERRY_COSMOS_ENDPOINT_US": "https://ferry-us.documents.azure.com:443/",
    "FERRY_STORAGE_ACCOUNT_EU": "ferryeu",
    "FERRY_STORAGE_ACCOUNT_US": "ferryus",
    "FERRY_KEYVAULT_URI_EU": "https://ferry-eu.vault.azure.net/",
    "FERRY_KEYVAULT_URI_US": "https://ferry-us.vault.azure.net/",
    "FERRY_OIDC_ISSUERS": "https://login.microsoftonline.com/tid/v2.0",
    "FERRY_OIDC_AUDIENCE": "api://ferry",
}


def test_azure_settings_are_identity_based() -> None:
    s = settings_from_env(AZURE_ENV)
    assert s.environment == "azure"
    eu = s.region("eu")
    assert eu.cosmos_key is None and eu.storage_connection is None
    assert eu.blob_endpoint == "https://ferryeu.blob.core.windows.net"
    assert eu.cosmos_database == "ferry-eu"


@pytest.mark.parametrize("name", ["FERRY_COSMOS_ENDPOINT_US", "FERRY_OIDC_AUDIENCE", "FERRY_KEYVAULT_URI_EU"])
def test_missing_setting_is_named(name: str) -> None:
    env = {k: v for k, v in AZURE_ENV.items() if k != name}
    with pytest.raises(ConfigError, match=name):
        settings_from_env(env)


def test_malformed_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="FERRY_COSMOS_ENDPOINT_EU"):
        settings_from_env({**AZURE_ENV, "FERRY_COSMOS_ENDPOINT_EU": "not a url"})
    with pytest.raises(ConfigError, match="FERRY_REGIONS"):
        settings_from_env({**AZURE_ENV, "FERRY_REGIONS": "eu,mars"})
    with pytest.raises(ConfigError, match="FERRY_OIDC_ISSUERS"):
        settings_from_env({**AZURE_ENV, "FERRY_OIDC_ISSUERS": "http://issuer.example.com"})


def test_local_only_secrets_are_refused_in_azure() -> None:
    with pytest.raises(ConfigError, match="FERRY_COSMOS_KEY_EU"):
        settings_from_env({**AZURE_ENV, "FERRY_COSMOS_KEY_EU": "abc"})


def test_repr_never_shows_secrets(local_env: dict[str, str]) -> None:
    s = settings_from_env(local_env)
    text = repr(s)
    assert local_env["FERRY_COSMOS_KEY_EU"] not in text
    assert "AccountKey" not in text


def test_domain_verified_issuers_must_be_trusted_issuers() -> None:
    s = settings_from_env(
        {**AZURE_ENV, "FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS": "https://login.microsoftonline.com/tid/v2.0/"}
    )
    assert s.oidc_domain_verified_issuers == ("https://login.microsoftonline.com/tid/v2.0",)
    with pytest.raises(ConfigError, match="FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS"):
        settings_from_env({**AZURE_ENV, "FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS": "https://evil.example.com"})


def test_every_azure_setting_is_declared() -> None:
    # Each name settings_from_env reads in Azure must be in AZURE_SETTINGS (the Bicep drift test uses it).
    read: set[str] = set()

    class Spy(dict):  # type: ignore[type-arg]
        def get(self, key, default=None):  # type: ignore[no-untyped-def]
            read.add(key)
            return super().get(key, default)

    settings_from_env(Spy(AZURE_ENV))
    # Local-only names are read in Azure only to refuse them.
    undeclared = {
        k
        for k in read
        if k not in AZURE_SETTINGS
        and k not in OPTIONAL_SETTINGS
        and k not in LOCAL_ONLY_SETTINGS
        and not k.startswith(
            ("FERRY_COSMOS_KEY", "FERRY_STORAGE_CONNECTION", "FERRY_LOCAL", "FERRY_ALLOW", "AzureWebJobsStorage")
        )
    }
    assert not undeclared


def test_local_settings_file_fills_but_never_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "local.settings.json"
    f.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file"}}))
    env = {"A": "from-env"}
    load_local_settings(f, env)
    assert env == {"A": "from-env", "B": "from-file"}
    f.write_text("{broken")
    with pytest.raises(ConfigError, match="local.settings.json"):
        load_local_settings(f, {})
