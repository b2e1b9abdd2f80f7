"""Settings: the only module that reads the environment.

Like the Functions host, local runs take `Values` from `local.settings.json` into the
environment (without overriding what is already set). In Azure every connection is
identity-based (`DefaultAzureCredential`, i.e. the app's managed identity); keys and
connection strings are accepted only when ``FERRY_ENVIRONMENT=local`` and only for the
local stand-ins. A missing or malformed setting stops start-up with one message naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from shared.errors import ConfigError

Region = Literal["eu", "us"]
KNOWN_REGIONS: tuple[Region, ...] = ("eu", "us")

#: Every setting read when FERRY_ENVIRONMENT=azure; infra/bicep must set each one
#: (tests/infra checks it, so code and infrastructure cannot drift).
AZURE_SETTINGS: tuple[str, ...] = (
    "FERRY_ENVIRONMENT",
    "FERRY_STAMP_REGION",
    "FERRY_REGIONS",
    "FERRY_COSMOS_ENDPOINT_EU",
    "FERRY_COSMOS_ENDPOINT_US",
    "FERRY_COSMOS_DATABASE_EU",
    "FERRY_COSMOS_DATABASE_US",
    "FERRY_STORAGE_ACCOUNT_EU",
    "FERRY_STORAGE_ACCOUNT_US",
    "FERRY_KEYVAULT_URI_EU",
    "FERRY_KEYVAULT_URI_US",
    "FERRY_KEYVAULT_KEY_NAME",
    "FERRY_OIDC_ISSUERS",
    "FERRY_OIDC_AUDIENCE",
    "FERRY_SEARCH_ENDPOINT_EU",
    "FERRY_SEARCH_ENDPOINT_US",
    "FERRY_OPENAI_ENDPOINT_EU",
    "FERRY_OPENAI_ENDPOINT_US",
    "FERRY_OPENAI_CHAT_DEPLOYMENT",
    "FERRY_OPENAI_EMBEDDING_DEPLOYMENT",
    "AzureWebJobsStorage__accountName",
    "AZURE_CLIENT_ID",
    "FERRY_ASSISTANT_CLIENT_ID",
)

#: Optional tuning, valid everywhere, with defaults that suit Azure.
OPTIONAL_SETTINGS: tuple[str, ...] = (
    # How long a chunk owns its scope unless renewed: the worker running it renews the lease
    # every 5 s, or every third of it if shorter (shared/migrations/worker.py), so a chunk never
    # loses its scope while it runs, and the scope of a worker that died is free for the
    # redelivery within this time (default 30 s: a living chunk keeps its scope through four
    # failed renewals in a row).
    "FERRY_CHUNK_LEASE_SECONDS",
    # An OpenAI-compatible chat endpoint for the assistant's answers (and its model name);
    # without it, locally, answers are extractive. In Azure the OpenAI deployment answers.
    "FERRY_ASSISTANT_CHAT_URL",
    "FERRY_ASSISTANT_CHAT_MODEL",
    # Microsoft Entra issuers (of FERRY_OIDC_ISSUERS) whose `email` claim counts as verified
    # when the token says its domain is owned by the tenant (`xms_edov: true`, an optional
    # claim the app registration must request): Entra sends no `email_verified`, so without
    # this an Entra user cannot claim an invitation by e-mail.
    "FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS",
)

#: Settings that exist only for local stand-ins; refused in Azure.
LOCAL_ONLY_SETTINGS: tuple[str, ...] = (
    "FERRY_COSMOS_KEY_EU",
    "FERRY_COSMOS_KEY_US",
    "FERRY_STORAGE_CONNECTION_EU",
    "FERRY_STORAGE_CONNECTION_US",
    "FERRY_LOCAL_DATA_DIR",
    "FERRY_ALLOW_LOOPBACK_CONNECTORS",
    "AzureWebJobsStorage",
    "FERRY_ASSISTANT_CHAT_KEY",
)

QUEUE_CHUNKS = "migration-chunks"
QUEUE_DELETIONS = "deletions"
QUEUE_ASSISTANT = "assistant-index"
BLOB_LOGS = "logs"
BLOB_EXPORTS = "exports"


@dataclass(frozen=True)
class RegionSettings:
    """Where one region's data lives. Secrets are only ever set for local stand-ins."""

    name: Region
    cosmos_endpoint: str
    cosmos_database: str
    cosmos_key: str | None = field(default=None, repr=False)
    storage_account: str | None = None
    storage_connection: str | None = field(default=None, repr=False)
    keyvault_uri: str | None = None
    search_endpoint: str | None = None
    openai_endpoint: str | None = None

    @property
    def blob_endpoint(self) -> str:
        return f"https://{self.storage_account}.blob.core.windows.net"

    @property
    def queue_endpoint(self) -> str:
        return f"https://{self.storage_account}.queue.core.windows.net"


