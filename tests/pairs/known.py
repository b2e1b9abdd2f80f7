"""Undocumented differences the pair tests tolerate today, each a known defect.

``KNOWN[pair]`` maps a difference code to the defect in ``BUGS`` behind it; the fidelity,
verify and fault-matrix tests tolerate exactly these (a pair not listed has none). The eleven
defects the pair tests first found (Trello, Asana, Planner) are fixed, and so are the twelve
that came with Jira, monday.com and Azure DevOps (issue 16): no pair tolerates anything today.
A pair whose run cannot finish is in ``BROKEN`` (its tests are strict xfails). A defect found
goes here, ideally with a strict xfail reproduction in ``test_repro.py``, until it is fixed.
"""

from __future__ import annotations

from shared.engine.ports import ItemReport, ItemStatus

BUGS: dict[str, str] = {}

KNOWN: dict[str, dict[str, str]] = {
    "trello->asana": {},
    "trello->planner": {},
    "asana->trello": {},
    "asana->planner": {},
    "planner->trello": {},
    "planner->asana": {},
    "asana->asana": {},
    "jira->asana": {},
    "jira->planner": {},
    **{f"{src}->monday": {} for src in ("trello", "asana", "planner", "jira")},
    **{f"{src}->azure_devops": {} for src in ("trello", "asana", "planner", "jira", "monday")},
    "azure_devops->asana": {},
    "azure_devops->planner": {},
    "azure_devops->monday": {},
}


def explained(row: ItemReport, known: dict[str, str]) -> bool:
    """A verify verdict a known defect of the pair explains (``known`` = ``KNOWN[pair]``):
    ``different`` in known fields only, or ``missing`` where the destination is known not to
    read such items back."""
    if row.status is ItemStatus.MISSING:
        return f"{row.kind}.unreadable" in known
    if row.status is not ItemStatus.DIFFERENT or not row.reason:
        return False
    fields = row.reason.removeprefix("fields: ").split(", ")
    return bool(known) and set(fields) <= set(known)


#: pairs whose run cannot finish today (a defect raises before the comparison): their tests
#: are strict xfails naming the defect, so they turn red the day it is fixed
BROKEN: dict[str, str] = {}
