"""`./dev up` and the README agree: loopback connectors are off unless asked for (issue 18, item 10)."""

from __future__ import annotations

import json

import pytest

from shared.config import ConfigError, settings_from_env
from tools.cli import ROOT, build_parser, local_values, loopback_connectors_wanted

STACK = {
    "FERRY_ENVIRONMENT": "local",
    "FERRY_REGIONS": "eu",
    "FERRY_STAMP_REGION": "eu",
    "FERRY_COSMOS_ENDPOINT_EU": "https://127.0.0.1:8081",
    "FERRY_COSMOS_KEY_EU": "k",
    "FERRY_STORAGE_CONNECTION_EU": "AccountName=ferryeu;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/ferryeu",
}


def _example_values() -> dict[str, str]:
    return json.loads((ROOT / "local.settings.json.example").read_text())["Values"]


def test_up_refuses_loopback_connectors_by_default() -> None:
    args = build_parser().parse_args(["up"])
    assert args.allow_loopback_connectors is False
    wanted = loopback_connectors_wanted(_example_values(), flag=args.allow_loopback_connectors)
    assert wanted is False
    settings = settings_from_env(local_values(STACK, loopback_connectors=wanted))
    assert settings.allow_loopback_connectors is False


def test_up_allows_loopback_connectors_when_asked() -> None:
    args = build_parser().parse_args(["up", "--allow-loopback-connectors"])
    wanted = loopback_connectors_wanted(_example_values(), flag=args.allow_loopback_connectors)
    assert wanted is True
    assert settings_from_env(local_values(STACK, loopback_connectors=wanted)).allow_loopback_connectors is True


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("false", False), ("", False)])
def test_local_settings_value_is_honoured(value: str, expected: bool) -> None:
    assert loopback_connectors_wanted({"FERRY_ALLOW_LOOPBACK_CONNECTORS": value}, flag=False) is expected


def test_malformed_local_setting_names_itself() -> None:
    with pytest.raises(ConfigError, match="FERRY_ALLOW_LOOPBACK_CONNECTORS"):
        loopback_connectors_wanted({"FERRY_ALLOW_LOOPBACK_CONNECTORS": "sometimes"}, flag=False)


def test_readme_says_off_by_default() -> None:
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `FERRY_ALLOW_LOOPBACK_CONNECTORS`"))
    assert "off by default" in row and "--allow-loopback-connectors" in row
