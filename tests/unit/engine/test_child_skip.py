"""Deltas that skip the children of unchanged tasks (``shared.engine.child_skip``).

The memory source versions a task anew whenever one of its attachments is added, edited or
removed (``MemoryVendor.bumps_parent``), as Asana's ``modified_at`` does; comments move no
version there, so they are always read.
"""

from __future__ import annotations

from collections import Counter

from shared.contract.connector import ListedParents, Page
from shared.contract.model import Attachment, Kind
from shared.contract.runs import RunStatus
from shared.engine.plan import RunSettings, begin
from shared.engine.ports import IdState, ItemStatus
from shared.errors import SkippableItemError, TransientError
from tests.unit.engine.harness import Harness

ATT = Kind.ATTACHMENT


def _harness(**kw: object) -> Harness:
    kw.setdefault("scopes", ("p1", "p2"))
    h = Harness(**kw)  # type: ignore[arg-type]
    h.src.bumps_parent = frozenset({ATT})
    return h


class _Listings:
    """Children records the engine was handed, per kind, and the parents skipped."""

    def __init__(self, h: Harness) -> None:
        self.records: Counter[Kind] = Counter()
        self.skipped: Counter[Kind] = Counter()
        real, real_read = h.reader.read_changed, h.reader.read

        async def read_changed(kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents) -> Page:
            return self._count(kind, await real(kind, scope, cursor, limit, listed))

        async def read(kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
            return self._count(kind, await real_read(kind, scope, cursor, limit))

        h.reader.read_changed = read_changed  # type: ignore[method-assign]
        h.reader.read = read  # type: ignore[method-assign]

    def _count(self, kind: Kind, page: Page) -> Page:
        self.records[kind] += len(page.records)
        self.skipped[kind] += len(page.unchanged_parents)
        return page

    def reset(self) -> None:
        self.records.clear()
        self.skipped.clear()


def _written(c: dict[str, int], kind: Kind) -> int:
    return sum(c.get(f"{kind}.{s}", 0) for s in ("created", "updated", "reconciled"))


def _attachments(h: Harness) -> int:
    return h.src.count(ATT)


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


async def _run(h: Harness, **kw: object) -> RunSettings:
    h._runs += 1
    settings = h.settings(f"run{h._runs}", **kw)
    for msg in await begin(h.state, settings, h.scopes):
        await h.queue.enqueue(msg)
    await h.drain(settings)
    return settings


async def test_an_unchanged_delta_reads_no_attachment_and_the_sweep_keeps_them() -> None:
    h = _harness()
    seen = _Listings(h)
    s1 = await h.run()
    assert h.status(s1) is RunStatus.SUCCEEDED
    assert seen.records[ATT] == _attachments(h) and seen.skipped[ATT] == 0
    tasks = {e.source_id: e for e in h.id_map.entries.values() if e.kind is Kind.TASK}
    assert all(e.children_listed.get(ATT) for e in tasks.values()), "every task's attachments were listed"

    seen.reset()
    s2 = await h.run(mode="delta")
    c = h.counts(s2)
    assert h.status(s2) is RunStatus.SUCCEEDED, h.state.reasons.get(s2.run_id)
    assert seen.records[ATT] == 0 and seen.skipped[ATT] == h.src.count(Kind.TASK)
    assert seen.records[Kind.COMMENT] == h.src.count(Kind.COMMENT)  # comments move no version
    assert c["attachment.unchanged"] == _attachments(h)
    assert not any(k.endswith(".deleted_at_source") for k in c), c
    for e in h.id_map.entries.values():
        assert e.state is IdState.DONE and e.last_run_id == s2.run_id, e

    s3 = await h.run(mode="delta")  # and again: the marks of s2 did not disturb the versions
    assert h.counts(s3)["attachment.unchanged"] == _attachments(h)
    assert seen.records[ATT] == 0


async def test_what_changed_under_a_task_is_read_and_written() -> None:
    h = _harness()
    seen = _Listings(h)
    await h.run()
    h.src.put(
        Attachment(
            source_id="p1-t1-new", version=h.src.new_version(), project_id="p1", task_id="p1-t1", name="new.txt", size=3
        ),
        blob=b"new",
    )
    h.src.edit(ATT, "p1-t4-link", url="https://example.com/moved")
    assert h.src.remove(ATT, "p2-t8-a")
    seen.reset()
    s = await h.run(mode="delta")
    c = h.counts(s)
    assert h.status(s) is RunStatus.SUCCEEDED, h.state.reasons.get(s.run_id)
    assert (c["attachment.created"], c["attachment.updated"], c["attachment.deleted_at_source"]) == (1, 1, 1), c
    assert c["task.updated"] == 3  # the three tasks moved version, nothing else did
    assert seen.records[ATT] == 1 + 2 + 1  # p1-t1 (new), p1-t4 (a + edited link), p2-t8 (link)
    assert c["attachment.unchanged"] == _attachments(h) - 2
    dst_urls = {getattr(a, "url", None) for a in h.dst.items[ATT].values()}
    assert "https://example.com/moved" in dst_urls


async def test_a_comment_edited_without_moving_its_task_is_still_migrated() -> None:
    h = _harness()
    await h.run()
    version = h.src.get(Kind.TASK, "p1-t2").version
    h.src.edit(Kind.COMMENT, "p1-t2-m0", text="edited, the task did not move")
    assert h.src.get(Kind.TASK, "p1-t2").version == version
    s = await h.run(mode="delta")
    c = h.counts(s)
    assert c["comment.updated"] == 1 and c.get("task.updated", 0) == 0, c
    assert any(getattr(m, "text", "").startswith("edited") for m in h.dst.items[Kind.COMMENT].values())


async def test_a_failed_attachment_is_retried_although_its_task_did_not_move() -> None:
    h = _harness()
    h.dst.fail_next("upload", SkippableItemError("refused", status=400), when=lambda op, subject: True)
    s1 = await h.run()
    assert h.counts(s1)["attachment.failed"] == 1
    s2 = await h.run(mode="delta")
    c = h.counts(s2)
    assert _written(c, ATT) == 1 and c["attachment.unchanged"] == _attachments(h) - 1, c
    assert h.dst.count(ATT) == _attachments(h)
    s3 = await h.run(mode="delta")
    assert _written(h.counts(s3), ATT) == 0


async def test_a_worker_dying_between_the_read_and_the_seen_marks() -> None:
    h = _redelivered(_harness())
    await h.run()
    real = h.id_map.mark_seen
    died: list[int] = []

    async def dies_once(migration_id: str, kind: Kind, source_ids, run_id: str) -> None:  # type: ignore[no-untyped-def]
        if kind is ATT and not died:
            died.append(len(source_ids))
            raise RuntimeError("worker died")
        await real(migration_id, kind, source_ids, run_id)

    h.id_map.mark_seen = dies_once  # type: ignore[method-assign]
    s = await h.run(mode="delta")
    assert died and died[0] > 0
    c = h.counts(s)
    assert h.status(s) is RunStatus.SUCCEEDED, h.state.reasons.get(s.run_id)
    assert c["attachment.unchanged"] == _attachments(h), c  # counted once, not per delivery
    assert not any(k.endswith(".deleted_at_source") for k in c), c


async def test_a_worker_dying_after_recording_the_listed_versions() -> None:
    h = _redelivered(_harness())
    real = h.id_map.set_listed
    died: list[bool] = []

    async def applies_then_dies(migration_id: str, kind: Kind, versions) -> None:  # type: ignore[no-untyped-def]
        await real(migration_id, kind, versions)
        if not died:
            died.append(True)
            raise RuntimeError("worker died before the checkpoint moved")

    h.id_map.set_listed = applies_then_dies  # type: ignore[method-assign]
    s1 = await h.run()
    assert died
    c = h.counts(s1)
    assert h.status(s1) is RunStatus.SUCCEEDED and c["attachment.created"] == _attachments(h), c
    assert h.dst.count(ATT) == _attachments(h)
    s2 = await h.run(mode="delta")
    c2 = h.counts(s2)
    assert c2["attachment.unchanged"] == _attachments(h) and not any(k.endswith("deleted_at_source") for k in c2)


async def test_a_delta_after_a_rollback_brings_every_attachment_back() -> None:
    h = _harness()
    await h.run()
    rb = await _run(h, mode="rollback")
    assert h.status(rb) is RunStatus.SUCCEEDED and h.dst.count(ATT) == 0
    s = await _run(h, mode="delta")
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.counts(s)["attachment.created"] == _attachments(h)
    assert h.dst.count(ATT) == _attachments(h)


async def test_a_rollback_that_kept_the_tasks_does_not_hide_their_attachments() -> None:
    """The rollback removed the attachments, then could not delete the tasks: their entries
    are still DONE with their listed versions, but their attachments' are not."""
    h = _harness(scopes=("p1",))
    await h.run()
    tasks = {e.dest_id for e in h.id_map.entries.values() if e.kind is Kind.TASK}
    h.dst.fail_next(
        "delete", TransientError("503"), times=10_000, when=lambda op, subject: subject in tasks or op == "x"
    )
    rb = await _run(h, mode="rollback", max_chunk_attempts=1)
    assert h.status(rb) is RunStatus.FAILED, h.state.reasons.get(rb.run_id)
    assert h.dst.count(ATT) == 0 and h.dst.count(Kind.TASK) == h.src.count(Kind.TASK)
    tasks_left = [e for e in h.id_map.entries.values() if e.kind is Kind.TASK]
    assert all(e.state is IdState.DONE and e.children_listed.get(ATT) for e in tasks_left)
    h.dst.faults.clear()
    s = await _run(h, mode="delta")
    assert h.counts(s)["attachment.created"] == _attachments(h), h.counts(s)
    assert h.dst.count(ATT) == _attachments(h)


async def test_entries_written_before_parents_were_kept_are_named_then_skipped() -> None:
    h = _harness()
    await h.run()
    for key, e in list(h.id_map.entries.items()):  # as an id map written by an older Ferry
        h.id_map.entries[key] = e.model_copy(update={"parent_id": None, "children_listed": {}})
    h.id_map._by_parent.clear()
    seen = _Listings(h)
    s2 = await h.run(mode="delta")
    assert seen.records[ATT] == _attachments(h) and seen.skipped[ATT] == 0
    assert all(e.parent_id for e in h.id_map.entries.values() if e.kind is ATT)
    seen.reset()
    s3 = await h.run(mode="delta")
    c = h.counts(s3)
    assert seen.records[ATT] == 0 and c["attachment.unchanged"] == _attachments(h)
    assert not any(k.endswith("deleted_at_source") for k in c), c
    assert h.status(s2) is h.status(s3) is RunStatus.SUCCEEDED


async def test_dry_run_and_retry_list_every_task_and_record_nothing() -> None:
    h = _harness()
    seen = _Listings(h)
    dry = await h.run(mode="dry_run", dry_run=True)
    assert h.counts(dry)["attachment.would_create"] == _attachments(h)
    assert seen.skipped[ATT] == 0 and not h.id_map.entries
    await h.run()
    seen.reset()
    dry2 = await h.run(mode="dry_run", dry_run=True)
    assert seen.skipped[ATT] == 0 and seen.records[ATT] == _attachments(h)
    assert not any(k.endswith(("would_create", "would_update")) for k in h.counts(dry2))


async def test_a_reader_skipping_a_task_it_was_not_told_about_fails_the_run() -> None:
    h = _harness(scopes=("p1",))
    await h.run()
    real = h.reader.read_changed

    async def rogue(kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents) -> Page:
        page = await real(kind, scope, cursor, limit, listed)
        if kind is ATT and cursor is None:
            return page.model_copy(update={"unchanged_parents": (*page.unchanged_parents, "p1-unknown")})
        return page

    h.reader.read_changed = rogue  # type: ignore[method-assign]
    s = await h.run(mode="delta")
    assert h.status(s) is RunStatus.FAILED
    assert "p1-unknown" in (h.state.reasons.get(s.run_id) or "")
    assert not [r for r in h.rows(s) if r.status is ItemStatus.DELETED_AT_SOURCE]


async def test_a_kind_the_vendor_does_not_version_on_the_task_is_always_read() -> None:
    """Without a documented version move (``bumps_parent`` empty) a child added under a task
    whose version stands still is read and migrated: the reader never skips that kind."""
    h = Harness(scopes=("p1",))
    seen = _Listings(h)
    await h.run()
    version = h.src.get(Kind.TASK, "p1-t1").version
    h.src.put(
        Attachment(source_id="p1-t1-late", version="v-late", project_id="p1", task_id="p1-t1", name="late.txt", size=4),
        blob=b"late",
    )
    assert h.src.get(Kind.TASK, "p1-t1").version == version
    seen.reset()
    s = await h.run(mode="delta")
    assert h.counts(s)["attachment.created"] == 1 and seen.skipped[ATT] == 0
    assert seen.records[ATT] == _attachments(h)
