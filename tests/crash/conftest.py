"""Fixtures of the crash suite: a local stack of its own (so no other test's runner takes
its chunk messages), vendor simulators served by the test process (their state survives
every worker death), one org, and a factory of crash worker pools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.asana import SeedConfig as AsanaSeed
from simulators.asana import create_app as asana_app
from simulators.asana.seed import token_for
from simulators.common import serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app
from tests.crash.harness import TRELLO_KEY, Sims, WorkerPool, new_org, trello_token, worker_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash: crash-point suite (worker processes killed); deselect with -m 'not crash'"
    )


#: Boards in the source: every seed of every test migrates boards of its own.
BOARDS = 40
CREDENTIALS = 40


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    """Small boards (8 cards over 4 lists, 3 labels, a few comments, small files and links,
    checklists) so that one seed's run takes a few seconds."""
    trello = trello_app(
        TrelloSeed(
            seed=6,
            boards=BOARDS,
            lists_per_board=3,
            cards_per_board=7,
            members=2,
            labels_per_board=3,
            comments_per_card=1,
            many_comments=3,
            checklist_every=3,
            attachment_sizes=(700, 1500),
            link_attachment_every=3,
            closed_card_every=4,
            long_desc_chars=300,
            api_key=TRELLO_KEY,
            extra_tokens={trello_token(i): f"crash{i}" for i in range(CREDENTIALS)},
        )
    )
    asana = asana_app(AsanaSeed(projects=0, tasks_per_project=0, users_per_workspace=CREDENTIALS, tags_per_workspace=0))
    with ExitStack() as stack:
        t = stack.enter_context(serve(trello))
        a = stack.enter_context(serve(asana))
        for base in (t, a):  # quotas are not under test here; Ferry's own pacers still run
            httpx.post(f"{base}/_sim/limits", json={"enabled": False}).raise_for_status()
        state = httpx.get(f"{t}/_sim/state").json()
        boards = [b["id"] for b in state["boards"]]
        workspace = next(iter(httpx.get(f"{a}/_sim/state").json()["workspaces"]))
        yield Sims(
            trello=t,
            asana=a,
            boards=boards,
            workspace=workspace,
            asana_tokens=[token_for(i) for i in range(CREDENTIALS)],
        )


@pytest.fixture(scope="session")
def crash_env(local_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The session's settings pointed at a stack owned by the crash suite."""
    from tools.stack import start_stack

    stack = start_stack(tmp_path_factory.mktemp("crash-stack"), fresh=True)
    try:
        yield {**local_env, **stack.values()}
    finally:
        stack.stop()


@pytest.fixture(scope="session")
async def crash_stores(crash_env: dict[str, str]) -> AsyncIterator[Any]:
    from shared.config import settings_from_env
    from shared.store.stores import Stores

    stores = Stores(settings_from_env(crash_env))
    await stores.start()
    try:
        yield stores
    finally:
        await stores.close()


@pytest.fixture
async def org(crash_stores: Any) -> Any:
    # one organisation per test: the matrix alone makes 40 connectors (each seed its own
    # credentials), and an organisation holds at most 50 (shared.tenancy.limits)
    return await new_org(crash_stores)


@pytest.fixture
def pools(crash_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerPool]]:
    """``pools(size, lease_s=…, chunk_lease_s=…)`` → a started pool, stopped after the test."""
    made: list[WorkerPool] = []

    def make(size: int, *, lease_s: float = 5.0, chunk_lease_s: float = 8.0) -> WorkerPool:
        work = tmp_path / f"pool{len(made)}"
        pool = WorkerPool(worker_env(crash_env, work, chunk_lease_s), work, size, lease_s)
        pool.start()
        made.append(pool)
        return pool

    try:
        yield make
    finally:
        for pool in made:
            pool.stop()
