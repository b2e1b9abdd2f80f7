"""Rollback and retry_failed runs on memory vendors with in-memory ports (fake clock)."""

from __future__ import annotations

from shared.contract.model import Kind, Label
from shared.contract.runs import RunStatus
from shared.engine.idmap import retry_plan, retryable
from shared.engine.plan import RunSettings, begin
from shared.engine.ports import IdState, ItemStatus
from shared.errors import SkippableItemError, TransientError
from tests.unit.engine.harness import Harness

KINDS = tuple(Kind)


async def _run(h: Harness, **kw: object) -> RunSettings:
    """Start a run through ``begin`` (which moves a rollback's checkpoints) and drain it."""
    h._runs += 1
    settings = h.settings(f"run{h._runs}", **kw)
    for msg in await begin(h.state, settings, h.scopes):
        await h.queue.enqueue(msg)
    await h.drain(settings)
    return settings


def _deletes(h: Harness) -> list[tuple[Kind, str]]:
    """Record every delete the writer makes, in order."""
    log: list[tuple[Kind, str]] = []
    real = h.writer.delete

    async def delete(kind: Kind, dest_id: str) -> None:
        log.append((kind, dest_id))
        await real(kind, dest_id)

    h.writer.delete = delete  # type: ignore[method-assign]
    return log


def _snapshot(h: Harness) -> dict[Kind, set[str]]:
    return {k: set(h.dst.items[k]) for k in KINDS}


async def test_rollback_deletes_what_was_created_children_first_then_is_a_no_op() -> None:
    h = Harness(scopes=("p1", "p2"))
    before = _snapshot(h)
    await h.run()
    created = {k: h.dst.count(k) for k in KINDS}
    assert all(created.values())
    entries = {(e.kind, e.source_id): e for e in h.id_map.entries.values()}
    sub_dest = entries[(Kind.TASK, "p1-t0-sub")].dest_id
    parent_dest = entries[(Kind.TASK, "p1-t0")].dest_id
    assert entries[(Kind.TASK, "p1-t0-sub")].depth == 1 and entries[(Kind.TASK, "p1-t0")].depth == 0

    log = _deletes(h)
    s = await _run(h, mode="rollback")
    assert h.status(s) is RunStatus.SUCCEEDED
    assert _snapshot(h) == before  # the destination holds what it held before the run
    c = h.counts(s)
    for kind in KINDS:
        assert c[f"{kind}.deleted"] == created[kind], kind
    # reverse dependency order within each scope; subtasks before their parents
    order = [Kind.ATTACHMENT, Kind.COMMENT, Kind.TASK, Kind.LABEL, Kind.SECTION, Kind.PROJECT]
    p1 = [kind for kind, dest in log if dest in {e.dest_id for e in entries.values() if e.scope == "p1"}]
    assert [k for i, k in enumerate(p1) if i == 0 or p1[i - 1] != k] == order
    ids = [dest for _, dest in log]
    assert ids.index(sub_dest) < ids.index(parent_dest)
    assert {r.status for r in h.rows(s)} == {ItemStatus.DELETED}
    assert all(e.state is IdState.ROLLED_BACK and e.dest_id is None for e in h.id_map.entries.values())

    writes = h.dst.writes
    s2 = await _run(h, mode="rollback")
    assert h.status(s2) is RunStatus.SUCCEEDED
    assert h.dst.writes == writes and not h.counts(s2) and not h.rows(s2)

    s3 = await h.run()  # a later full run creates everything anew
    assert h.counts(s3)["task.created"] == h.src.count(Kind.TASK)
    assert {k: h.dst.count(k) for k in KINDS} == created


