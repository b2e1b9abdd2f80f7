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
}

PLANNER_DEST: dict[str, str] = {
}

KNOWN: dict[str, dict[str, str]] = {
    "trello->asana": {"section.archived": "archived-dropped", "task.archived": "archived-dropped"},
    "trello->planner": {"section.archived": "archived-dropped",
                        "task.archived": "archived-dropped", **PLANNER_DEST},
    "asana->trello": {"task.section_default_list": "trello-default-list"},
    "asana->planner": dict(PLANNER_DEST),
    "planner->trello": {},
    "planner->asana": {},
    "asana->asana": {},
}

#: (pair, code) that appear in every run: a strict xfail test per entry
DETERMINISTIC: tuple[tuple[str, str], ...] = (
    ("trello->asana", "section.archived"),
    ("trello->asana", "task.archived"),
    ("trello->planner", "section.archived"),
    ("trello->planner", "task.archived"),
    ("asana->trello", "task.section_default_list"),
)

RACY: frozenset[str] = frozenset()


def reason(bug: str) -> str:
    """Short xfail reason: the defect's key and first sentence (the rest is in BUGS)."""
    first = BUGS[bug].split(". ")[0].rstrip(".")
    return f"{bug}: {first} (tests/pairs/known.py)"
