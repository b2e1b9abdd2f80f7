"""Trello → Asana on simulators of its own: a task deleted in Asana after the migration (its
comments and attachments go with it), then its card edited in Trello. The next run finds the
task gone (its update answers 404) and creates it again — with its comments and attachments,
and a verify proves every part is there. (Before, the run reported success with them missing:
their id-map entries still said done.)"""

from __future__ import annotations

import contextlib

import pytest

from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.ports import VERIFY_DEFECTS
from simulators.common import serve
from tests.pairs.scenario import first_run, read_both
from tests.pairs.vendors import asana, trello

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")


async def test_a_task_deleted_at_the_destination_comes_back_whole() -> None:
    with contextlib.ExitStack() as stack:
        t_app, a_app = trello.WORLD.start(), asana.WORLD.start()
        src = trello.build(stack.enter_context(serve(t_app)), t_app)
        dst = asana.build(stack.enter_context(serve(a_app)), a_app)
        out = await first_run(src, dst)
        assert out.first.status is RunStatus.SUCCEEDED, out.first.reason
        mig = out.migration
        entries = mig.done_entries()
        children: dict[str, int] = {}
        for rec in (*out.source.comments.values(), *out.source.attachments.values()):
            children[rec.task_id] = children.get(rec.task_id, 0) + 1
        card = next(
            sid
            for sid in sorted(children)
            if children[sid] >= 2
            and any(a.task_id == sid for a in out.source.attachments.values())
            and (Kind.TASK, sid) in entries
        )
        old_task = entries[(Kind.TASK, card)].dest_id
        a, b = await src.runtime(), await dst.runtime()
        try:
            assert a.reader is not None and b.writer is not None and b.reader is not None
            await b.writer.client.delete(f"/tasks/{old_task}")  # type: ignore[attr-defined]
            await a.reader.client.put(f"/cards/{card}", json={"name": "Edited after the migration"})  # type: ignore[attr-defined]
            again = await mig.run(a.reader, b.writer)
            verified = await mig.verify(a.reader, b.reader)
        finally:
            await a.aclose()
            await b.aclose()
        assert again.status is RunStatus.SUCCEEDED, again.reason
        assert again.counts.get("task.created") == 1
        restored = again.counts.get("comment.created", 0) + again.counts.get("attachment.created", 0)
        assert restored == children[card]
        new_task = mig.done_entries()[(Kind.TASK, card)].dest_id
        assert new_task != old_task
        _, dest = await read_both(src, dst, mig)
        under_new = [r for r in (*dest.comments.values(), *dest.attachments.values()) if r.task_id == new_task]
        assert len(under_new) == children[card]
        defects = [r for r in verified.rows if r.status in VERIFY_DEFECTS]
        assert not defects, [(r.kind, r.source_id, r.status, r.reason) for r in defects[:10]]
