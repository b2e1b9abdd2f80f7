"""The ``verify`` run mode on every pair: the same comparison as the fidelity tests (one
definition of "faithful"), given as per-item verdicts through the ChunkRunner; and it must see
planted defects (a scorer that cannot see a planted defect is itself a defect)."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.contract.model import Kind, Task
from shared.contract.runs import RunStatus
from shared.contract.text import make_marker, marker_footer
from shared.engine.ports import VERIFY_DEFECTS, ItemStatus
from tests.pairs.conftest import Outcomes
from tests.pairs.known import KNOWN, explained
from tests.pairs.migrate import Migration
from tests.pairs.scenario import pair_id, pair_params

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")


@pytest.mark.parametrize("pair", pair_params())
async def test_verify_finds_every_migrated_item_ok(outcomes: Outcomes, pair: tuple[str, str]) -> None:
    out = await outcomes.get(pair)
    a, b = await out.src.runtime(), await out.dst.runtime()
    try:
        assert a.reader is not None and b.reader is not None
        result = await out.migration.verify(a.reader, b.reader)
    finally:
        await a.aclose()
        await b.aclose()
    known = KNOWN.get(pair_id(pair), {})
    defects = [r for r in result.rows if r.status in VERIFY_DEFECTS and not explained(r, known)]
    assert not defects, "\n".join(f"  {r.kind} {r.source_id}: {r.status} {r.reason}" for r in defects[:20])
    if not known:
        assert result.status is RunStatus.SUCCEEDED, result.reason
    ok = Counter(str(r.kind) for r in result.rows if r.status is ItemStatus.OK or explained(r, known))
    for kind in ("project", "section", "task", "comment", "attachment"):
        assert ok[kind] > 0, f"{pair_id(pair)}: no {kind} verified ok: {dict(ok)}"
    # reads only: the verify wrote nothing (the id map and the destination are as they were)
    assert not [r for r in result.rows if r.status in (ItemStatus.CREATED, ItemStatus.UPDATED)]


async def test_verify_finds_planted_defects(outcomes: Outcomes) -> None:
    """Trello → Asana, then at the destination: a checklist subtask deleted, a task
    duplicated, a title edited, a stray item carrying a Ferry-style marker added."""
    out = await outcomes.get(("trello", "asana"))
    mig = Migration("mig-verify-planted", out.migration.scope, out.migration.dest_workspace)
    a, b = await out.src.runtime(), await out.dst.runtime()
    try:
        assert a.reader is not None and b.writer is not None and b.reader is not None
        first = await mig.run(a.reader, b.writer)
        assert first.status is RunStatus.SUCCEEDED, first.reason
        clean = await mig.verify(a.reader, b.reader)
        assert not [r for r in clean.rows if r.status in VERIFY_DEFECTS], "not clean before"
        client = b.writer.client  # type: ignore[attr-defined]
        project = mig.dest_project()
        tasks = {sid: e.dest_id for (kind, sid), e in mig.done_entries().items() if kind is Kind.TASK}
        source = {t.source_id: t for t in out.source.tasks.values()}
        with_list = next(
            sid for sid in sorted(tasks) if sid in source and source[sid].checklists and source[sid].checklists[0].items
        )
        edited, duplicated = [
            sid for sid in sorted(tasks) if sid != with_list and sid in source and not source[sid].parent_id
        ][:2]
        # 1. a checklist item's subtask deleted
        subs = await client.all(f"/tasks/{tasks[with_list]}/subtasks", opt_fields="name")
        await client.delete(f"/tasks/{subs[0]['gid']}")
        # 2. a title edited
        await client.put(f"/tasks/{tasks[edited]}", {"name": "Edited by someone"})
        # 3. a task duplicated (same name and marker, as a lost create answer would leave it)
        twin: Task = source[duplicated]
        await client.post(
            "/tasks",
            {
                "name": twin.name,
                "projects": [project],
                "notes": marker_footer(make_marker(mig.migration_id, Kind.TASK, "x")),
            },
        )
        # 4. a stray item with a marker Ferry never wrote
        await client.post(
            "/tasks", {"name": "Stray", "projects": [project], "notes": "[ferry:00000000:task:0000000000000000]"}
        )
        planted = await mig.verify(a.reader, b.reader)
    finally:
        await a.aclose()
        await b.aclose()
    by_source = {(r.kind, r.source_id): r for r in planted.rows}
    assert by_source[(Kind.TASK, with_list)].status is ItemStatus.DIFFERENT
    assert "task.checklists" in (by_source[(Kind.TASK, with_list)].reason or "")
    assert by_source[(Kind.TASK, edited)].status is ItemStatus.DIFFERENT
    assert "task.name" in (by_source[(Kind.TASK, edited)].reason or "")
    assert "Edited" not in (by_source[(Kind.TASK, edited)].reason or ""), "content in the report"
    extras = Counter(r.status for r in planted.rows if r.source_id.startswith("dest:"))
    assert extras == Counter({ItemStatus.DUPLICATE: 1, ItemStatus.UNEXPECTED: 1}), extras
    assert planted.status is RunStatus.PARTIALLY_SUCCEEDED
    assert planted.counts["task.different"] == 2
