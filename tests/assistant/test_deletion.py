"""Org deletion and the retention sweep remove the org's records from the index: through
the purger registered with retention (its `search-assistant` step and leftovers check)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.assistant import backends as backends_module
from shared.assistant.backends import Role
from shared.assistant.indexer import index_lines
from shared.assistant.purge import PURGER_NAME, count_assistant_records, purge_assistant_index
from shared.assistant.records import SHARED_TENANT
from shared.retention import purge as retention_purge
from tests.assistant.conftest import CachedEmbedder, make_backends
from tests.assistant.seed import ORG_A, ORG_B, run_lines


@pytest.fixture
async def registered(tmp_path: Path, embedder: CachedEmbedder, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    backends = make_backends(tmp_path / "index.sqlite3", embedder)
    settings = SimpleNamespace()
    monkeypatch.setattr(backends_module, "_BUILT", {(id(settings), "eu", Role.INDEX): backends})
    retention_purge.register_purger(PURGER_NAME, purge_assistant_index, count_assistant_records)
    yield SimpleNamespace(settings=settings), backends
    retention_purge.unregister_purger(PURGER_NAME)


async def test_deletion_step_leaves_zero_documents_of_the_org(registered) -> None:  # type: ignore[no-untyped-def]
    stores, backends = registered
    for org, tag in ((ORG_A, "a"), (ORG_B, "b")):
        for run_id, lines in run_lines(tag).items():
            await index_lines(backends, org, run_id, lines)
    before_b = await backends.index.count(ORG_B)
    assert await backends.index.count(ORG_A) > 0 and before_b > 0
    assert "search-assistant" in retention_purge.step_names()  # the receipt lists the index step

    purger = retention_purge.OrgPurger(stores, "eu", ORG_A)
    removed = await purger.run_step("search-assistant")
    assert removed > 0
    assert await backends.index.count(ORG_A) == 0
    assert await backends.index.count(ORG_B) == before_b  # nobody else's records
    assert await purger.run_step("search-assistant") == 0  # idempotent


async def test_leftovers_check_finds_records_indexed_late(registered) -> None:  # type: ignore[no-untyped-def]
    stores, backends = registered
    await index_lines(backends, ORG_A, "run_a_full01", run_lines("a")["run_a_full01"][:3])
    found = {}
    for name, counter in retention_purge._COUNTERS.items():
        found[name] = await counter(stores, "eu", ORG_A)
    assert found == {PURGER_NAME: 3}
    await purge_assistant_index(stores, "eu", ORG_A)
    assert await count_assistant_records(stores, "eu", ORG_A) == 0
    assert await backends.index.count(SHARED_TENANT) == 0  # the docs part is nobody's to purge
