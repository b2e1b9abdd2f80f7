"""Country → region table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ValidationFailed
from shared.identity.regions import (
    EU_MEMBER_STATES,
    ISO_3166_ALPHA2,
    normalize_country,
    region_for_country,
    validate_region,
)

EU27 = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
EU_REGION = EU27 + ["IS", "LI", "NO", "CH", "GB", "AX", "GF", "GP", "MQ", "RE", "YT", "MF"]
#: the alpha-2 codes of Debian's iso-codes (copied into the repository, source inside the file)
ISO_CODES_JSON = Path(__file__).parent / "data" / "iso_3166-1_alpha2.json"


def test_code_list_is_complete() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in ISO_3166_ALPHA2)
    assert len(EU_MEMBER_STATES) == 27 and set(EU27) == EU_MEMBER_STATES


def test_code_list_matches_debian_iso_codes() -> None:
    data = json.loads(ISO_CODES_JSON.read_text(encoding="utf-8"))
    assert set(data["alpha_2"]) == ISO_3166_ALPHA2


@pytest.mark.parametrize("code", EU_REGION)
def test_eu_region(code: str) -> None:
    assert region_for_country(code) == "eu"


def test_everything_else_is_us() -> None:
    others = ISO_3166_ALPHA2 - set(EU_REGION)
    assert len(others) == 249 - len(EU_REGION)
    assert {region_for_country(c) for c in others} == {"us"}
    for code in ("US", "CA", "JP", "TR", "UA", "RS", "JE", "GG", "IM", "GL", "PF", "AW"):
        assert region_for_country(code) == "us"


def test_case_and_whitespace_are_forgiven() -> None:
    assert region_for_country(" de ") == "eu"
    assert normalize_country("gb") == "GB"


@pytest.mark.parametrize("code", ["", "ZZ", "XK", "UK", "EU", "DEU", "D", "1A", "de-DE", None, 49])
def test_unknown_codes(code: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        region_for_country(code)  # type: ignore[arg-type]
    assert caught.value.extra == {"field": "country"}


def test_validate_region() -> None:
    assert validate_region("eu") == "eu"
    assert validate_region("us") == "us"
    with pytest.raises(ValidationFailed) as caught:
        validate_region("EU")
    assert caught.value.extra == {"field": "region"}
