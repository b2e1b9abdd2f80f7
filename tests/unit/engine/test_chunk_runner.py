"""Chunk runner logic on memory vendors with in-memory ports (pure logic, fake clock)."""

from __future__ import annotations

import hashlib

from shared.connectors.memory import SyntheticBlob, memory_capabilities
from shared.contract.limits import RateLimit
from shared.contract.model import Kind, Task
from shared.contract.runs import RunStatus
from shared.engine.ports import IdState, ItemStatus, Phase
from shared.errors import PermissionDeniedError, SkippableItemError, TransientError
from tests.unit.engine.harness import Harness

SRC_KINDS = (Kind.PROJECT, Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT)


def _totals(h: Harness) -> dict[Kind, int]:
    return {k: h.dst.count(k) for k in SRC_KINDS}


async def test_full_run_copies_everything_in_order() -> None:
    h = Harness(scopes=("p1", "p2"))
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    for kind in SRC_KINDS:
        assert h.dst.count(kind) == h.src.count(kind), kind
    c = h.counts(s)
    assert c["task.created"] == h.src.count(Kind.TASK)
    # subtasks point at their parent's destination id
    entries = {(e.kind, e.source_id): e for e in h.id_map.entries.values()}
    sub = h.src.items[Kind.TASK]["p1-t0-sub"]
    dest_sub = h.dst.items[Kind.TASK][entries[(Kind.TASK, sub.source_id)].dest_id]
    assert isinstance(dest_sub, Task)
    assert dest_sub.parent_id == entries[(Kind.TASK, "p1-t0")].dest_id
    # labels were mapped to destination label ids
    dest_t2 = h.dst.items[Kind.TASK][entries[(Kind.TASK, "p1-t2")].dest_id]
    assert {lab.source_id for lab in dest_t2.labels} == {
        entries[(Kind.LABEL, "p1-l0")].dest_id,
        entries[(Kind.LABEL, "p1-l1")].dest_id,
    }
    # attachment bodies arrived intact
    att_dest = entries[(Kind.ATTACHMENT, "p1-t0-a")].dest_id
    expected = hashlib.sha256(b"".join(SyntheticBlob(3000, seed=0).iter_chunks(1 << 20)))
    assert h.dst.uploads[att_dest].digest == expected.hexdigest()


async def test_rerun_without_changes_makes_zero_destination_writes() -> None:
    h = Harness()
    await h.run()
    writes = h.dst.writes
    s2 = await h.run()
    assert h.dst.writes == writes
    c = h.counts(s2)
    assert c["task.unchanged"] == h.src.count(Kind.TASK)
    assert not any(k.endswith((".created", ".updated")) for k in c)
    assert h.status(s2) is RunStatus.SUCCEEDED


async def test_changed_item_is_updated_and_deleted_item_reported() -> None:
    h = Harness()
    await h.run()
    h.src.edit(Kind.TASK, "p1-t1", name="Renamed at the source")
    h.src.remove(Kind.TASK, "p1-t3")
    total = _totals(h)
    s2 = await h.run()
    c = h.counts(s2)
    assert c["task.updated"] == 1
    assert c["task.deleted_at_source"] == 1
    assert _totals(h) == total  # deletion is reported, not mirrored
    dest_id = h.id_map.entries[("mig-0001", Kind.TASK, "p1-t1")].dest_id
    assert h.dst.items[Kind.TASK][dest_id].name == "Renamed at the source"
    rows = [r for r in h.rows(s2) if r.status is ItemStatus.DELETED_AT_SOURCE]
    assert [r.source_id for r in rows] == ["p1-t3"]
    s3 = await h.run()  # reported once only
    assert "task.deleted_at_source" not in h.counts(s3)


async def test_crash_before_recording_done_reconciles_by_marker() -> None:
    h = Harness()
    real_put = h.id_map.put
    crashed = []

    async def flaky_put(entry):
        if entry.kind is Kind.TASK and entry.state is IdState.DONE and not crashed:
            crashed.append(entry.source_id)
            raise RuntimeError("worker died after the create")
        await real_put(entry)

    h.id_map.put = flaky_put  # type: ignore[method-assign]
    s = await h.run()
    assert crashed
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)  # no duplicate
    c = h.counts(s)
    assert c["task.reconciled"] == 1
    assert c["task.created"] + c["task.reconciled"] == h.src.count(Kind.TASK)
    assert h.status(s) is RunStatus.SUCCEEDED


async def test_ambiguous_create_failure_reconciles_without_duplicate() -> None:
    h = Harness()
    h.dst.fail_next(
        "create",
        TransientError("timeout after commit"),
        after=True,
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t2",
    )
    s = await h.run()
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
    assert h.status(s) is RunStatus.SUCCEEDED


