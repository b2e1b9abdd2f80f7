"""Retrieval quality on labelled questions about a seeded run: recall@5, printed (`-s`
shows it) and held above a floor. A question's label is what would answer it: the records
(by source id, code or event) or the documentation sections (by a fragment of their text).

Two sets. `LABELLED` was written alongside the records' wording and the retrieval, and tuned
on: its recall says little about a question nobody anticipated. `HELD_OUT` was written
afterwards, as a user would ask, without reading the records' text or the code
descriptions (no code names, few of their words), and nothing was changed to suit it:
its floor is what retrieval reached on it the first time it ran, less a margin, so it
guards against regressions without pretending to more."""

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


def any_of(*labels: Label) -> Label:
    return lambda r: any(label(r) for label in labels)


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


HELD_OUT: list[tuple[str, Label]] = [
    ("my Trello cards had a begin date, where is it in Asana now?", code("task.start_date_in_description")),
    ("is there a maximum file size that stopped some uploads?", code("attachment.too_large")),
    ("a card had a web address attached rather than a file: what became of it?", code("attachment.link_unsupported")),
    ("which comment could not be copied because the vendor throttled us?", source("acomment7")),
    ("one task errored with a 404, which one was it?", source("acard99")),
    ("the to-do lists inside my cards turned into child tasks, is that expected?", code("task.checklists_as_subtasks")),
    ("every comment looks as if I posted it, who really wrote them?", code("comment.author_prepended")),
    ("the deadline kept its day but lost its hour", code("task.due_time_dropped")),
    ("where did the coloured tags of my cards end up?", any_of(code("task.labels_in_description"), doc("label"))),
    ("a card had several people on it but the task has only one", code("task.assignees_truncated")),
    ("cards I had closed came back as open tasks", code("task.archived_dropped")),
    ("sub-items nested two levels deep are now flat", code("task.subtask_flattened")),
    ("give me the totals of the real migration", run_summary("run_a_full01")),
    ("did the check after the migration find anything lost?", any_of(source("acard77"), run_summary("run_a_verify1"))),
    ("which item has another title in the destination than in Trello?", source("acard78")),
    ("before the real run, what numbers did the preview estimate?", run_summary("run_a_dry001")),
    ("is my data kept forever?", doc("90 days")),
    ("can I undo a migration?", doc("rollback")),
    ("does Ferry copy the text of my cards into its own storage?", doc("item content")),
    ("what does it cost me if a vendor is down halfway through?", any_of(doc("retry"), doc("resume"))),
]
#: First measured 0.400 (8/20) on this set, 2026-12-06; the floor leaves two questions of
#: margin, because documentation passages (which the misses mostly retrieved instead of
#: the records) change with every README edit. Strict labels: a doc passage that explains
#: the adaptation in general does not count for a question about this run's items.
HELD_OUT_FLOOR = 0.30


async def _recall_at_5(seeded: Backends, questions: list[tuple[str, Label]]) -> tuple[float, list[str]]:
    assistant = Assistant(seeded, top=5)
    found = 0
    misses = []
    for question, label in questions:
        _, hits, _ = await assistant.retrieve(ORG_A, set(Action), question)
        if any(label(h.record) for h in hits[:5]):
            found += 1
        else:
            misses.append(question)
    return found / len(questions), misses


async def test_recall_at_5_on_the_labelled_set(seeded: Backends) -> None:
    assert len(LABELLED) >= 30
    recall, misses = await _recall_at_5(seeded, LABELLED)
    print(f"\nassistant recall@5, labelled (tuned) set: {recall:.3f} of {len(LABELLED)} questions; misses: {misses}")
    assert recall >= 0.8


async def test_recall_at_5_on_the_held_out_set(seeded: Backends) -> None:
    assert len(HELD_OUT) >= 15
    assert not {q for q, _ in HELD_OUT} & {q for q, _ in LABELLED}
    recall, misses = await _recall_at_5(seeded, HELD_OUT)
    print(f"\nassistant recall@5, held-out set: {recall:.3f} of {len(HELD_OUT)} questions; misses: {misses}")
    assert recall >= HELD_OUT_FLOOR
