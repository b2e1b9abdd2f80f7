"""Code and infrastructure cannot drift: the Bicep sets every setting the app reads in
Azure, creates every container and queue the code opens, and puts no secret in settings.
"""

from __future__ import annotations

import json

import pytest

from shared.config import AZURE_SETTINGS, LOCAL_ONLY_SETTINGS, settings_from_env
from shared.store.cosmos import CONTAINERS
from shared.store.storage import BLOB_CONTAINERS, QUEUES
from tests.infra.bicep_model import (
    MAIN,
    app_setting_names,
    app_settings,
    bicep_files,
    evaluate,
    module,
    one_resource,
    parameter_default,
    parameter_file,
    parse,
    resources_of_type,
    stamp_stores,
    string_array_variable,
)

# Names a Flex Consumption app must not carry: the platform rejects them (runtime and
# package come from functionAppConfig), or they would hold a secret.
FORBIDDEN_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "AzureWebJobsStorage",
    "APPINSIGHTS_INSTRUMENTATIONKEY",
}

# Bicep functions that return keys or connection secrets.
SECRET_FUNCTIONS = ("listkeys", "listconnectionstrings", "listsecrets", "listaccountsas", "listservicesas")


def test_bicep_sets_every_setting_the_app_reads_in_azure() -> None:
    missing = sorted(set(AZURE_SETTINGS) - set(app_setting_names()))
    assert not missing, f"shared.config reads these in Azure but the Bicep does not set them: {missing}"


def test_app_settings_are_unique() -> None:
    names = app_setting_names()
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_no_local_only_or_platform_forbidden_setting() -> None:
    names = set(app_setting_names())
    assert not names & set(LOCAL_ONLY_SETTINGS), names & set(LOCAL_ONLY_SETTINGS)
    assert not names & FORBIDDEN_SETTINGS, names & FORBIDDEN_SETTINGS


def test_host_storage_is_identity_based() -> None:
    values = {entry["name"]: entry["value"] for entry in app_settings()}
    assert values["AzureWebJobsStorage__credential"] == "managedidentity"
    assert values["AzureWebJobsStorage__accountName"] == "hostStorageAccountName"
    # Both client-id settings name the stamp's user-assigned identity (a parameter, not a literal).
    assert values["AzureWebJobsStorage__clientId"] == values["AZURE_CLIENT_ID"] == "identityClientId"
    assert values["FERRY_ENVIRONMENT"] == "azure"
    assert values["FERRY_REGIONS"] == "eu,us"


def test_http_streaming_is_enabled_for_the_worker() -> None:
    """The HTTP trigger takes the streaming extension's Request; without init indexing the
    worker would not stream (live log lines would wait for the end of the response)."""
    values = {entry["name"]: entry["value"] for entry in app_settings()}
    assert values.get("PYTHON_ENABLE_INIT_INDEXING") == "1"


def test_no_secret_in_app_settings_or_parameters() -> None:
    rendered = json.dumps(app_settings()).lower()
    for marker in (*SECRET_FUNCTIONS, "accountkey=", "sharedaccesskey", "sig=", "password"):
        assert marker not in rendered, f"app settings contain {marker!r}"
    for path in bicep_files():
        text = path.read_text(encoding="utf-8").lower()
        for fn in SECRET_FUNCTIONS:
            assert f"{fn}(" not in text and f".{fn}" not in text, f"{path.name} reads secrets with {fn}"
        template = parse(path)
        for name, spec in template.get("parameters", {}).items():
            kinds = {d.get("type") for d in spec.get("decorators", [])}
            assert "secure" not in kinds, f"{path.name}: @secure() parameter {name} means a secret is passed in"


def test_cosmos_containers_are_the_ones_the_repositories_use() -> None:
    bicep = string_array_variable(module("cosmos"), "containerNames")
    assert len(bicep) == len(set(bicep))
    assert set(bicep) == set(CONTAINERS), {
        "missing in Bicep": sorted(set(CONTAINERS) - set(bicep)),
        "unknown to the code": sorted(set(bicep) - set(CONTAINERS)),
    }


def test_every_container_is_partitioned_by_pk() -> None:
    kind = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
    (container,) = resources_of_type(module("cosmos"), kind).values()
    resource = container["properties"]["resource"]
    assert resource["partitionKey"]["paths"] == ["/pk"]
    assert "uniqueKeyPolicy" not in resource and "defaultTtl" not in resource


def test_queues_and_blob_containers_cover_the_code() -> None:
    storage = module("storage")
    queues = set(string_array_variable(storage, "queueNames"))
    wanted = {q for name in QUEUES for q in (name, f"{name}-poison")}
    assert wanted <= queues, sorted(wanted - queues)
    containers = set(string_array_variable(storage, "blobContainerNames"))
    assert set(BLOB_CONTAINERS) <= containers, sorted(set(BLOB_CONTAINERS) - containers)


@pytest.mark.parametrize("region", ["eu", "us"])
def test_a_deployed_stamp_passes_the_app_configuration(region: str) -> None:
    """Render what each stamp's app settings hold after deployment and load them as the app does.

    Own stores come from main.bicep's naming, the peer's from the parameter file; the
    setting names come from the Bicep, so a renamed setting fails here too.
    """
    params = parameter_file(region)
    peer = "us" if region == "eu" else "eu"
    own = stamp_stores(params["namePrefix"], region)
    by_region = {
        region: own,
        peer: {
            "cosmosEndpoint": params["peerCosmosEndpoint"],
            "cosmosDatabase": params["peerCosmosDatabaseName"],
            "storageAccount": params["peerStorageAccountName"],
            "keyVaultUri": params["peerKeyVaultUri"],
            "searchEndpoint": params["peerSearchEndpoint"],
            "openAiEndpoint": params["peerOpenAiEndpoint"],
        },
    }
    main = parse(MAIN)
    scope = {
        "stampRegion": region,
        "euStores": by_region["eu"],
        "usStores": by_region["us"],
        "keyVaultKeyName": parameter_default(main, "keyVaultKeyName"),
        "oidcIssuers": params["oidcIssuers"],
        "oidcAudience": params["oidcAudience"],
        "openAiChatDeployment": parameter_default(main, "openAiChatDeploymentName"),
        "openAiEmbeddingDeployment": parameter_default(main, "openAiEmbeddingDeploymentName"),
        "hostStorageAccountName": own["storageAccount"],
        "identityClientId": "11111111-2222-3333-4444-555555555555",
        "appInsightsConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000000",
    }
    env = {entry["name"]: evaluate(entry["value"], scope) for entry in app_settings()}
    assert all(isinstance(v, str) and v for v in env.values()), env
    settings = settings_from_env(env)
    assert settings.environment == "azure"
    assert settings.stamp_region == region
    assert set(settings.regions) == {"eu", "us"}
    for name in ("eu", "us"):
        assert settings.regions[name].storage_account == by_region[name]["storageAccount"]
        assert settings.regions[name].cosmos_database == by_region[name]["cosmosDatabase"]
    assert settings.keyvault_key_name == "ferry-kek"
    site = one_resource(module("functionapp"), "Microsoft.Web/sites")
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
