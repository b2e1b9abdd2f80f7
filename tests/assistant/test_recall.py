"""Retrieval quality on a labelled set of questions about a seeded run: recall@5, printed
(`-s` shows it) and held above a floor. A question's label is what would answer it: the
records (by source id, code or event) or the documentation sections (by path fragment)."""

from __future__ import annotations

from collections.abc import Callable

from shared.assistant.backends import Backends
from shared.assistant.records import SearchRecord
from shared.assistant.service import Assistant
from shared.identity.access import Action
from tests.assistant.seed import ORG_A

Label = Callable[[SearchRecord], bool]


def code(c: str) -> Label:
    return lambda r: r.code == c and r.type == "item"


def source(s: str) -> Label:
    return lambda r: r.sourceId == s


def run_summary(run_id: str) -> Label:
    return lambda r: r.type == "run" and r.runId == run_id and r.event in ("run.finished", "run.failed")


def doc(fragment: str) -> Label:
    return lambda r: r.type == "doc" and fragment.lower() in r.content.lower()


LABELLED: list[tuple[str, Label]] = [
    ("why did 12 cards lose their start date?", code("task.start_date_in_description")),
    ("where did the start dates of my cards go?", code("task.start_date_in_description")),
    ("which attachments were skipped and why?", code("attachment.too_large")),
    ("were any files too large to copy?", code("attachment.too_large")),
    ("what happened to link attachments?", code("attachment.link_unsupported")),
    ("why did comment acomment7 fail?", source("acomment7")),
    ("which comment hit a rate limit?", source("acomment7")),
    ("why did card acard99 fail?", source("acard99")),
    ("which task failed because the section was not found?", source("acard99")),
    ("what happened to the checklists of acard50?", source("acard50")),
    ("which checklists became subtasks?", code("task.checklists_as_subtasks")),
    ("why does a comment start with the original author's name?", code("comment.author_prepended")),
    ("why did the due time of a task disappear?", code("task.due_time_dropped")),
    ("where are the labels of acard61?", source("acard61")),
    ("why do some tasks have fewer assignees?", code("task.assignees_truncated")),
    ("why did a subtask become a top-level task?", code("task.subtask_flattened")),
    ("why is an archived card active now?", code("task.archived_dropped")),
    ("how many tasks were created in the full run?", run_summary("run_a_full01")),
    ("did the full run succeed?", run_summary("run_a_full01")),
    ("how many items failed in run run_a_full01?", run_summary("run_a_full01")),
    ("what did the dry run predict?", run_summary("run_a_dry001")),
    ("how many tasks would the dry run create?", run_summary("run_a_dry001")),
    ("which task is missing after the verify?", source("acard77")),
    ("which task differs at the destination?", source("acard78")),
    ("what did the verify find?", run_summary("run_a_verify1")),
    ("when did the migration start?", lambda r: r.event == "run.started" and r.runId == "run_a_full01"),
    ("what will Planner do to my labels?", doc("label")),
    ("how does Ferry map statuses to sections?", doc("statusMapping")),
    ("what happens when a worker dies during a run?", doc("worker")),
    ("how do I retry failed items?", doc("retry_failed")),
    ("how long does Ferry keep my logs?", doc("90 days")),
    ("how do I delete my organisation?", doc("DELETE /api/orgs")),
    ("what does verify compare?", doc("verify")),
    ("how do API keys work?", doc("API key")),
    ("how are Trello checklists migrated to Asana?", doc("checklist")),
]


async def test_recall_at_5_on_the_labelled_set(seeded: Backends) -> None:
    assert len(LABELLED) >= 30
    assistant = Assistant(seeded, top=5)
    found = 0
    misses = []
    for question, label in LABELLED:
        _, hits, _ = await assistant.retrieve(ORG_A, set(Action), question)
        if any(label(h.record) for h in hits[:5]):
            found += 1
        else:
            misses.append(question)
    recall = found / len(LABELLED)
    print(f"\nassistant recall@5: {recall:.3f} ({found}/{len(LABELLED)} questions); misses: {misses}")
    assert recall >= 0.8
