"""The stamp keeps the security and retention properties issue 9 asks for.

checkov covers generic rules; these pin Ferry's own: Entra-only data planes, the KEK's
shape, the 90-day log backstop, the retention bounds and least-privilege roles.
"""

from __future__ import annotations

from tests.infra.bicep_model import (
    MAIN,
    decorator,
    module,
    module_calls,
    one_resource,
    parameter_default,
    parse,
    resources_of_type,
)


def test_storage_is_entra_only_tls12_with_soft_delete() -> None:
    storage = module("storage")
    props = one_resource(storage, "Microsoft.Storage/storageAccounts")["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["allowBlobPublicAccess"] is False
    blob = one_resource(storage, "Microsoft.Storage/storageAccounts/blobServices")["properties"]
    assert blob["deleteRetentionPolicy"]["enabled"] is True
    assert blob["containerDeleteRetentionPolicy"]["enabled"] is True


def test_lifecycle_deletes_run_logs_90_days_after_last_change() -> None:
    storage = module("storage")
    policy = one_resource(storage, "Microsoft.Storage/storageAccounts/managementPolicies")
    (rule,) = policy["properties"]["policy"]["rules"]
    definition = rule["definition"]
    assert definition["filters"]["prefixMatch"] == ["logs/"]
    assert "appendBlob" in definition["filters"]["blobTypes"]  # run logs are append blobs
    delete = definition["actions"]["baseBlob"]["delete"]
    assert delete == {"daysAfterModificationGreaterThan": "logsRetentionDays"}
    main = parse(MAIN)
    assert module_calls(main)["storage"][1]["logsRetentionDays"] == "runLogsRetentionDays"
    assert parameter_default(main, "runLogsRetentionDays") == 90


def test_cosmos_is_entra_only_with_point_in_time_restore() -> None:
    props = one_resource(module("cosmos"), "Microsoft.DocumentDB/databaseAccounts")["properties"]
    assert props["disableLocalAuth"] is True
    assert props["disableKeyBasedMetadataWriteAccess"] is True
    assert props["minimalTlsVersion"] == "Tls12"
    assert props["backupPolicy"]["type"] == "Continuous"


def test_key_vault_rbac_soft_delete_purge_protection() -> None:
    vault = module("keyvault")
    props = one_resource(vault, "Microsoft.KeyVault/vaults")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True


def test_kek_only_wraps_and_unwraps() -> None:
    vault = module("keyvault")
    key = one_resource(vault, "Microsoft.KeyVault/vaults/keys")["properties"]
    assert key["keyOps"] == ["wrapKey", "unwrapKey"]
    assert key["kty"] == "RSA-HSM"
    assert set(decorator(vault, "keySize", "allowed")) <= {3072, 4096}
    assert parameter_default(vault, "keyName") == "ferry-kek"
    assert parameter_default(parse(MAIN), "keyVaultKeyName") == "ferry-kek"
    assert key["rotationPolicy"]["attributes"]["expiryTime"] == "keyExpiresAfter"


def test_function_app_flex_consumption_https_tls12_no_ftp() -> None:
    app = module("functionapp")
    plan = one_resource(app, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = one_resource(app, "Microsoft.Web/sites")
    assert site["identity"]["type"] == "UserAssigned"
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    assert props["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert props["functionAppConfig"]["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    policies = resources_of_type(app, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert sorted(p["name"] for p in policies.values()) == ["ftp", "scm"]
    assert all(p["properties"]["allow"] is False for p in policies.values())


def test_log_retention_between_30_and_90_days() -> None:
    for template, name in ((module("monitoring"), "retentionInDays"), (parse(MAIN), "logRetentionDays")):
        assert decorator(template, name, "min_value") == 30
        assert decorator(template, name, "max_value") == 90
    insights = one_resource(module("monitoring"), "Microsoft.Insights/components")["properties"]
    assert insights["WorkspaceResourceId"]
    assert insights["DisableLocalAuth"] is True


def test_search_and_openai_are_entra_only() -> None:
    search = one_resource(module("search"), "Microsoft.Search/searchServices")["properties"]
    assert search["disableLocalAuth"] is True
    openai = one_resource(module("openai"), "Microsoft.CognitiveServices/accounts")
    assert openai["kind"] == "OpenAI"
    assert openai["properties"]["disableLocalAuth"] is True
    assert "GlobalStandard" not in decorator(module("openai"), "deploymentSku", "allowed")


def test_roles_are_the_least_privilege_set() -> None:
    roles = module("roles")
    ids = roles["variables"]["roles"]["value"]
    assert ids["storageQueueDataContributor"] == "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
    assert ids["storageBlobDataOwner"] == "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
    assert ids["keyVaultCryptoUser"] == "12338af0-0e69-4776-bea7-57ae8d297424"
    assert roles["variables"]["cosmosDataContributor"]["value"] == "00000000-0000-0000-0000-000000000002"
    assignments = resources_of_type(roles, "Microsoft.Authorization/roleAssignments")
    # The crypto role is scoped to the KEK itself, not the whole vault.
    assert assignments["kekCrypto"]["scope"] == "kek"
    # No owner/contributor-style management role anywhere.
    forbidden = {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c"}
    assert not forbidden & set(ids.values())
    cosmos_role = one_resource(roles, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert cosmos_role["properties"]["scope"] == "${cosmos.id}/dbs/${cosmosDatabaseName}"


def test_peer_roles_are_optional_and_not_host() -> None:
    calls = module_calls(parse(MAIN))
    assert calls["hostRoles"][1]["isHost"] is True
    assert calls["peerRoles"][1]["isHost"] is False
    assert calls["peerRoles"][1]["principalId"] == "peerPrincipalId"
    assert parameter_default(parse(MAIN), "peerPrincipalId") == ""
