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

PLANNER_DEST: dict[str, str] = {
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
    ("asana->trello", "task.section_default_list"),
    ("asana->trello", "task.order"),
)

RACY: frozenset[str] = frozenset({"comment-order", "trello-section-order"})


def reason(bug: str) -> str:
    """Short xfail reason: the defect's key and first sentence (the rest is in BUGS)."""
    first = BUGS[bug].split(". ")[0].rstrip(".")
    return f"{bug}: {first} (tests/pairs/known.py)"
