"""Azure DevOps as a destination, end to end through the engine: a small in-memory source
whose texts, names, labels and order are the ones Azure Boards used to lose (a tab and a run
of spaces, an empty description, a multi-line name, labels differing in case only, tasks
whose source order is not the order they are written in), migrated into the simulator, read
back and compared field by field by ``shared.verify`` — on the first run, an unchanged
re-run, a delta that reorders tasks, and a delta whose rank write loses its answer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.azure_devops import AzureDevOpsReader, AzureDevOpsWriter
from shared.connectors.memory.connector import MemoryReader
from shared.connectors.memory.vendor import MemoryVendor
from shared.contract.model import Comment, Kind, Label, LabelRef, Project, Section, Task
from shared.contract.runs import RunStatus
from shared.verify.compare import Comparison, compare
from shared.verify.snapshot import snapshot
from simulators.azure_devops import SeedConfig, create_app
from simulators.common import serve
from tests.connectors.test_azure_devops import make_client
from tests.pairs.migrate import Migration, RunResult

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

SEED = SeedConfig(projects=1, items_per_project=1, comments_every=0, attachment_sizes=())
ORG = SEED.organization
TAB_TEXT = "a tab\there,  two spaces and\tanother  one"
MULTI_NAME = "First line of the name\nsecond line\n\n- a third, like a list"


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    app = create_app(SEED)
    with serve(app) as base:
        yield app, base


def _source(run: str) -> MemoryVendor:
    """One project: two sections (one a state, one an area), three labels of which two
    differ in case only, eight tasks put in the reverse of their source order."""
    vendor = MemoryVendor()
    vendor.add_workspace("ws", "Source")
    vendor.put(Project(source_id="p", version="1", name=f"Fidelity {run}", workspace_id="ws"))
    vendor.put(Section(source_id="todo", version="1", project_id="p", name="To Do", position=1.0))
    vendor.put(Section(source_id="parking", version="1", project_id="p", name="Parking lot", position=2.0))
    for sid, name in (("l-upper", "Backend"), ("l-lower", "backend"), ("l-other", "later")):
        vendor.put(Label(source_id=sid, version="1", project_id="p", name=name))
    labels = {
        0: (LabelRef(source_id="l-upper", name="Backend"), LabelRef(source_id="l-lower", name="backend")),
        1: (LabelRef(source_id="l-lower", name="backend"), LabelRef(source_id="l-other", name="later")),
        2: (LabelRef(source_id="l-upper", name="Backend"),),
    }
    for i in reversed(range(8)):
        section = "todo" if i % 2 == 0 else "parking"
        vendor.put(
            Task(
                source_id=f"t{i}",
                version="1",
                project_id="p",
                section_id=section,
                name=MULTI_NAME if i == 3 else f"Task {i}",
                description="" if i == 5 else (TAB_TEXT if i == 0 else f"Text of task {i}."),
                labels=labels.get(i, ()),
                position=float(10 * (i + 1)),
            )
        )
    vendor.put(Comment(source_id="c0", version="1", project_id="p", task_id="t0", text=TAB_TEXT))
    return vendor


async def _compare(vendor: MemoryVendor, base: str, mig: Migration, rows: RunResult) -> Comparison:
    ado = AzureDevOpsReader(make_client(base))
    try:
        source = await snapshot("memory", MemoryReader(vendor), "p")
        dest = await snapshot("azure_devops", ado, mig.dest_project())
    finally:
        await ado.aclose()
    people = {"ada@example.com"}
    return compare(source, dest, mig.done_entries(), rows.rows, people)


async def _run(vendor: MemoryVendor, base: str, mig: Migration) -> RunResult:
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    try:
        return await mig.run(MemoryReader(vendor), writer)
    finally:
        await writer.aclose()


def _diffs(comparison: Comparison) -> list[str]:
    return [str(d) for d in comparison.diffs]


async def test_texts_names_tags_and_order_survive_runs_deltas_and_a_lost_answer(sim: tuple[Any, str]) -> None:
    app, base = sim
    run = uuid.uuid4().hex[:8]
    vendor = _source(run)
    mig = Migration(f"mig-fidelity-{run}", "p", ORG)

    first = await _run(vendor, base, mig)
    assert first.status is RunStatus.SUCCEEDED, first.reason
    # one of the two case-only labels is reported as the other's tag (which one: the
    # first written, the engine writes a page concurrently)
    collided = [r.source_id for r in first.rows if "label.collision" in r.adaptations]
    assert len(collided) == 1 and collided[0] in ("l-upper", "l-lower"), first.rows
    assert any("task.name_multiline" in r.adaptations for r in first.rows if r.source_id == "t3")
    comparison = await _compare(vendor, base, mig, first)
    assert not _diffs(comparison), "\n".join(_diffs(comparison))
    for rule in ("task.name_multiline", "label.collision", "section.as_area", "section.mapped_to_state"):
        assert comparison.rules[rule] > 0, (rule, comparison.rules)
    assert comparison.matched["task.description"] >= 7 and comparison.matched["comment.text"] == 1
    store = app.state.ado.store
    entries = mig.done_entries()
    items = {sid: store.work_items[int(e.dest_id or 0)] for (k, sid), e in entries.items() if k is Kind.TASK}
    # the text as written: the tab kept in a pre-wrap span; the multi-line name's first line
    assert 'white-space:pre-wrap">\t</span>' in items["t0"].fields["System.Description"]
    assert items["t3"].fields["System.Title"] == "First line of the name"
    assert items["t0"].fields["System.Tags"] in ("Backend", "backend")
    # written in the reverse of the source order: the ranks, not the ids, give the order
    ranks = [items[f"t{i}"].fields["Microsoft.VSTS.Common.StackRank"] for i in range(8)]
    assert ranks == sorted(ranks) and [items[f"t{i}"].id for i in range(8)] != sorted(
        items[f"t{i}"].id for i in range(8)
    )

    again = await _run(vendor, base, mig)
    assert again.count_suffix("created") == {} and again.count_suffix("updated") == {}, again.counts
    assert not _diffs(await _compare(vendor, base, mig, again))

    # a delta that moves the last task of "To Do" first and the first of "Parking lot" last
    vendor.edit(Kind.TASK, "t6", position=1.0)
    vendor.edit(Kind.TASK, "t1", position=99.0)
    delta = await _run(vendor, base, mig)
    assert delta.count_suffix("updated") == {"task.updated": 2}, delta.counts
    assert not _diffs(await _compare(vendor, base, mig, delta))

    # the next reorder's first work item update applies but its answer is lost
    async with httpx.AsyncClient(base_url=base) as control:
        fault = {"kind": "apply_then_drop", "method": "PATCH", "path": r"/_apis/wit/workitems/\d+$"}
        (await control.post("/_sim/faults", json={"faults": [fault]})).raise_for_status()
        try:
            vendor.edit(Kind.TASK, "t4", position=0.5)
            vendor.edit(Kind.TASK, "t2", position=98.0)
            faulted = await _run(vendor, base, mig)
            injected = (await control.get("/_sim/faults")).json()["injected"]
        finally:
            (await control.delete("/_sim/faults")).raise_for_status()
    assert injected, "the fault never fired"
    assert faulted.status is RunStatus.SUCCEEDED, faulted.reason
    comparison = await _compare(vendor, base, mig, faulted)
    assert not _diffs(comparison), "\n".join(_diffs(comparison))
    ranks_now = {
        sid: store.work_items[int(e.dest_id or 0)].fields["Microsoft.VSTS.Common.StackRank"]
        for (k, sid), e in mig.done_entries().items()
        if k is Kind.TASK
    }
    assert ranks_now["t4"] == 0.5 and ranks_now["t2"] == 98.0
