"""Run-end repair of the report: every item the run wrote has its row, and the counters that
rows back are exact.

A delivery writes an item's id-map entry first and its report row and counters at the end of
the page (one flush per chunk). A worker that dies in between leaves an item that is done at
the destination and in the id map but missing from the report; its redelivery sees the entry
written by this run and does not report it again (it must not count it twice). So the entry
itself carries what the row needs (the action, adaptation codes, a failure reason, all ids
and codes, never content) and, when the last scope closes, this module

* adds the rows of entries this run wrote that the report lacks, and
* recounts the per-item counters (``<kind>.<action>``, ``<kind>.unchanged``,
  ``<kind>.deleted_at_source`` and ``adapt.<code>``) from the id map, which is the truth;
  counters that do not come from items (``scope.failed``, ``skip.*``) stay as counted.

Both steps are idempotent: two deliveries that close the run at once write the same values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from shared.contract.model import Kind
from shared.engine.ports import IdMap, IdMapEntry, IdState, ItemReport, ItemStatus, RunState
from shared.engine.scoped_ids import unscoped

#: Per-item statuses whose counters the id map can recount exactly.
RECOUNTED = frozenset(
    {
        ItemStatus.CREATED,
        ItemStatus.UPDATED,
        ItemStatus.RECONCILED,
        ItemStatus.FAILED,
        ItemStatus.SKIPPED,
        ItemStatus.UNCHANGED,
        ItemStatus.DELETED_AT_SOURCE,
    }
)


@dataclass
class Repair:
    rows_added: list[ItemReport] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    counters_changed: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (was, now)


def _row(entry: IdMapEntry, status: ItemStatus) -> ItemReport:
    reason = entry.reason
    if status is ItemStatus.DELETED_AT_SOURCE:
        reason = "deleted at the source; kept at the destination"
    return ItemReport(
        kind=entry.kind,
        source_id=unscoped(entry),
        scope=entry.scope,
        status=status,
        dest_id=entry.dest_id,
        reason=reason,
        adaptations=entry.adaptations,
    )


def outcome(entry: IdMapEntry, run_id: str) -> tuple[ItemStatus, bool] | None:
    """What run ``run_id`` did with the entry's item, and whether that has a report row."""
    if entry.written_run_id == run_id and entry.action:
        try:
            return ItemStatus(entry.action), True
        except ValueError:
            return None
    if entry.last_run_id != run_id:
        return None
    if entry.state is IdState.DELETED_AT_SOURCE:
        return ItemStatus.DELETED_AT_SOURCE, True
    if entry.state is IdState.DONE:
        return ItemStatus.UNCHANGED, False
    return None


async def repair_report(id_map: IdMap, run_state: RunState, *, migration_id: str, run_id: str) -> Repair:
    """Add the missing rows of ``run_id`` and set its per-item counters from the id map."""
    have = await run_state.item_keys(run_id)
    out = Repair()
    async for entry in id_map.list(migration_id):
        seen = outcome(entry, run_id)
        if seen is None:
            continue
        status, has_row = seen
        out.counts[f"{entry.kind}.{status}"] += 1
        if entry.written_run_id == run_id:
            for code in entry.adaptations:
                out.counts[f"adapt.{code}"] += 1
        if has_row and (entry.kind, unscoped(entry)) not in have:
            out.rows_added.append(_row(entry, status))
    if out.rows_added:
        await run_state.add_items(run_id, out.rows_added)
    current = await run_state.get_counts(run_id)
    exact: dict[str, int] = {}
    for name, was in current.items():
        if _recounted(name) and out.counts.get(name, 0) != was:
            exact[name] = out.counts.get(name, 0)
    for name, now in out.counts.items():
        if current.get(name, 0) != now:
            exact[name] = now
    if exact:
        out.counters_changed = {k: (current.get(k, 0), v) for k, v in exact.items()}
        await run_state.set_counts(run_id, exact)
    return out


def _recounted(name: str) -> bool:
    head, _, tail = name.partition(".")
    if head == "adapt":
        return True
    try:
        Kind(head)
        return ItemStatus(tail) in RECOUNTED
    except ValueError:
        return False
