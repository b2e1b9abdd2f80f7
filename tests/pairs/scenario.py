"""One pair end to end: migrate, read both sides back, compare; then edit and run a delta."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.contract.model import Kind, Task
from shared.verify.compare import Comparison, compare
from shared.verify.snapshot import Snapshot, snapshot
from tests.pairs.known import BROKEN, BUGS
from tests.pairs.migrate import Migration, RunResult
from tests.pairs.world import VENDORS, Sim

#: every ordered pair of two vendors, and Asana → Asana (workspace to workspace)
PAIRS: tuple[tuple[str, str], ...] = tuple(
    [(a, b) for a in VENDORS for b in VENDORS if a != b] + [("asana", "asana")] * ("asana" in VENDORS)
)


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


def pair_params() -> list[Any]:
    """PAIRS as test parameters; a pair in ``known.BROKEN`` is a strict xfail naming its defect."""
    return [
        pytest.param(
            pair,
            id=pair_id(pair),
            marks=[pytest.mark.xfail(strict=True, reason=BUGS[BROKEN[pair_id(pair)]])]
            if pair_id(pair) in BROKEN
            else [],
        )
        for pair in PAIRS
    ]


@dataclass
class Outcome:
    """What the first run of a pair produced (computed once per session)."""

    src: Sim
    dst: Sim
    migration: Migration
    first: RunResult
    source: Snapshot
    dest: Snapshot
    comparison: Comparison
    seconds: float
    edited: dict[str, str] = field(default_factory=dict)  # source task id → what changed


async def first_run(src: Sim, dst: Sim) -> Outcome:
    """Migrate the pair's source scope, then read both sides and compare them."""
    started = time.monotonic()
    scope = src.sources[dst.vendor]
    dest_ws = dst.dest_workspaces[src.vendor]
    mig = Migration(f"mig-{src.vendor}-{dst.vendor}", scope, dest_ws)
    a, b = await src.runtime(), await dst.runtime()
    try:
        assert a.reader is not None and b.writer is not None
        result = await mig.run(a.reader, b.writer)
    finally:
        await a.aclose()
        await b.aclose()
    source, dest = await read_both(src, dst, mig)
    comparison = compare(source, dest, mig.done_entries(), result.rows, dst.people_emails(dest_ws))
    return Outcome(src, dst, mig, result, source, dest, comparison, time.monotonic() - started)


async def read_both(src: Sim, dst: Sim, mig: Migration) -> tuple[Snapshot, Snapshot]:
    """Both sides through fresh readers (no reader cache survives a write)."""
    a, b = await src.runtime(), await dst.runtime()
    try:
        assert a.reader is not None and b.reader is not None
        return (
            await snapshot(src.vendor, a.reader, mig.scope),
            await snapshot(dst.vendor, b.reader, mig.dest_project()),
        )
    finally:
        await a.aclose()
        await b.aclose()


def pick_edits(source: Snapshot, migrated: set[str]) -> tuple[Task, Task, Task]:
    """Three distinct migrated top-level tasks: to rename, to complete, to re-describe."""
    tops = [t for t in source.tasks.values() if not t.parent_id and not t.archived and t.source_id in migrated]
    tops.sort(key=lambda t: t.source_id)
    rename = tops[0]
    complete = next(t for t in tops if not t.completed and t is not rename)
    describe = next(t for t in tops if t not in (rename, complete))
    return rename, complete, describe


async def edit_source(src: Sim, rename: Task, complete: Task, describe: Task) -> None:
    """The three edits, through the source vendor's API (the connector's own client)."""
    assert src.world is not None
    rt = await src.runtime()
    try:
        assert rt.reader is not None
        await src.world.edit(src, rt.reader, rename, complete, describe)
    finally:
        await rt.aclose()


async def delta_run(out: Outcome) -> tuple[RunResult, Snapshot, Snapshot]:
    """Edit three source tasks, run again with the same id map, read both sides."""
    migrated = {sid for kind, sid in out.migration.done_entries() if kind is Kind.TASK}
    rename, complete, describe = pick_edits(out.source, migrated)
    await edit_source(out.src, rename, complete, describe)
    out.edited = {rename.source_id: "name", complete.source_id: "completed", describe.source_id: "description"}
    a, b = await out.src.runtime(), await out.dst.runtime()
    try:
        assert a.reader is not None and b.writer is not None
        result = await out.migration.run(a.reader, b.writer)
    finally:
        await a.aclose()
        await b.aclose()
    source, dest = await read_both(out.src, out.dst, out.migration)
    return result, source, dest


def dest_task(out: Outcome, dest: Snapshot, source_id: str) -> Task:
    entry = out.migration.done_entries()[(Kind.TASK, source_id)]
    assert entry.dest_id is not None
    return dest.tasks[entry.dest_id]
