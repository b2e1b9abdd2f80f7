"""The system processes the simulator knows: work item types and their states.

Names, reference names, state categories and process ids are those of Azure Boards'
system processes (https://learn.microsoft.com/azure/devops/boards/work-items/guidance/
choose-process and …/workflow-and-state-categories). Only the types Ferry touches are
defined; a type the simulator lacks answers as an unknown type would.
"""

from __future__ import annotations

from simulators.azure_devops.store import Process, StateDef, WorkItemTypeDef

BASIC_ID = "b8a3a935-7e91-48b8-a94c-606d37c3e9f2"
AGILE_ID = "adcc42ab-9882-485e-a3ed-7678f01f66bc"


def _basic_states() -> list[StateDef]:
    return [
        StateDef("To Do", "Proposed", "b2b2b2"),
        StateDef("Doing", "InProgress", "007acc"),
        StateDef("Done", "Completed", "339933"),
    ]


def _agile_states(resolved: bool) -> list[StateDef]:
    states = [StateDef("New", "Proposed", "b2b2b2"), StateDef("Active", "InProgress", "007acc")]
    if resolved:
        states.append(StateDef("Resolved", "Resolved", "ff9d00"))
    return states + [StateDef("Closed", "Completed", "339933"), StateDef("Removed", "Removed", "ffffff")]


def basic() -> Process:
    return Process(
        BASIC_ID,
        "Basic",
        [
            WorkItemTypeDef("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "E06C00", _basic_states()),
            WorkItemTypeDef("Issue", "Microsoft.VSTS.WorkItemTypes.Issue", "339947", _basic_states()),
            WorkItemTypeDef("Task", "Microsoft.VSTS.WorkItemTypes.Task", "A4880A", _basic_states()),
        ],
    )


def agile() -> Process:
    return Process(
        AGILE_ID,
        "Agile",
        [
            WorkItemTypeDef("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", _agile_states(True)),
            WorkItemTypeDef("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", "773B93", _agile_states(True)),
            WorkItemTypeDef("User Story", "Microsoft.VSTS.WorkItemTypes.UserStory", "009CCC", _agile_states(True)),
            WorkItemTypeDef("Task", "Microsoft.VSTS.WorkItemTypes.Task", "F2CB1D", _agile_states(False)),
            WorkItemTypeDef("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", "CC293D", _agile_states(True)),
        ],
    )
