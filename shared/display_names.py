"""The one rule for names people give things (organisations, connectors, migrations, API keys).

A name is shown as text in the console, in audit lines, exports and reports, and may be
written to a vendor. It is trimmed, must not be blank, and must not hold characters that
change how the text around it reads or that stores and logs handle badly:

- control characters (Unicode `Cc`: NUL, tab, newline, escape …) and line or paragraph
  separators (`Zl`, `Zp`): a name is one line of plain text;
- the bidirectional controls (U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069), with
  which "invoice<U+202E>fdp.exe" displays as something it is not (Trojan Source);
- surrogates and non-characters, which are not text at all.

Other format characters stay allowed: the zero-width joiner builds emoji sequences, and
right-to-left scripts need no control character to display. A refusal names the character
by its code point, never by echoing it.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def refused_character(value: str) -> str | None:
    """`U+XXXX (what it is)` of the first character a name must not hold, None when it has none."""
    for char in value:
        code = ord(char)
        category = unicodedata.category(char)
        if code in BIDI_CONTROLS:
            return f"U+{code:04X} (a bidirectional control)"
        if category in _REFUSED_CATEGORIES:
            return f"U+{code:04X} (a control or separator character)"
        if _is_noncharacter(code):
            return f"U+{code:04X} (a non-character)"
    return None


def check_display_name(value: str) -> str:
    """The trimmed name; ValueError when it is blank or holds a refused character."""
    refused = refused_character(value)
    if refused is not None:
        raise ValueError(f"must not contain {refused}")
    trimmed = value.strip()
    if not trimmed:
        raise ValueError("must not be blank")
    return trimmed


#: A name field of a request body: give it `Field(min_length=…, max_length=…)` as well.
DisplayName = Annotated[str, AfterValidator(check_display_name)]
