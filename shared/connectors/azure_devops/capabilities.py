"""What Azure Boards can hold, as the engine needs to know it (adaptations in README.md).

- A source project becomes an Azure DevOps project (created with the organization's default
  process). Sections are the board's columns, i.e. states: a section named like a state of
  the backlog type (or meaning one: "Doing" → Active) is that state; any other becomes an
  area directly under the project (areas have no order). Labels are work item tags (per
  project, no colour, case-insensitive: labels differing in case only are one tag,
  ``label.collision``). Read back, a project's sections are its states.
- Tasks are work items (the process's backlog type: User Story, Product Backlog Item, Issue
  or Requirement); subtasks are child ``Task`` work items (parent/child links). One
  assignee (``System.AssignedTo``). Completion decides the state's category: the column's
  state when it agrees, else the type's first Completed state, or its first Proposed state
  when reopened. Start and due dates are
  ``Microsoft.VSTS.Scheduling.StartDate`` / ``TargetDate`` (with their time of day). A
  task's position is its backlog rank (``Microsoft.VSTS.Common.StackRank``, Scrum's
  ``BacklogPriority``). A title is one line (``task.name_multiline``).
- Checklists have no place of their own: the engine writes them into the description.
- Comments are written by the connection's identity at the time of writing (the engine
  puts the original author and time on top). Attachments up to 130 MB (one simple upload),
  links stay links (``Hyperlink`` relations).
- Markers: a ``[ferry:…]`` footer at the end of project and work item descriptions and of
  comments; files and links carry it in their relation's comment. Columns and areas are
  reconciled by name, tags are their own name.
- Rate: Azure DevOps publishes no request rate, only a consumption limit (200 TSTUs in a
  sliding 5 minutes, 429 + Retry-After beyond it). The pacer keeps a steady 10 requests/s
  with bursts of 20 and 8 in flight; a 429 slows it down by its Retry-After.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

MAX_ATTACHMENT_BYTES = 130 * 1024 * 1024
MAX_TITLE_CHARS = 255
AZURE_DEVOPS_RATE_LIMIT = RateLimit(requests=10, per_seconds=1, burst=20, concurrency=8)


def azure_devops_capabilities() -> Capabilities:
    return Capabilities(
        vendor="azure_devops",
        read_kinds=frozenset(Kind),
        write_kinds=frozenset(Kind),
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        max_assignees=1,
        labels_per_project=True,
        max_name_chars=MAX_TITLE_CHARS,
        comment_author_kept=False,
        comment_time_kept=False,
        checklists=ChecklistSupport.NONE,
        subtasks=True,
        sections=True,
        start_dates=True,
        due_times=True,
        custom_fields=False,
        link_attachments=True,
        completion=True,
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.PROJECT, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT}),
        natural_key_kinds=frozenset({Kind.SECTION, Kind.LABEL}),
        rate_limit=AZURE_DEVOPS_RATE_LIMIT,
    )
