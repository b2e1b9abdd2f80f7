"""Session fixtures: the real local stand-ins (Azurite + Cosmos stand-in) on free ports,
the development issuer, and settings that reach them. Nothing here mocks Ferry's storage."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.app_runner import RunningApp, serve_app
from tools.stack import LocalStack, start_stack

AUDIENCE = "api://ferry-local"

#: Suites that start whole stacks, browsers or many worker processes: `-m "not slow"` leaves
#: them out for a fast loop; CI (`.ci/run`) runs everything.
SLOW_SUITES = frozenset({"crash", "pairs", "e2e", "console"})
TESTS_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: a suite that starts stacks, browsers or worker processes "
        f"({', '.join(sorted(SLOW_SUITES))}); deselect with -m 'not slow'",
    )
    config.addinivalue_line(
        "markers", "crash: crash-point suite (worker processes killed); deselect with -m 'not crash'"
    )


def suite_of(path: Path) -> str | None:
    """The suite (first folder under tests/) a test file belongs to, None outside tests/."""
    try:
        parts = path.resolve().relative_to(TESTS_DIR).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 else None


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if suite_of(item.path) in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)


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


@pytest.fixture(scope="session")
def running_app(local_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The whole app under the local runner, one for the session: the e2e, console and
    assistant suites share it (each test makes an org of its own). Defined here, not in a
    suite's conftest, so that every suite gets this one instance: a fixture imported into a
    test module is another definition, with a runner of its own."""
    with serve_app(local_env, tmp_path_factory.mktemp("runner") / "runner.log") as app:
        yield app


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