async def test_rollback_keeps_what_existed_before_and_survives_redelivery() -> None:
    h = Harness()
    s = await h.start()
    msg, _ = h.queue.pop()  # type: ignore[misc]
    await h.deliver(s, msg)  # the project exists at the destination now
    project = h.id_map.entries[("mig-0001", Kind.PROJECT, "p1")].dest_id
    # a label of the same name was at the destination before Ferry wrote labels
    h.dst.put(Label(source_id="pre-1", version="v0", project_id=project or "", name="label-0"))
    await h.drain(s)
    label = h.id_map.entries[("mig-0001", Kind.LABEL, "p1-l0")]
    assert label.dest_id == "pre-1" and label.adopted
    # one task is deleted by hand; one delete is applied but its answer is lost
    gone = h.id_map.entries[("mig-0001", Kind.TASK, "p1-t2")].dest_id
    h.dst.remove(Kind.TASK, gone or "")
    h.dst.fail_next(
        "delete",
        TransientError("connection reset"),
        after=True,
        when=lambda op, subject: subject == h.id_map.entries[("mig-0001", Kind.TASK, "p1-t5")].dest_id,
    )

    s2 = await _run(h, mode="rollback")
    assert h.status(s2) is RunStatus.SUCCEEDED
    assert any(r.outcome == "deferred" for r in h.results)
    assert set(h.dst.items[Kind.LABEL]) == {"pre-1"}  # never touched
    assert not any(h.dst.items[k] for k in KINDS if k is not Kind.LABEL)
    rows = {(r.kind, r.source_id): r for r in h.rows(s2)}
    assert rows[(Kind.LABEL, "p1-l0")].status is ItemStatus.KEPT
    assert rows[(Kind.TASK, "p1-t2")].status is ItemStatus.DELETED  # a 404 counts as done
    c = h.counts(s2)
    assert c["task.deleted"] == h.src.count(Kind.TASK) and c["label.kept"] == 1


async def test_child_delete_refused_is_left_to_its_project() -> None:
    h = Harness()
    await h.run()
    section = h.id_map.entries[("mig-0001", Kind.SECTION, "p1-s0")].dest_id
    h.dst.fail_next(
        "delete",
        SkippableItemError("last section cannot be deleted", status=400),
        when=lambda op, subject: subject == section,
    )
    s = await _run(h, mode="rollback")
    assert h.status(s) is RunStatus.SUCCEEDED
    row = next(r for r in h.rows(s) if r.source_id == "p1-s0")
    assert row.status is ItemStatus.DELETED and row.reason == "removed with its project"
    assert h.counts(s)["section.deleted"] == 3


async def test_failed_project_delete_reports_its_leftovers_and_a_second_rollback_retries() -> None:
    h = Harness()
    await h.run()
    h.dst.fail_next(
        "delete",
        SkippableItemError("forbidden", status=403),
        times=2,
        when=lambda op, subject: (
            str(subject)
            in {
                h.id_map.entries[("mig-0001", Kind.PROJECT, "p1")].dest_id,
                h.id_map.entries[("mig-0001", Kind.SECTION, "p1-s1")].dest_id,
            }
        ),
    )
    s = await _run(h, mode="rollback")
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED
    failed = {(r.kind, r.source_id) for r in h.rows(s) if r.status is ItemStatus.FAILED}
    assert failed == {(Kind.PROJECT, "p1"), (Kind.SECTION, "p1-s1")}
    s2 = await _run(h, mode="rollback")
    assert h.status(s2) is RunStatus.SUCCEEDED
    assert h.counts(s2) == {"section.deleted": 1, "project.deleted": 1}
    assert not any(h.dst.items[k] for k in KINDS)


async def test_retry_failed_reads_and_writes_only_failed_items() -> None:
    h = Harness(scopes=("p1", "p2"))
    h.dst.fail_next(
        "create",
        SkippableItemError("Bad request", status=400),
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t1",
    )
    s1 = await h.run()
    assert h.status(s1) is RunStatus.PARTIALLY_SUCCEEDED
    failed = {(e.scope, e.kind) for e in h.id_map.entries.values() if retryable(e)}
    plan = retry_plan(failed)
    assert plan == {"p1": frozenset({Kind.TASK, Kind.COMMENT})}  # the task and its comment
    reads, writes = h.src.calls["read"], h.dst.writes

    s2 = await _run(h, mode="retry_failed", retry_plan=plan, sweep=False)
    assert h.status(s2) is RunStatus.SUCCEEDED
    assert h.counts(s2) == {"task.created": 1, "comment.created": 1}
    assert h.dst.writes - writes == 2
    read_pages = h.src.calls["read"] - reads
    # only p1's task and comment pages were read (page size 4), not p2 nor other kinds
    tasks = sum(1 for t in h.src.items[Kind.TASK].values() if t.project_id == "p1")
    comments = sum(1 for t in h.src.items[Kind.COMMENT].values() if t.project_id == "p1")
    assert read_pages == -(-tasks // 4) + -(-comments // 4)
    assert {(r.kind, r.source_id) for r in h.rows(s2)} == {(Kind.TASK, "p1-t1"), (Kind.COMMENT, "p1-t1-m0")}
    assert not any(retryable(e) for e in h.id_map.entries.values())
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
