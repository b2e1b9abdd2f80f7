"""Connectors and the engine build HTTP clients only through shared.net.http.build_client."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GUARDED = ("shared/connectors", "shared/engine")
DIRECT = re.compile(
    r"\b(httpx\.(Async)?Client|AsyncHTTPTransport|HTTPTransport|"
    r"aiohttp\.ClientSession|urllib\.request\.urlopen|requests\.(get|post|Session))\("
)


def test_no_direct_http_clients_outside_the_guard() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in GUARDED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if DIRECT.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == [], f"use shared.net.http.build_client instead: {offenders}"


def test_the_scan_finds_a_direct_client() -> None:
    assert DIRECT.search("    client = httpx.AsyncClient(timeout=5)")
    assert not DIRECT.search("    client = build_client('trello', allow_loopback=False)")
