"""Every Bicep file parses, modules are wired to their parameters, and the EU/US
parameter files fit main.bicep and name each other's stores.

There is no Bicep compiler on this machine, so these checks stand in for the
parameter part of `bicep build`: a misspelt module parameter or a forgotten
required one fails here rather than at deployment time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.bicep_model import (
    BICEP_DIR,
    MAIN,
    PARAMETER_FILES,
    bicep_files,
    decorator,
    module_calls,
    parameter_file,
    parse,
    stamp_stores,
)

EXPECTED_MODULES = {
    "assistant.bicep",
    "console.bicep",
    "cosmos.bicep",
    "functionapp.bicep",
    "identity.bicep",
    "keyvault.bicep",
    "monitoring.bicep",
    "openai.bicep",
    "roles.bicep",
    "search.bicep",
    "storage.bicep",
}


def test_the_stamp_has_main_and_its_modules() -> None:
    names = {p.name for p in bicep_files() if p.parent.name == "modules"}
    assert MAIN.exists()
    assert names == EXPECTED_MODULES


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(BICEP_DIR)))
def test_every_bicep_file_parses(path: Path) -> None:
    template = parse(path)
    assert template.get("resources") or template.get("modules"), f"{path.name} declares nothing"


def _required(template: dict) -> set[str]:
    return {name for name, spec in template.get("parameters", {}).items() if spec.get("default") is None}


def test_module_calls_pass_declared_and_required_parameters() -> None:
    calls = module_calls(parse(MAIN))
    assert calls, "main.bicep calls no module"
    for symbol, (path, params) in calls.items():
        assert path.exists(), f"module {symbol}: {path} does not exist"
        module = parse(path)
        declared = set(module.get("parameters", {}))
        unknown = set(params) - declared
        missing = _required(module) - set(params)
        assert not unknown, f"module {symbol} passes undeclared parameters {sorted(unknown)}"
        assert not missing, f"module {symbol} leaves required parameters unset {sorted(missing)}"


@pytest.mark.parametrize("region", sorted(PARAMETER_FILES))
def test_parameter_file_fits_main(region: str) -> None:
    main = parse(MAIN)
    values = parameter_file(region)
    declared = set(main["parameters"])
    assert not set(values) - declared, f"unknown parameters {sorted(set(values) - declared)}"
    assert not _required(main) - set(values), f"required parameters missing {sorted(_required(main) - set(values))}"
    assert values["stampRegion"] == region
    assert "*" not in values.get("corsAllowedOrigins", []), "CORS must list origins, never '*'"
    assert all(issuer.startswith("https://") for issuer in values["oidcIssuers"])
    for name, value in values.items():
        allowed = decorator(main, name, "allowed")
        if allowed is not None:
            assert value in allowed, f"{name}={value!r} is not one of {allowed}"
    prefix = values["namePrefix"]
    assert re.fullmatch(r"[a-z0-9]+", prefix), "namePrefix must be lowercase letters and digits"
    assert decorator(main, "namePrefix", "min_length") <= len(prefix) <= decorator(main, "namePrefix", "max_length")


@pytest.mark.parametrize("region", sorted(PARAMETER_FILES))
def test_derived_names_fit_azure_rules(region: str) -> None:
    stores = stamp_stores(parameter_file(region)["namePrefix"], region)
    assert re.fullmatch(r"[a-z0-9]{3,24}", stores["storageAccount"]), stores["storageAccount"]
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", stores["keyVaultName"]), stores["keyVaultName"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,42}[a-z0-9]", stores["cosmosAccount"]), stores["cosmosAccount"]


@pytest.mark.parametrize(("region", "peer"), [("eu", "us"), ("us", "eu")])
def test_peer_parameters_name_the_other_stamp(region: str, peer: str) -> None:
    """The peer* values of one file are exactly what the other file's stamp deploys."""
    mine = parameter_file(region)
    theirs = parameter_file(peer)
    expected = stamp_stores(theirs["namePrefix"], peer)
    assert mine["peerStorageAccountName"] == expected["storageAccount"]
    assert mine["peerCosmosEndpoint"] == expected["cosmosEndpoint"]
    assert mine["peerCosmosDatabaseName"] == expected["cosmosDatabase"]
    assert mine["peerKeyVaultUri"] == expected["keyVaultUri"]
    assert mine["peerSearchEndpoint"] == expected["searchEndpoint"]
    assert mine["peerOpenAiEndpoint"] == expected["openAiEndpoint"]
    assert theirs.get("cosmosDatabaseName", expected["cosmosDatabase"]) == expected["cosmosDatabase"]


def test_readme_documents_every_main_parameter() -> None:
    readme = (BICEP_DIR.parent / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in parse(MAIN)["parameters"] if f"| `{name}` |" not in readme]
    assert not undocumented, f"infra/README.md parameter table lacks {undocumented}"
