"""Store a validated connection as public fields + sealed secrets, and back.

The connector document keeps `public` as is and `sealed` (dotted secret path ->
envelope string); the AAD of each sealed value names its path, so a value moved to
another field, connector or organisation does not decrypt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.connectors.settings import ConnectionBase, join_secrets, split_secrets
from shared.vault.service import Vault


async def seal_connection(
    vault: Vault, tenant_id: str, connector_id: str, connection: ConnectionBase
) -> tuple[dict[str, Any], dict[str, str]]:
    """(public fields, sealed secrets) ready to be stored in the connector document."""
    public, secrets = split_secrets(connection)
    return public, await vault.encrypt_fields(tenant_id, connector_id, secrets)


async def open_connection(
    vault: Vault, tenant_id: str, connector_id: str, public: Mapping[str, Any], sealed: Mapping[str, str]
) -> ConnectionBase:
    """Decrypt the secrets and rebuild the validated connection (secrets as SecretStr)."""
    secrets = await vault.decrypt_fields(tenant_id, connector_id, sealed)
    return join_secrets(public, secrets)
