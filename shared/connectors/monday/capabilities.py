"""What monday.com can hold, and how Ferry adapts to it (documented adaptations).

* A board is the project; its groups are the sections; items are tasks and subitems their
  subtasks (one level: monday has no sub-subitems, a deeper subtask is written under its
  top-level ancestor, ``task.subtask_lifted``). Updates are the comments, files in a Files
  column (and in updates) the attachments; account tags (a Tags column) are the labels.
* Columns Ferry writes, found by type on the board or created once: People (assignees,
  several), Status (the label "Done" is completion), Date (due date with a time), Tags,
  Files, and a text column "Ferry marker" (id ``ferry_marker``) that holds the marker; a
  top-level item's source position is in "Ferry order" (``ferry_order``), so groups and
  items keep the source's order (``placement.py``).
* Labels are account tags: monday chooses their colour (``label.color_assigned``), a
  nameless one is named after its colour, an unused one is not read back.
* No start dates (a Timeline column is not written): the engine moves them into the
  description. No checklists (the engine moves them into the description), no custom fields
  (their values go to the description; a monday source's extra columns are read as custom
  fields: the Status label, text columns). A Files column holds no links: a link attachment
  is written as an update "Link: [name](url)" (``attachment.link_as_update``).
* Comments are written by the token's user (the engine puts the original author on top);
  their original time is kept (``create_update(original_creation_date:)``).
* Item names hold at most 255 characters (``ItemNameTooLongException``).
* Markers: tasks carry theirs in the ``ferry_marker`` column (found with
  ``items_page_by_column_values``, one call); boards in a ``[ferry:…]`` footer of their
  description; comments in a last ``[ferry:…]`` paragraph. Groups are found by name, tags by
  name (``create_or_get_tag`` is idempotent), files by name and size on their item.
* Rate: the per-minute complexity budget (10M points for a personal token) is watched from
  every answer (``client.ComplexityWatch``); the request rate below is the pacer's own,
  conservative setting (monday's minute limit depends on the plan), with 429 + Retry-After
  slowing it down.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

MAX_NAME = 255
#: the per-file limit Ferry declares (monday's help pages name 500 MB per file)
MAX_ATTACHMENT_BYTES = 500 * 1024 * 1024
MONDAY_RATE_LIMIT = RateLimit(requests=1000, per_seconds=60, burst=20, concurrency=8)


def monday_capabilities() -> Capabilities:
    """monday.com as a source and a destination."""
    return Capabilities(
        vendor="monday",
        read_kinds=frozenset(Kind),
        write_kinds=frozenset(Kind),
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        max_name_chars=MAX_NAME,
        comment_author_kept=False,
        comment_time_kept=True,
        checklists=ChecklistSupport.NONE,
        subtasks=True,
        sections=True,
        start_dates=False,
        due_times=True,
        custom_fields=False,
        link_attachments=True,
        completion=True,
        sibling_anchors=True,  # to list a group again when another worker wrote into it
        marker_location=MarkerLocation.CUSTOM_FIELD,
        marker_kinds=frozenset({Kind.PROJECT, Kind.TASK, Kind.COMMENT}),
        natural_key_kinds=frozenset({Kind.SECTION, Kind.LABEL, Kind.ATTACHMENT}),
        rate_limit=MONDAY_RATE_LIMIT,
    )
