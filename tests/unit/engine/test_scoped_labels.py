"""Defect 9 of issue 13: a source label shared by two scopes (Asana tags are workspace-wide)
must become one destination label per destination project where labels belong to a project
(Trello boards, Planner plans), or the second board's cards point at the first board's label
and the vendor refuses them."""

from __future__ import annotations

from shared.contract.model import Kind, Label, LabelRef, Task
from shared.contract.runs import RunStatus
from tests.unit.engine.harness import Harness


def _share_labels(h: Harness) -> None:
    """Rewrite both scopes' labels to the same source ids, as a workspace-wide tag is."""
    items = h.src.items
    for sid, rec in list(items[Kind.LABEL].items()):
        assert isinstance(rec, Label)
        shared = "tag-" + sid.split("-l")[1]
        del items[Kind.LABEL][sid]
        items[Kind.LABEL][f"{rec.project_id}:{shared}"] = rec.model_copy(update={"source_id": shared})
    for sid, rec in list(items[Kind.TASK].items()):
        assert isinstance(rec, Task)
        labels = tuple(LabelRef(source_id="tag-" + ref.source_id.split("-l")[1], name=ref.name) for ref in rec.labels)
        items[Kind.TASK][sid] = rec.model_copy(update={"labels": labels})


def _labels_of_foreign_projects(h: Harness) -> list[str]:
    dest_labels = dict(h.dst.items[Kind.LABEL].items())
    wrong = []
    for task in h.dst.items[Kind.TASK].values():
        assert isinstance(task, Task)
        for ref in task.labels:
            label = dest_labels.get(ref.source_id)
            if label is None or label.project_id != task.project_id:  # type: ignore[attr-defined]
                wrong.append(f"{task.source_id} -> {ref.source_id}")
    return wrong


async def test_shared_source_label_gets_a_destination_label_per_project() -> None:
    h = Harness(scopes=("p1", "p2"))
    h.caps = h.caps.model_copy(update={"labels_per_project": True})
    h.writer.capabilities = h.caps
    _share_labels(h)
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    per_scope = h.src.count(Kind.LABEL) // 2
    assert h.dst.count(Kind.LABEL) == 2 * per_scope  # one per board, not one per tag
    assert not _labels_of_foreign_projects(h)
    # a delta finds every label again: nothing created, nothing updated
    d = await h.run(mode="delta")
    assert h.counts(d).get("label.created", 0) == 0
    assert h.counts(d)["label.unchanged"] == 2 * per_scope
    assert h.dst.count(Kind.LABEL) == 2 * per_scope
    rows = [r.source_id for r in h.state.items[s.run_id] if r.kind is Kind.LABEL]
    assert all("|" not in sid for sid in rows), rows  # reports name the source id


async def test_workspace_wide_labels_stay_one_per_tag() -> None:
    h = Harness(scopes=("p1", "p2"))
    _share_labels(h)
    s = await h.run()
    assert h.status(s) is RunStatus.SUCCEEDED
    assert h.dst.count(Kind.LABEL) == h.src.count(Kind.LABEL) // 2
