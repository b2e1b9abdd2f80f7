"""Sign-up country → data region.

A tenant's data lives in one region, chosen from the sign-up country (DESIGN.md §4).
`eu` covers the EU/EEA, Switzerland and the United Kingdom; every other officially
assigned ISO 3166-1 alpha-2 code maps to `us`.

Beyond the 27 member states + IS, LI, NO, CH, GB the `eu` set also holds the EU's
territories that carry their own ISO code but are legally part of the Union, so the GDPR
applies there exactly as in the mainland: Åland (AX, Finland) and the French outermost
regions French Guiana (GF), Guadeloupe (GP), Martinique (MQ), Réunion (RE), Mayotte (YT)
and Saint-Martin (MF). Overseas countries and territories outside the Union (e.g. PF,
NC, GL, AW) and the Crown Dependencies (JE, GG, IM) map to `us` like any other country.
"""

from __future__ import annotations

from typing import Literal

from shared.errors import ValidationFailed

Region = Literal["eu", "us"]

#: Every officially assigned ISO 3166-1 alpha-2 code (249; matches Debian iso-codes 4.x).
#: User-assigned codes such as XK (Kosovo) and exceptional reservations (UK, EU, …) are
#: deliberately absent.
ISO_3166_ALPHA2: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
    """.split()
)

#: The 27 EU member states.
EU_MEMBER_STATES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
#: EEA members outside the EU.
EEA_NON_EU: frozenset[str] = frozenset({"IS", "LI", "NO"})
#: EU territory with its own ISO code (see the module docstring).
EU_TERRITORIES: frozenset[str] = frozenset({"AX", "GF", "GP", "MQ", "RE", "YT", "MF"})
#: Every code that maps to the `eu` region.
EU_REGION_COUNTRIES: frozenset[str] = EU_MEMBER_STATES | EEA_NON_EU | EU_TERRITORIES | frozenset({"CH", "GB"})

REGIONS: tuple[Region, ...] = ("eu", "us")


def normalize_country(code: str) -> str:
    """Return `code` as an upper-case, officially assigned ISO 3166-1 alpha-2 code.

    Surrounding whitespace and letter case are forgiven; anything else that is not an
    assigned code raises `ValidationFailed` with `field="country"`.
    """
    if not isinstance(code, str):
        raise ValidationFailed("country must be an ISO 3166-1 alpha-2 code", field="country")
    normalized = code.strip().upper()
    if normalized not in ISO_3166_ALPHA2:
        shown = code if len(code) <= 8 else code[:8] + "…"
        raise ValidationFailed(f"{shown!r} is not an ISO 3166-1 alpha-2 country code", field="country")
    return normalized


def region_for_country(code: str) -> Region:
    """Map a sign-up country to its data region: `eu` (EU/EEA, CH, GB) or `us`."""
    return "eu" if normalize_country(code) in EU_REGION_COUNTRIES else "us"


def validate_region(region: str) -> Region:
    """Check an explicit region choice (the admin override at tenant creation)."""
    if region == "eu":
        return "eu"
    if region == "us":
        return "us"
    raise ValidationFailed(f"region must be one of {', '.join(REGIONS)}", field="region")
