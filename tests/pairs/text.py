"""The texts the delta test writes at the source (and finds at the destination)."""

from __future__ import annotations

NEW_NAME = "Renamed at the source — Δ ✓"
NEW_DESCRIPTION = "Description edited at the source.\n\nSecond paragraph — ünïcödé ✓"
