"""Fixtures of the identity tests: a fake clock and the development issuer on loopback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.dev_issuer import DevIssuer


class FakeClock:
    """A clock tests move by hand; callable like `time.time`."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes | dict) -> str:
    """Unpadded base64url, as JWS segments are written."""
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def shared_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIssuer]:
    """One development issuer served for a whole module (tests must not rotate it)."""
    issuer = DevIssuer(tmp_path_factory.mktemp("dev-issuer"))
    with issuer.serve():
        yield issuer


@pytest.fixture
def own_issuer(tmp_path: Path) -> Iterator[DevIssuer]:
    """A development issuer of this test alone (free to rotate keys)."""
    issuer = DevIssuer(tmp_path / "keys")
    with issuer.serve():
        yield issuer