async def test_duplicate_delivery_is_dropped() -> None:
    h = Harness()
    s = await h.start()
    msg, _ = h.queue.pop()  # type: ignore[misc]
    first = await h.deliver(s, msg)
    writes = h.dst.writes
    again = await h.deliver(s, msg)
    assert first.outcome == "next" and again.outcome == "dropped"
    assert h.dst.writes == writes


async def test_item_failure_is_isolated_and_run_partial() -> None:
    h = Harness()
    h.dst.fail_next(
        "create",
        SkippableItemError("Bad request: name", status=400),
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t1",
    )
    s = await h.run()
    rows = {r.source_id: r for r in h.rows(s) if r.status is ItemStatus.FAILED}
    assert "400" in (rows["p1-t1"].reason or "")
    assert "task was not migrated" in (rows["p1-t1-m0"].reason or "")  # its comment
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK) - 1
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED


async def test_revoked_credentials_pause_then_resume() -> None:
    h = Harness()
    s = await h.start()
    msg, _ = h.queue.pop()  # type: ignore[misc]
    await h.deliver(s, msg)  # projects done
    h.dst.revoke()
    await h.drain(s)
    assert h.status(s) is RunStatus.PAUSED
    assert (h.state.reasons[s.run_id] or "").startswith("reconnect")
    h.dst.revoked = False
    await h.resume(s)
    assert h.status(s) is RunStatus.SUCCEEDED
    for kind in SRC_KINDS:
        assert h.dst.count(kind) == h.src.count(kind), kind


async def test_rate_limited_destination_defers_chunks() -> None:
    h = Harness(dest_limit=RateLimit(requests=2, per_seconds=10, burst=2, concurrency=2))
    s = await h.run()
    deferred = [r for r in h.results if r.outcome == "deferred"]
    assert deferred and all(r.delay_s > 5 for r in deferred)
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)


async def test_persistent_outage_fails_run_after_attempts() -> None:
    h = Harness()
    h.src.fail_next("read", TransientError("502"), times=1000, when=lambda op, kind: kind is Kind.SECTION)
    s = await h.run(max_chunk_attempts=3)
    assert h.status(s) is RunStatus.FAILED
    assert [r.outcome for r in h.results].count("deferred") == 3


async def test_pagination_loop_fails_run() -> None:
    h = Harness()
    orig = h.reader.read

    async def looping(kind, scope, cursor, limit):
        page = await orig(kind, scope, cursor, limit)
        if kind is Kind.TASK and cursor:
            return page.model_copy(update={"next_cursor": cursor})
        return page

    h.reader.read = looping  # type: ignore[method-assign]
    s = await h.run()
    assert h.status(s) is RunStatus.FAILED
    assert "repeats cursor" in (h.state.reasons[s.run_id] or "")


async def test_attachment_over_limit_is_skipped_with_reason() -> None:
    caps = memory_capabilities(max_attachment_bytes=2000)
    h = Harness(caps=caps)
    s = await h.run()
    skipped = [r for r in h.rows(s) if r.status is ItemStatus.SKIPPED]
    assert skipped and all("limit" in (r.reason or "") for r in skipped)
    assert h.counts(s)["skip.attachment.too_large"] == len(skipped)
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED


async def test_subtasks_flattened_when_destination_has_none() -> None:
    h = Harness(caps=memory_capabilities(subtasks=False))
    s = await h.run()
    assert all(t.parent_id is None for t in h.dst.items[Kind.TASK].values())
    assert h.counts(s)["adapt.task.subtask_flattened"] == 4


async def test_sweep_phase_runs_last() -> None:
    h = Harness()
    await h.run()
    phases = [m.phase for m, _ in h.queue.sent]
    assert phases[-1] is Phase.SWEEP
    assert phases.index(Phase.TASK) < phases.index(Phase.COMMENT) < phases.index(Phase.SWEEP)


async def test_redelivery_while_first_delivery_runs_waits_for_the_lease() -> None:
    from datetime import timedelta

    h = Harness()
    s = await h.start()
    msg, _ = h.queue.pop()  # type: ignore[misc]
    # a first delivery of this message holds the lease and is still running
    held = await h.state.claim(s.run_id, msg.scope, msg.checkpoint, "other", h.clock.now() + timedelta(seconds=600))
    assert held.outcome == "claimed"
    res = await h.deliver(s, msg)
    assert res.outcome == "deferred" and 600 <= res.delay_s <= 602
    assert h.dst.writes == 0
    await h.drain(s)  # after the lease ran out, the redelivered copy takes over
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)


