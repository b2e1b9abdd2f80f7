"""Session fixtures: the real local stand-ins (Azurite + Cosmos stand-in) on free ports,
the development issuer, and settings that reach them. Nothing here mocks Ferry's storage."""
from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from tools.stack import LocalStack, start_stack

AUDIENCE = "api://ferry-local"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Azurite (one account per region) and the Cosmos stand-in, started once per session."""
    running = start_stack(tmp_path_factory.mktemp("stack"), fresh=True)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def dev_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tools.dev_issuer import DevIssuer

    issuer = DevIssuer(tmp_path_factory.mktemp("issuer"))
    with issuer.serve(0):
        yield issuer


@pytest.fixture(scope="session")
def local_env(stack: LocalStack, dev_issuer: object) -> dict[str, str]:
    """Settings of a local run against this session's stand-ins."""
    return {
        **stack.values(),
        "FERRY_OIDC_ISSUERS": dev_issuer.issuer,  # type: ignore[attr-defined]
        "FERRY_OIDC_AUDIENCE": AUDIENCE,
        "FERRY_ALLOW_LOOPBACK_CONNECTORS": "true",
        "FERRY_SETTINGS_FILE": os.devnull,
    }


@pytest.fixture(scope="session")
def settings(local_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from shared.config import settings_from_env

    return settings_from_env(local_env)


@pytest.fixture(scope="session")
async def stores(settings) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    from shared.store.stores import Stores

    s = Stores(settings)
    await s.start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(scope="session")
def app_env(local_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Put the local settings into os.environ for code that reads them through get_settings()."""
    from shared.config import get_settings
    from shared.store.stores import reset_stores

    saved = dict(os.environ)
    os.environ.update(local_env)
    get_settings.cache_clear()
    reset_stores()
    try:
        yield local_env
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        reset_stores()


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