#: local runs keep their data (keys, indexes) under this folder of the project
LOCAL_DATA_DIRNAME = ".ferry"


@dataclass(frozen=True)
class Settings:
    environment: Literal["local", "azure"]
    stamp_region: Region
    regions: Mapping[Region, RegionSettings]
    oidc_issuers: tuple[str, ...]
    oidc_audience: str
    #: issuers whose `email` is verified by `xms_edov` (see OPTIONAL_SETTINGS)
    oidc_domain_verified_issuers: tuple[str, ...] = ()
    keyvault_key_name: str = "ferry-kek"
    local_data_dir: Path | None = None
    allow_loopback_connectors: bool = False
    openai_chat_deployment: str | None = None
    openai_embedding_deployment: str | None = None
    chunk_lease_s: float = 30.0
    #: the assistant's own managed identity (Azure; read-only on the search index and OpenAI)
    assistant_client_id: str | None = None
    #: an OpenAI-compatible chat endpoint for assistant answers (local; else extractive answers)
    assistant_chat_url: str | None = None
    assistant_chat_model: str | None = None
    assistant_chat_key: str | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        return self.environment == "local"

    def region(self, name: str) -> RegionSettings:
        try:
            return self.regions[name]  # type: ignore[index]
        except KeyError as exc:
            raise ConfigError(f"region {name!r} is not configured (FERRY_REGIONS)") from exc