async def test_writer_notes_reported_at_write_time_are_counted() -> None:
    from shared.connectors.memory import MemoryWriter
    from shared.contract.connector import Adaptation, Written

    class NotingWriter(MemoryWriter):
        async def create(self, kind, record, refs, marker):
            dest = await super().create(kind, record, refs, marker)
            if kind is Kind.TASK and record.assignees:
                return Written(
                    dest_id=dest,
                    notes=(
                        Adaptation(
                            kind=kind,
                            code="task.assignee_not_member",
                            message="assignee is not a member; named in the description",
                        ),
                    ),
                )
            return dest

    h = Harness()
    h.writer = NotingWriter(h.dst, capabilities=h.caps)
    s = await h.run()
    assigned = sum(1 for t in h.src.items[Kind.TASK].values() if t.assignees)
    assert h.counts(s)["adapt.task.assignee_not_member"] == assigned
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)


async def test_source_scope_gone_fails_that_scope_only() -> None:
    h = Harness(scopes=("p1", "p2"))
    s = await h.start()
    h.src.remove(Kind.PROJECT, "p2")
    await h.drain(s)
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED
    assert h.counts(s)["scope.failed"] == 1
    assert {t.project_id for t in h.src.items[Kind.TASK].values()} >= {"p1"}
    assert h.counts(s)["task.created"] == sum(1 for t in h.src.items[Kind.TASK].values() if t.project_id == "p1")


async def test_a_scope_the_source_refuses_to_show_fails_that_scope_only() -> None:
    """A 403 (or Trello's per-object 401) on a page read will not get better by retrying: the
    scope fails with the reason, the others go on (it used to be retried as transient)."""
    h = Harness(scopes=("p1", "p2"))
    s = await h.start()
    # the first scope to read its sections is refused (once: a retry would get through)
    h.src.fail_next(
        "read", PermissionDeniedError("no access to this board"), when=lambda op, kind: kind is Kind.SECTION
    )
    await h.drain(s)
    assert h.status(s) is RunStatus.PARTIALLY_SUCCEEDED
    assert h.counts(s)["scope.failed"] == 1


async def test_dry_run_after_a_real_run_reports_no_deletions() -> None:
    h = Harness()
    await h.run()
    s = await h.run(dry_run=True)
    c = h.counts(s)
    assert c["task.unchanged"] == h.src.count(Kind.TASK)
    assert not any(k.endswith("deleted_at_source") for k in c)
    assert Phase.SWEEP not in [m.phase for m, _ in h.queue.sent if m.run_id == s.run_id]


async def test_revoked_source_names_the_source_in_the_pause_reason() -> None:
    h = Harness()
    s = await h.start()
    msg, _ = h.queue.pop()  # type: ignore[misc]
    await h.deliver(s, msg)
    h.src.revoke()
    await h.drain(s)
    assert h.status(s) is RunStatus.PAUSED
    assert (h.state.reasons[s.run_id] or "").startswith("reconnect: source connection")


async def test_labels_that_did_not_migrate_go_to_the_description() -> None:
    h = Harness()
    h.dst.fail_next(
        "create",
        SkippableItemError("plan holds 25 labels", status=400),
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-l0",
    )
    s = await h.run()
    dest_id = h.id_map.entries[("mig-0001", Kind.TASK, "p1-t1")].dest_id
    task = h.dst.items[Kind.TASK][dest_id]
    assert "Labels: label-0" in task.description and task.labels == ()
    assert h.counts(s)["adapt.task.labels_missing_in_description"] >= 1


async def test_failed_item_counted_once_per_run_and_retried_next_run() -> None:
    h = Harness(dest_limit=RateLimit(requests=2, per_seconds=10, burst=2, concurrency=2))
    h.dst.fail_next(
        "create",
        SkippableItemError("Bad request", status=400),
        when=lambda op, rec: getattr(rec, "source_id", "") == "p1-t1",
    )
    s = await h.run()
    assert any(r.outcome == "deferred" for r in h.results)  # pages were redelivered
    assert h.counts(s)["task.failed"] == 1
    failed = [r.source_id for r in h.rows(s) if r.status is ItemStatus.FAILED and r.kind is Kind.TASK]
    assert failed == ["p1-t1"]
    s2 = await h.run()  # the fault is gone: the next run migrates it
    assert h.counts(s2)["task.created"] == 1
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
    assert h.status(s2) is RunStatus.SUCCEEDED


