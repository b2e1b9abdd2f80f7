"""Adaptations of subtasks that every destination whose subtasks hang under their parent shares."""

from __future__ import annotations

from shared.contract.connector import Adaptation
from shared.contract.model import Kind, Task


def subtask_without_section(task: Task, vendor: str) -> tuple[Task, list[Adaptation]]:
    """A subtask lives under its parent task, in none of the project's sections (Asana
    subtasks, monday.com subitems): the section a source gives it (an Azure DevOps child's
    state, a Jira sub-task's status) is not kept. Its completion is."""
    if not task.parent_id or not task.section_id:
        return task, []
    note = Adaptation(
        kind=Kind.TASK,
        code="task.subtask_without_section",
        message=f"{vendor} subtasks belong to their parent task, not to a section: its source section is not kept",
        loss=True,
    )
    return task.model_copy(update={"section_id": None}), [note]