def load_local_settings(path: Path, environ: dict[str, str] | None = None) -> None:
    """Copy `Values` of a local.settings.json into the environment, as the host does."""
    env = os.environ if environ is None else environ
    if not path.is_file():
        return
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    for key, value in values.items():
        env.setdefault(key, str(value))


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(name)
        return value.strip() if value is not None and value.strip() else default

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise ConfigError(f"setting {name} is missing")
        return value

    def url(self, name: str, *, required: bool = True) -> str | None:
        value = self.required(name) if required else self.get(name)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"setting {name} must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def flag(self, name: str) -> bool:
        value = (self.get(name) or "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"setting {name} must be true or false, got {value!r}")
        return value in ("true", "1", "yes")


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Build and validate Settings from a mapping (the environment in production)."""
    r = _Reader(env)
    environment = r.get("FERRY_ENVIRONMENT", "azure")
    if environment not in ("local", "azure"):
        raise ConfigError(f"setting FERRY_ENVIRONMENT must be local or azure, got {environment!r}")
    is_local = environment == "local"
    if not is_local:
        for name in LOCAL_ONLY_SETTINGS:
            if r.get(name) is not None and name != "AzureWebJobsStorage":
                raise ConfigError(f"setting {name} is for local stand-ins only; remove it in Azure")
    region_names = [x.strip() for x in (r.get("FERRY_REGIONS", "eu,us") or "").split(",") if x.strip()]
    for name in region_names:
        if name not in KNOWN_REGIONS:
            raise ConfigError(f"setting FERRY_REGIONS names unknown region {name!r}")
    regions: dict[Region, RegionSettings] = {}
    for name in region_names:
        sfx = name.upper()
        if is_local:
            storage_connection = r.required(f"FERRY_STORAGE_CONNECTION_{sfx}")
            storage_account = _account_from_connection(storage_connection, f"FERRY_STORAGE_CONNECTION_{sfx}")
            cosmos_key = r.required(f"FERRY_COSMOS_KEY_{sfx}")
        else:
            storage_connection = None
            storage_account = r.required(f"FERRY_STORAGE_ACCOUNT_{sfx}")
            cosmos_key = None
        regions[name] = RegionSettings(  # type: ignore[index]
            name=name,  # type: ignore[arg-type]
            cosmos_endpoint=r.url(f"FERRY_COSMOS_ENDPOINT_{sfx}") or "",
            cosmos_database=r.get(f"FERRY_COSMOS_DATABASE_{sfx}", f"ferry-{name}") or "",
            cosmos_key=cosmos_key,
            storage_account=storage_account,
            storage_connection=storage_connection,
            keyvault_uri=r.url(f"FERRY_KEYVAULT_URI_{sfx}", required=not is_local),
            search_endpoint=r.url(f"FERRY_SEARCH_ENDPOINT_{sfx}", required=False),
            openai_endpoint=r.url(f"FERRY_OPENAI_ENDPOINT_{sfx}", required=False),
        )
    if not regions:
        raise ConfigError("setting FERRY_REGIONS is empty")
    stamp = r.get("FERRY_STAMP_REGION", region_names[0])
    if stamp not in regions:
        raise ConfigError(f"setting FERRY_STAMP_REGION must be one of {sorted(regions)}, got {stamp!r}")
    issuers = tuple(i.strip().rstrip("/") for i in r.required("FERRY_OIDC_ISSUERS").split(",") if i.strip())
    for issuer in issuers:
        parsed = urlparse(issuer)
        loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if parsed.scheme != "https" and not (is_local and loopback and parsed.scheme == "http"):
            raise ConfigError(f"setting FERRY_OIDC_ISSUERS: issuer {issuer!r} must use https")
    edov = tuple(
        i.strip().rstrip("/") for i in (r.get("FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS") or "").split(",") if i.strip()
    )
    if not set(edov) <= set(issuers):
        raise ConfigError("setting FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS may name only issuers of FERRY_OIDC_ISSUERS")
    allow_loopback = r.flag("FERRY_ALLOW_LOOPBACK_CONNECTORS") if is_local else False
    lease_text = r.get("FERRY_CHUNK_LEASE_SECONDS", "30") or "30"
    try:
        chunk_lease_s = float(lease_text)
    except ValueError as exc:
        raise ConfigError(f"setting FERRY_CHUNK_LEASE_SECONDS must be a number, got {lease_text!r}") from exc
    if not 1 <= chunk_lease_s <= 3600:
        raise ConfigError("setting FERRY_CHUNK_LEASE_SECONDS must be between 1 and 3600")
    data_dir = r.get("FERRY_LOCAL_DATA_DIR") if is_local else None
    return Settings(
        environment=environment,  # type: ignore[arg-type]
        stamp_region=stamp,
        regions=regions,
        oidc_issuers=issuers,
        oidc_audience=r.required("FERRY_OIDC_AUDIENCE"),
        oidc_domain_verified_issuers=edov,
        keyvault_key_name=r.get("FERRY_KEYVAULT_KEY_NAME", "ferry-kek") or "ferry-kek",
        local_data_dir=Path(data_dir) if data_dir else None,
        allow_loopback_connectors=allow_loopback,
        openai_chat_deployment=r.get("FERRY_OPENAI_CHAT_DEPLOYMENT"),
        openai_embedding_deployment=r.get("FERRY_OPENAI_EMBEDDING_DEPLOYMENT"),
        chunk_lease_s=chunk_lease_s,
        assistant_client_id=r.get("FERRY_ASSISTANT_CLIENT_ID"),
        assistant_chat_url=r.url("FERRY_ASSISTANT_CHAT_URL", required=False),
        assistant_chat_model=r.get("FERRY_ASSISTANT_CHAT_MODEL"),
        assistant_chat_key=r.get("FERRY_ASSISTANT_CHAT_KEY") if is_local else None,
    )


def _account_from_connection(conn: str, name: str) -> str:
    parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    account = parts.get("AccountName")
    if not account:
        raise ConfigError(f"setting {name} has no AccountName")
    return account


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once. Local runs first load local.settings.json."""
    load_local_settings(Path(os.environ.get("FERRY_SETTINGS_FILE", "local.settings.json")))
    return settings_from_env(os.environ)
