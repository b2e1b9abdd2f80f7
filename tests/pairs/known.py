"""Undocumented differences found by the pair tests, each a connector or simulator defect.

``KNOWN[pair]`` lists the difference codes a pair may show today and the defect behind
each. The main fidelity test tolerates exactly these; each defect has a strict xfail test
(``test_pairs.py`` / ``test_repro.py``) that fails while it exists, so fixing one turns its
test into an XPASS failure and the entry must then be removed here.

``RACY`` defects depend on the order concurrent writes reach the vendor; they show in most
runs but not all, so they are tolerated without a per-pair strict xfail (a deterministic
reproduction stands in where one exists).
"""
from __future__ import annotations

BUGS: dict[str, str] = {
    "archived-dropped": (
        "An archived Trello list or card (Section/Task.archived) arrives active in Asana and "
        "Planner, and no adaptation says so: adapt.py has no rule for archived items and "
        "neither README documents it. Fix: a generic adaptation (e.g. "
        "'section.archived_dropped' / 'task.archived_dropped', loss=True) when the "
        "destination cannot archive, documented in both READMEs."),
    "trello-default-list": (
        "TrelloWriter puts a task without section (a flattened Asana subtask) into a list "
        "'Tasks' it creates at the top of the board (writer.py DEFAULT_LIST); not documented "
        "in trello/capabilities.py. Fix: document it, or place a flattened subtask in its "
        "parent's list."),
    "trello-position-zero": (
        "TrelloWriter.create sends pos='bottom' when Task.position is 0 "
        "(`record.position if record.position > 0 else 'bottom'`), so the first task of an "
        "Asana section (position 0.0) lands last. Fix: use `>= 0`/always send the position."),
    "planner-order-hint": (
        "Planner simulator: POST /planner/tasks without orderHint places the task first via "
        "rules.hint_between('', first); the first character halves towards '!' and after 6 "
        "tasks in a plan every create is refused with 400 'The order hint cannot be placed "
        "between the given values.' (a real plan holds 9,000 tasks). Fix the simulator so "
        "front insertion never exhausts (do not return a hint that ends on the lowest "
        "character, extend instead); the Planner writer should also send an explicit "
        "orderHint ('<last> !') so tasks keep source order."),
    "planner-task-order": (
        "PlannerWriter creates tasks without orderHint, so Planner puts each new task first "
        "and a bucket shows the source order reversed/shuffled (buckets do get a hint). Fix: "
        "send orderHint '<previous task's hint> !' in source order, as for buckets."),
    "planner-bucket-order": (
        "PlannerWriter.create(SECTION) sends orderHint '<last bucket's hint> !' from a "
        "listing that the other sections of the page, written at the same time, read too: "
        "they all get the same hint and the bucket order is left to chance. Fix: serialise "
        "section creates per plan (as the Asana writer does) or derive the hint from the "
        "source position."),
    "planner-label-race": (
        "PlannerWriter._put_label reads the plan details, picks the first free categoryN, "
        "then patch_etag re-reads the etag and PATCHes: labels written concurrently (the "
        "engine writes a page at once) pick the same free category and overwrite each other "
        "(several source labels → one category, the others' names lost) or fail with 412 "
        "after 3 attempts. A label that failed is created by the next run, but tasks written "
        "before keep 'Labels: …' in their description and never get the label (the engine "
        "sees them unchanged). Fix: choose the free category inside the etag-checked "
        "read-modify-write (re-pick on 412) and serialise label writes per plan."),
    "planner-comment-thread-race": (
        "PlannerWriter._create_comment: comments of one task written concurrently each see "
        "no conversationThreadId, each create a new thread, and the last PATCH wins; the "
        "other comments live in orphan threads and are never read back. Fix: a per-task "
        "lock around 'create thread + set conversationThreadId' (and re-read the task on "
        "412)."),
    "planner-blank-lines": (
        "Planner comments lose blank lines: PlannerWriter writes '\\n' as '<br>', and "
        "mapping._Text (html_to_text) adds a newline for a <br> only when the text does not "
        "already end with one, so '\\n\\n' reads back as '\\n' (the author/time header "
        "loses its blank line). Fix: always emit '\\n' for <br> in html_to_text."),
    "planner-reader-marker": (
        "PlannerReader returns task descriptions and comment texts with Ferry's "
        "'[ferry:…]' footer still in them (the Trello and Asana readers call "
        "strip_marker_footer), so a plan Ferry wrote carries the markers of that migration "
        "into the next one when it is used as a source. Fix: strip_marker_footer on "
        "details.description in mapping.task_to_record and on the text in post_to_comment."),
    "comment-order": (
        "Comments of one task are written concurrently (one page at once), so the "
        "destination shows them in arrival order, not the source's; no writer can place a "
        "comment. Fix: write comments of one task sequentially in the engine "
        "(group a page by task) or have writers serialise per task."),
    "trello-section-order": (
        "TrelloWriter creates lists with pos='bottom'; lists of one page are written "
        "concurrently, so their order on the board is arrival order. Fix: send the source "
        "position (as cards do), or insert relative to already placed lists as the Asana "
        "writer does."),
}

PLANNER_DEST = {
    "task.order": "planner-task-order",
    "section.order": "planner-bucket-order",
    "label.collision": "planner-label-race",
    "not_migrated:planner.plan_details_etag_conflict": "planner-label-race",
    "comment.unreadable": "planner-comment-thread-race",
    "task.labels_stale_in_description": "planner-label-race",
    "comment.blank_lines_lost": "planner-blank-lines",
    "comment.order": "comment-order",
}
TRELLO_DEST = {"comment.order": "comment-order", "section.order": "trello-section-order"}

KNOWN: dict[str, dict[str, str]] = {
    "trello->asana": {"section.archived": "archived-dropped", "task.archived": "archived-dropped",
                      "comment.order": "comment-order"},
    "trello->planner": {"section.archived": "archived-dropped",
                        "task.archived": "archived-dropped", **PLANNER_DEST},
    "asana->trello": {"task.section_default_list": "trello-default-list",
                      "task.order": "trello-position-zero", **TRELLO_DEST},
    "asana->planner": dict(PLANNER_DEST),
    "planner->trello": dict(TRELLO_DEST),
    "planner->asana": {"comment.order": "comment-order"},
    "asana->asana": {"comment.order": "comment-order"},
}

#: (pair, code) that appear in every run: a strict xfail test per entry
DETERMINISTIC: tuple[tuple[str, str], ...] = (
    ("trello->asana", "section.archived"),
    ("trello->asana", "task.archived"),
    ("trello->planner", "section.archived"),
    ("trello->planner", "task.archived"),
    ("trello->planner", "comment.blank_lines_lost"),
    ("asana->trello", "task.section_default_list"),
    ("asana->trello", "task.order"),
    ("asana->planner", "comment.blank_lines_lost"),
)

RACY = frozenset({"comment-order", "trello-section-order", "planner-label-race",
                  "planner-bucket-order",
                  "planner-comment-thread-race", "planner-task-order"})


def reason(bug: str) -> str:
    """Short xfail reason: the defect's key and first sentence (the rest is in BUGS)."""
    first = BUGS[bug].split(". ")[0].rstrip(".")
    return f"{bug}: {first} (tests/pairs/known.py)"
