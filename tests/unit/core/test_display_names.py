"""The name rule: trimmed, not blank, no control, separator, bidi-control or non-character."""

from __future__ import annotations

import pytest

from shared.display_names import BIDI_CONTROLS, check_display_name

REFUSED = [
    "a\x00b",
    "a\tb",
    "a\nb",
    "a\x1bb",
    "a\x7fb",
    "a\u2028b",
    "a\u2029b",
    "a\ufffeb",
    "a\ufdd0b",
    *(f"a{chr(c)}b" for c in sorted(BIDI_CONTROLS)),
]


@pytest.mark.parametrize("value", REFUSED)
def test_refused_characters_are_named_by_code_point(value: str) -> None:
    with pytest.raises(ValueError, match=r"U\+[0-9A-F]{4}") as refused:
        check_display_name(value)
    assert value[1] not in str(refused.value)


@pytest.mark.parametrize("value", ["", "   ", "\u3000"])
def test_blank_names_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        check_display_name(value)


@pytest.mark.parametrize(
    "value",
    [
        "Acme",
        "Équipe ünïcode",
        "שלום עולם",
        "مرحبا",
        "👩\u200d👩\u200d👧 family",
        "日本語のチーム",
        "<script>alert(1)</script>",
    ],
)
def test_text_in_any_script_is_kept(value: str) -> None:
    assert check_display_name(f"  {value} ") == value
