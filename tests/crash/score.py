"""Score a destination against its source: lost, duplicated and unexpected items per kind.

The source is the Trello simulator's state (``/_sim/state``), the destination the Asana
simulator's (deleted objects excluded). What a board becomes in Asana (documented in
shared/connectors/asana/capabilities.py):

- board → project carrying the board's marker; lists → sections of that project, by name;
- labels → workspace tags carrying the label's marker;
- cards (archived ones too) → tasks of the project carrying the card's marker, and one
  subtask per checklist item carrying the item's marker;
- comments → comment stories on the card's task carrying the comment's marker;
- attachments (files and links) → attachments on the card's task, by name.

Markers are computed with Ferry's public marker functions (the writer's contract). Every
destination object that carries a marker of the migration but is not expected, or sits
under the wrong parent, counts as unexpected; so do extra sections in the projects and
extra attachments on the tasks.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.connectors.asana.writer import checklist_marker
from shared.contract.model import Kind
from shared.contract.text import make_marker

_MARKER = re.compile(r"\[(ferry:[^\]\s]+)\]\s*$")
KINDS = ("project", "section", "label", "task", "checklist", "comment", "attachment")


def _marker_of(text: str | None) -> str | None:
    found = _MARKER.search(text or "")
    return found.group(1) if found else None


@dataclass
class Score:
    expected: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected)

    def add(self, other: Score) -> None:
        for mine, theirs in (
            (self.expected, other.expected),
            (self.lost, other.lost),
            (self.duplicated, other.duplicated),
            (self.unexpected, other.unexpected),
        ):
            mine.update(theirs)
        self.examples.extend(other.examples[: max(0, 20 - len(self.examples))])

    def totals(self) -> tuple[int, int, int]:
        return sum(self.lost.values()), sum(self.duplicated.values()), sum(self.unexpected.values())

    def summary(self) -> str:
        lost, dup, unexp = self.totals()
        return (
            f"expected {dict(self.expected)}; lost {lost} {dict(self.lost)}; duplicated {dup} "
            f"{dict(self.duplicated)}; unexpected {unexp} {dict(self.unexpected)}"
            + ("\n  " + "\n  ".join(self.examples) if self.examples else "")
        )

    def _note(self, kind: str, what: str, text: str) -> None:
        getattr(self, what)[kind] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{what} {kind}: {text}")


def _compare(score: Score, kind: str, expected: Counter[Any], actual: Counter[Any]) -> None:
    score.expected[kind] += sum(expected.values())
    for key, want in expected.items():
        have = actual.get(key, 0)
        if have < want:
            for _ in range(want - have):
                score._note(kind, "lost", str(key))
        elif have > want:
            for _ in range(have - want):
                score._note(kind, "duplicated", str(key))
    for key, have in actual.items():
        if key not in expected:
            for _ in range(have):
                score._note(kind, "unexpected", str(key))


def score_migration(trello: dict[str, Any], asana: dict[str, Any], migration_id: str, boards: list[str]) -> Score:
    """Compare the boards of one migration with what the Asana simulator now holds."""
    score = Score()
    prefix = make_marker(migration_id, Kind.PROJECT, "x").rsplit(":", 2)[0] + ":"

    def mk(kind: Kind, sid: str) -> str:
        return make_marker(migration_id, kind, sid)

    boards_set = set(boards)
    lists = [x for x in trello["lists"] if x["idBoard"] in boards_set]
    labels = [x for x in trello["labels"] if x["idBoard"] in boards_set]
    cards = [x for x in trello["cards"] if x["idBoard"] in boards_set]
    card_ids = {c["id"] for c in cards}
    checklists = [x for x in trello["checklists"] if x["idCard"] in card_ids]
    comments = [x for x in trello["actions"] if x["type"] == "commentCard" and x["idCard"] in card_ids]
    attachments = [x for x in trello["attachments"] if x["idCard"] in card_ids]

    live = {
        name: {gid: obj for gid, obj in asana[name].items() if not obj.get("deleted")}
        for name in ("projects", "sections", "tasks", "stories", "tags", "attachments")
    }

    def mine(objs: dict[str, Any], text_field: str) -> dict[str, str]:
        """gid → marker, for objects carrying a marker of this migration."""
        out = {}
        for gid, obj in objs.items():
            m = _marker_of(obj.get(text_field))
            if m and m.startswith(prefix):
                out[gid] = m
        return out

    projects = mine(live["projects"], "notes")
    tags = mine(live["tags"], "notes")
    tasks = mine(live["tasks"], "notes")
    stories = {g: m for g, m in mine(live["stories"], "text").items() if live["stories"][g]["type"] == "comment"}

    # projects
    _compare(score, "project", Counter(mk(Kind.PROJECT, b) for b in boards), Counter(projects.values()))
    project_of_board = {m: g for g, m in projects.items()}
    # sections: by name within each board's project
    want_sections: Counter[tuple[str, str]] = Counter(
        (b, x["name"]) for b in boards for x in lists if x["idBoard"] == b
    )
    have_sections: Counter[tuple[str, str]] = Counter()
    for b in boards:
        pgid = project_of_board.get(mk(Kind.PROJECT, b))
        for s in live["sections"].values():
            if pgid is not None and s["project"] == pgid:
                have_sections[(b, s["name"])] += 1
    _compare(score, "section", want_sections, have_sections)
    # labels → tags
    _compare(score, "label", Counter(mk(Kind.LABEL, x["id"]) for x in labels), Counter(tags.values()))
    # cards → tasks (top level, in the board's project); checklist items → subtasks
    item_markers = {
        checklist_marker(mk(Kind.TASK, cl["idCard"]), item["id"]): cl["idCard"]
        for cl in checklists
        for item in cl["checkItems"]
    }
    card_markers = {mk(Kind.TASK, c["id"]): c for c in cards}
    task_of_card: dict[str, str] = {}
    top: Counter[str] = Counter()
    subs: Counter[str] = Counter()
    for gid, m in tasks.items():
        task = live["tasks"][gid]
        if m in card_markers:
            top[m] += 1
            task_of_card.setdefault(card_markers[m]["id"], gid)  # the first one, if duplicated
            pgid = project_of_board.get(mk(Kind.PROJECT, card_markers[m]["idBoard"]))
            if task.get("parent") or pgid not in [p for p, _ in task.get("memberships") or []]:
                score._note("task", "unexpected", f"{m} not a top-level task of its project")
        elif m in item_markers or ":cl" in m:
            subs[m] += 1
        else:
            top[m] += 1
    _compare(score, "task", Counter(card_markers.keys()), top)
    _compare(score, "checklist", Counter(item_markers.keys()), subs)
    for gid, m in tasks.items():
        if m in item_markers:
            parent_card = item_markers[m]
            if live["tasks"][gid].get("parent") != task_of_card.get(parent_card):
                score._note("checklist", "unexpected", f"{m} under the wrong task")
    # comments
    want_comments = {mk(Kind.COMMENT, x["id"]): x["idCard"] for x in comments}
    _compare(score, "comment", Counter(want_comments.keys()), Counter(stories.values()))
    for gid, m in stories.items():
        card = want_comments.get(m)
        if card is not None and live["stories"][gid]["target"] != task_of_card.get(card):
            score._note("comment", "unexpected", f"{m} on the wrong task")
    # attachments: by name on the card's task
    card_of_task = {g: c for c, g in task_of_card.items()}
    want_att: Counter[tuple[str, str]] = Counter((x["idCard"], x["name"] or x["url"]) for x in attachments)
    have_att: Counter[tuple[str, str]] = Counter()
    for a in live["attachments"].values():
        card = card_of_task.get(str(a.get("parent")))
        if card is not None:
            have_att[(card, a["name"])] += 1
    _compare(score, "attachment", want_att, have_att)
    return score
