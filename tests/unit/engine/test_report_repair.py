"""Reports survive dead workers: every item the id map says this run wrote has its report
row, and the per-item counters equal what the id map says (``shared.engine.report_repair``).

A delivery writes each item's id-map entry as it goes and its rows and counters once per
page; these tests kill the flush of a page (the worker "dies" between the id-map writes and
the report) and let the chunk be redelivered, as the queue does."""

from __future__ import annotations

from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.ports import IdState, ItemStatus
from shared.engine.report_repair import repair_report
from shared.errors import TransientError
from tests.unit.engine.harness import Harness


def _redelivered(h: Harness) -> Harness:
    """A delivery that dies is delivered again, as the queue does after its lease."""
    deliver = h.deliver

    async def again(settings, msg):  # type: ignore[no-untyped-def]
        try:
            return await deliver(settings, msg)
        except RuntimeError:
            await h.queue.enqueue(msg, delay_s=30.0)
            return None

    h.deliver = again  # type: ignore[method-assign]
    return h


def _task_rows(h: Harness, run_id: str) -> dict[str, ItemStatus]:
    return {r.source_id: r.status for r in h.state.items[run_id] if r.kind is Kind.TASK}


async def _done_tasks(h: Harness) -> set[str]:
    return {e.source_id async for e in h.id_map.list("mig-0001") if e.kind is Kind.TASK and e.state is IdState.DONE}


async def test_rows_lost_before_the_flush_are_rebuilt_at_run_end() -> None:
    h = _redelivered(Harness())
    real = h.state.add_items
    died: list[int] = []

    async def dies_once(run_id, rows):  # type: ignore[no-untyped-def]
        if any(r.kind is Kind.TASK for r in rows) and not died:
            died.append(len(rows))
            raise RuntimeError("worker died before its report rows were written")
        await real(run_id, rows)

    h.state.add_items = dies_once  # type: ignore[method-assign]
    s = await h.run()
    assert died, "the fault never fired"
    rows = _task_rows(h, s.run_id)
    assert set(rows) == await _done_tasks(h)
    assert len(rows) == h.src.count(Kind.TASK)
    c = h.counts(s)
    assert c["task.created"] == h.src.count(Kind.TASK)  # counted once, not twice
    assert h.status(s) is RunStatus.SUCCEEDED


async def test_counters_lost_with_the_rows_are_recounted() -> None:
    h = _redelivered(Harness())
    real = h.state.add_counts
    died: list[bool] = []

    async def dies_once(run_id, counts):  # type: ignore[no-untyped-def]
        if any(k.startswith("task.") for k in counts) and not died:
            died.append(True)
            raise RuntimeError("worker died before its counters were written")
        await real(run_id, counts)

    h.state.add_counts = dies_once  # type: ignore[method-assign]
    s = await h.run()
    assert died
    c = h.counts(s)
    assert c["task.created"] == h.src.count(Kind.TASK)
    assert set(_task_rows(h, s.run_id)) == await _done_tasks(h)


async def test_adaptations_of_rebuilt_rows_are_kept() -> None:
    from shared.connectors.memory import memory_capabilities
    from shared.contract.connector import ChecklistSupport

    caps = memory_capabilities().model_copy(update={"checklists": ChecklistSupport.NONE})
    h = Harness(caps=caps)
    real = h.state.add_items

    async def drop_task_rows(run_id, rows):  # type: ignore[no-untyped-def]
        # every task row is lost (the run end's repair too): only the id map knows
        await real(run_id, [r for r in rows if r.kind is not Kind.TASK])

    h.state.add_items = drop_task_rows  # type: ignore[method-assign]
    s = await h.run()
    assert not [r for r in h.state.items[s.run_id] if r.kind is Kind.TASK]
    h.state.add_items = real  # type: ignore[method-assign]
    repair = await repair_report(h.id_map, h.state, migration_id="mig-0001", run_id=s.run_id)
    assert len(repair.rows_added) == h.src.count(Kind.TASK)
    rows = [r for r in h.state.items[s.run_id] if r.kind is Kind.TASK]
    with_lists = [r for r in rows if "task.checklists_in_description" in r.adaptations]
    assert with_lists, "rebuilt rows lost their adaptation codes"
    assert h.counts(s)["adapt.task.checklists_in_description"] == len(with_lists)


async def test_delta_counts_unchanged_items_exactly() -> None:
    h = Harness()
    await h.run()
    s = await h.run(mode="delta")
    c = h.counts(s)
    assert c.get("task.created", 0) == 0
    assert c["task.unchanged"] == h.src.count(Kind.TASK)
    assert not [r for r in h.state.items[s.run_id] if r.kind is Kind.TASK]


async def test_failed_items_keep_their_reason_in_rebuilt_rows() -> None:
    h = Harness()
    from shared.errors import SkippableItemError

    h.dst.fail_next(
        "create",
        SkippableItemError("400: refused", status=400),
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t2",
    )
    real = h.state.add_items

    async def drop_failed(run_id, rows):  # type: ignore[no-untyped-def]
        await real(run_id, [r for r in rows if r.status is not ItemStatus.FAILED])

    h.state.add_items = drop_failed  # type: ignore[method-assign]
    s = await h.run()
    assert not [r for r in h.state.items[s.run_id] if r.status is ItemStatus.FAILED]
    h.state.add_items = real  # type: ignore[method-assign]
    await repair_report(h.id_map, h.state, migration_id="mig-0001", run_id=s.run_id)
    failed = {
        r.source_id: r.reason for r in h.state.items[s.run_id] if r.status is ItemStatus.FAILED and r.kind is Kind.TASK
    }
    assert failed == {"p1-t2": "400: 400: refused"}  # status, then the vendor's message
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED


async def test_ambiguous_create_failure_finishes_the_item_by_update() -> None:
    """The create applied, its answer was lost: the item is found by its marker and then
    updated, so parts the lost create may not have written are written now."""
    h = Harness()
    h.dst.fail_next(
        "create",
        TransientError("reset after commit"),
        after=True,
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t2",
    )
    s = await h.run()
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
    assert h.dst.calls["update"] >= 1, "the found item was not brought up to date"
    assert h.status(s) is RunStatus.SUCCEEDED
