"""The source marker in a description footer, for writers whose vendor has no field for it
(``MarkerLocation.DESCRIPTION_FOOTER``): written last, found again by ``find_marker``, kept
within the vendor's length limit by cutting the text before it (and before a writer's note),
never the marker."""

from __future__ import annotations

import re

from shared.contract.text import MARKER_PREFIX, marker_footer, strip_marker_footer

_FOOTER = re.compile(rf"\[({re.escape(MARKER_PREFIX)}:[^\[\]\s]+)\]\s*$")


def with_footer(text: str, marker: str, *, max_chars: int | None = None, note: str = "") -> str:
    """``text`` + ``note`` (a writer's own lines, kept whole) + the marker footer, the text
    cut to fit ``max_chars`` if needed (the writer reports the cut as an adaptation)."""
    footer = marker_footer(marker)
    if max_chars is not None:
        text = text[: max(0, max_chars - len(footer) - len(note))]
    return text + note + footer


def fits(text: str, marker: str, *, max_chars: int, note: str = "") -> bool:
    """Whether ``with_footer`` keeps ``text`` whole."""
    return len(text) + len(note) + len(marker_footer(marker)) <= max_chars


def find_marker(text: str | None) -> str | None:
    """The marker in a footer at the end of ``text`` (None when there is none)."""
    if not text:
        return None
    found = _FOOTER.search(text)
    return found.group(1) if found else None


def without_footer(text: str) -> str:
    """The text as the user wrote it (a reader round-tripping Ferry's own items)."""
    return strip_marker_footer(text)
