"""When the engine looks at the destination before creating an item found by its natural key
(Asana attachments: no marker can ride on them), and when it may skip the look.

A new attachment (no id-map entry: never tried) of a task this very run created cannot have a
same-named twin to adopt, so it is created without the look (one request saved per
attachment). Anything else still looks: an attachment tried before (its intent is stored
before the upload, so a lost answer is found again, never duplicated), and a new attachment
of a task an earlier run created (a same-named file may have been put there since).
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.connectors.memory import memory_capabilities
from shared.contract.model import Attachment, Kind, Record
from shared.contract.runs import RunStatus
from shared.errors import TransientError
from tests.unit.engine.harness import Harness

ALL = frozenset(Kind)


def _attachments_by_natural_key() -> Harness:
    # as Asana: attachments carry no marker and are found by name (here the memory writer's
    # marker table stands in for the name lookup)
    caps = memory_capabilities(
        marker_kinds=ALL - {Kind.LABEL, Kind.ATTACHMENT}, natural_key_kinds=frozenset({Kind.LABEL, Kind.ATTACHMENT})
    )
    return Harness(caps=caps)


def _looks(h: Harness) -> list[tuple[Kind, str]]:
    """Every look before a create, as (kind, source id)."""
    log: list[tuple[Kind, str]] = []
    real = h.writer.find_by_marker

    async def find(kind: Kind, marker: str, record: Record, refs: object) -> str | None:
        log.append((kind, record.source_id))
        return await real(kind, marker, record, refs)  # type: ignore[arg-type]

    h.writer.find_by_marker = find  # type: ignore[method-assign]
    return log


async def test_new_attachments_of_tasks_this_run_created_are_not_looked_for() -> None:
    h = _attachments_by_natural_key()
    looks = _looks(h)
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    created = h.counts(s)["attachment.created"]
    assert created == h.src.count(Kind.ATTACHMENT) > 0 == h.dst.count(Kind.ATTACHMENT) - created
    assert [k for k, _ in looks if k is Kind.ATTACHMENT] == []
    assert {k for k, _ in looks} == {Kind.LABEL}  # labels may predate the run: still looked for


async def test_a_new_attachment_of_a_task_an_earlier_run_created_is_looked_for() -> None:
    h = _attachments_by_natural_key()
    await h.run()
    task = next(iter(h.src.items[Kind.TASK].values()))
    h.src.put(
        Attachment(
            source_id="late-a",
            version="v1",
            project_id="p1",
            task_id=task.source_id,
            name="added-later.txt",
            is_link=True,
            url="https://example.com/added-later",
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
        )
    )
    looks = _looks(h)
    s = await h.run(mode="delta")
    assert h.status(s) is RunStatus.SUCCEEDED and h.counts(s)["attachment.created"] == 1
    assert (Kind.ATTACHMENT, "late-a") in looks


async def test_an_upload_whose_answer_was_lost_is_found_again_not_duplicated() -> None:
    h = _attachments_by_natural_key()
    h.dst.fail_next("upload", TransientError("connection reset"), after=True)  # applied, answer lost
    looks = _looks(h)
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.dst.count(Kind.ATTACHMENT) == h.src.count(Kind.ATTACHMENT)  # no second copy
    assert len([k for k, _ in looks if k is Kind.ATTACHMENT]) == 1  # the retried one looked first
