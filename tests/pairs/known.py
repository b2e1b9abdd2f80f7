"""Undocumented differences the pair tests tolerate today, each a known defect.

``KNOWN[pair]`` maps a difference code to the defect in ``BUGS`` behind it; the fidelity,
verify and fault-matrix tests tolerate exactly these (a pair not listed has none). The eleven
defects the pair tests first found (Trello, Asana, Planner) are fixed; the entries below came
with Jira, monday.com and Azure DevOps (issue 16) and belong to those connectors' engineers.
A pair whose run cannot finish is in ``BROKEN`` (its tests are strict xfails). A defect found
goes here, ideally with a strict xfail reproduction in ``test_repro.py``, until it is fixed.
"""

from __future__ import annotations

from shared.engine.ports import ItemReport, ItemStatus

BUGS: dict[str, str] = {
    "delta-section-move-order": "a task a delta run moves into another section (a Jira issue "
    "or an Azure DevOps work item completed at the source changes its status or state) lands "
    "at the end of its new section in Asana and Planner: the writer of the delta places a task "
    "among the positions it wrote itself, and a fresh writer knows none (seen in the delta "
    "tests of jira->asana, jira->planner, azure_devops->asana, azure_devops->planner; Asana's "
    "reproduced in test_repro.py, Planner's seen in the delta tests only)",
    "ado-richtext": "Azure DevOps destination: a tab in a description or comment reads back as "
    "a space (HTML round trip); azure_devops/README.md says text reads back unchanged but for "
    "newline runs and list spacing",
    "ado-marker-alone": "Azure DevOps reader: a work item written with an empty description "
    "holds only the marker paragraph and reads back as '[ferry:…]' (the Jira reader had the "
    "same defect, fixed in mapping.text_without_marker)",
    "ado-multiline-name": "Azure DevOps: a multi-line name goes whole into the description "
    "(task.name_multiline, documented) but verify does not model that line yet",
    "ado-item-order": "Azure DevOps destination: work items of a state are not in source order "
    "(read by ascending id, written a page at a time); undocumented in its README",
    "ado-tag-case": "Azure DevOps destination: tags are case-insensitive, so two labels that "
    "differ only in case ('Backend', 'backend' from Jira) become one tag and one of them is "
    "not read back; undocumented (a label.collision the writer does not report)",
    "subtask-section-undocumented": "a subtask that has a section at the source (an Azure "
    "DevOps child has a state) has none in Asana or monday.com; neither README documents it",
}

KNOWN: dict[str, dict[str, str]] = {
    "trello->asana": {},
    "trello->planner": {},
    "asana->trello": {},
    "asana->planner": {},
    "planner->trello": {},
    "planner->asana": {},
    "asana->asana": {},
    "jira->asana": {"task.order": "delta-section-move-order"},
    "jira->planner": {"task.order": "delta-section-move-order"},
    **{f"{src}->monday": {} for src in ("trello", "asana", "planner", "jira")},
    **{
        f"{src}->azure_devops": {
            "task.description": "ado-richtext",
            "comment.text": "ado-richtext",
            "task.description_additions": "ado-marker-alone",
            "task.order": "ado-item-order",
            "label.unreadable": "ado-tag-case",
            "task.labels": "ado-tag-case",
        }
        for src in ("trello", "asana", "planner", "jira")
    },
    "azure_devops->asana": {
        "task.subtask_without_section": "subtask-section-undocumented",
        "task.order": "delta-section-move-order",
    },
    "azure_devops->planner": {"task.order": "delta-section-move-order"},
    "azure_devops->monday": {"task.subtask_without_section": "subtask-section-undocumented"},
    "monday->azure_devops": {
        "task.description": "ado-richtext",
        "comment.text": "ado-richtext",
        "task.description_additions": "ado-marker-alone",
        "task.order": "ado-item-order",
        "label.unreadable": "ado-tag-case",
        "task.labels": "ado-tag-case",
    },
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