async def test_item_restored_at_source_updates_the_old_destination_item() -> None:
    h = Harness()
    await h.run()
    task = h.src.items[Kind.TASK]["p1-t3"]
    h.src.remove(Kind.TASK, "p1-t3")
    await h.run()  # reported deleted
    h.src.put(task.model_copy(update={"version": h.src.new_version()}))
    s3 = await h.run()
    assert h.counts(s3)["task.updated"] == 1
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)


async def test_chunk_time_budget_hands_the_rest_to_the_next_delivery() -> None:
    h = Harness()
    h.dst.limits.latency_s = 1.0  # each write takes a (fake) second
    s = await h.run(chunk_budget_s=1.5, item_concurrency=1)
    budget_stops = [r for r in h.results if r.outcome == "deferred" and r.delay_s == 0]
    assert budget_stops
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.counts(s)["task.created"] == h.src.count(Kind.TASK)  # each counted once
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)


async def test_a_wave_stores_its_intents_and_its_results_in_two_requests() -> None:
    """Issue 19: an item written costs no id-map request of its own. The intents of a wave
    go in one request before its first vendor write, its results in one after the last."""
    h = Harness(scopes=("p1",), seed={"tasks": 8})
    batches: list[tuple[str, int]] = []
    singles: list[tuple[Kind, IdState]] = []
    real_many, real_put = h.id_map.put_many, h.id_map.put
    log: list[str] = []

    async def put_many(entries):  # type: ignore[no-untyped-def]
        states = {e.state for e in entries}
        batches.append((states.pop().value if len(states) == 1 else "mixed", len(entries)))
        log.append(f"store {batches[-1][0]} x{len(entries)}")
        in_batch.append(True)
        try:
            return await real_many(entries)  # the memory map stores them one by one through put
        finally:
            in_batch.pop()

    in_batch: list[bool] = []

    async def put(entry):  # type: ignore[no-untyped-def]
        if not in_batch and entry.kind is Kind.TASK and entry.state in (IdState.INTENT, IdState.DONE):
            singles.append((entry.kind, entry.state))
        await real_put(entry)

    real_create = h.writer.create

    async def create(kind, record, refs, marker):  # type: ignore[no-untyped-def]
        log.append(f"create {kind}")
        return await real_create(kind, record, refs, marker)

    h.id_map.put_many, h.writer.create, h.id_map.put = put_many, create, put  # type: ignore[method-assign]
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    tasks = h.src.count(Kind.TASK)
    assert h.dst.count(Kind.TASK) == tasks
    task_batches = [n for state, n in batches if state in ("intent", "done")]
    assert sum(task_batches) >= 2 * tasks  # every task's intent and result went in a batch
    assert not singles
    # no vendor write before its wave's intents: each create follows a stored intent batch
    pending = 0
    for line in log:
        if line.startswith("store intent"):
            pending += int(line.split("x")[1])
        elif line.startswith("create"):
            assert pending > 0, log
            pending -= 1


async def test_items_a_wave_did_not_reach_keep_their_intent_and_are_found_not_duplicated() -> None:
    """A chunk out of time leaves items of its wave unstarted with an intent stored up
    front: the next delivery looks for them by marker first (none is there) and creates
    each once."""
    h = Harness(scopes=("p1",), seed={"tasks": 6})
    s = await h.start(chunk_budget_s=0.0, item_concurrency=1)  # out of time after one item
    await h.drain(s)
    assert h.status(s) is RunStatus.SUCCEEDED, h.state.reasons.get(s.run_id)
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
    dests = [e.dest_id for e in h.id_map.entries.values() if e.kind is Kind.TASK]
    assert len(dests) == len(set(dests)) and all(dests)
    assert all(e.state is IdState.DONE for e in h.id_map.entries.values())
    assert h.dst.calls["find"] > 0  # the unreached items were looked for before their create


async def test_a_result_the_store_refuses_fails_only_its_item_which_the_retry_reconciles() -> None:
    h = Harness(scopes=("p1",), seed={"tasks": 6})
    real_many = h.id_map.put_many
    refused: list[str] = []

    async def put_many(entries):  # type: ignore[no-untyped-def]
        out = []
        for e in entries:  # the first result of p1-t3 is refused, every other entry stored
            if e.source_id == "p1-t3" and e.state is IdState.DONE and not refused:
                refused.append(e.source_id)
                out.append(RuntimeError("store refused"))
            else:
                out.extend(await real_many([e]))
        return out

    h.id_map.put_many = put_many  # type: ignore[method-assign]
    s = await h.run()
    assert refused and h.status(s) is RunStatus.SUCCEEDED
    c = h.counts(s)
    assert c["task.reconciled"] == 1 and c["task.created"] == h.src.count(Kind.TASK) - 1
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
