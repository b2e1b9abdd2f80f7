"""What Asana can hold, as the engine needs to know it (documented adaptations included),
and its documented rate limit.

- One assignee per task (TaskResponse.assignee): extra assignees go to the notes (engine).
- Comments are written by the token's user at the time of writing (StoryResponse.created_by
  and created_at are read-only): the engine prepends the original author and time.
- Checklists become subtasks (the writer creates one subtask per item).
- Attachments up to 100 MB (createAttachmentForObject); link attachments are kept as links.
- Markers: a last line ``[ferry:…]`` in project/task notes, tag notes and comment text
  (the ``external`` field needs an OAuth app, so a PAT cannot use it). Sections are found
  by name in their project, attachments by name (+ size or URL) on their task.
- Custom fields are native on paid plans (``custom_fields.py``: one workspace field per
  source field name, enabled on the project, values set on the task; yes/no, multi-select
  and people values as text; a subtask's go to its notes). Free workspaces have none: the
  engine moves the values into the notes.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
#: requests per minute per token (https://developers.asana.com/docs/rate-limits)
PLANS = {"free": 150, "paid": 1500}
#: actions in one ``/batch`` request (https://developers.asana.com/reference/createbatchrequest)
MAX_BATCH = 10


def asana_rate_limit(plan: str = "paid") -> RateLimit:
    """The documented per-token limit of a plan ("free" or "paid"). Asana also allows 50
    concurrent reads and 15 concurrent writes: the pacer's concurrency is the write cap.
    A ``/batch`` call holds up to 10 actions, each counted as a request against both."""
    return RateLimit(
        requests=PLANS[plan], per_seconds=60, burst=25 if plan == "paid" else 10, concurrency=15, batch=MAX_BATCH
    )


def asana_capabilities(plan: str = "paid") -> Capabilities:
    """Capabilities of the Asana connector for a workspace on ``plan`` ("free"/"paid")."""
    return Capabilities(
        vendor="asana",
        read_kinds=frozenset(Kind),
        write_kinds=frozenset(Kind),
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        max_assignees=1,
        comment_author_kept=False,
        comment_time_kept=False,
        checklists=ChecklistSupport.AS_SUBTASKS,
        subtasks=True,
        sections=True,
        sibling_anchors=True,
        start_dates=True,
        due_times=True,
        custom_fields=plan != "free",
        link_attachments=True,
        completion=True,
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.PROJECT, Kind.LABEL, Kind.TASK, Kind.COMMENT}),
        natural_key_kinds=frozenset({Kind.SECTION, Kind.ATTACHMENT}),
        rate_limit=asana_rate_limit(plan),
    )
