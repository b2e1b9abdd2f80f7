"""What Trello can hold, and how Ferry adapts to it (documented adaptations).

* Comments are written by the token's member at the time of writing (no author or time
  override): the engine prepends the original author and time.
* No subtasks (checklists are native), no "completed" state except ``dueComplete``, which
  is what ``Task.completed`` maps to.
* Custom fields are native (``custom_fields.py``): one board definition per source field
  name and type, created when first needed; multi-select and people values are written as
  text (``task.custom_field_as_text``), a field beyond Trello's 50 per board is reported lost.
* Every card needs a list: a task without section (an Asana subtask the engine flattened,
  a task of a source without sections) goes to a list "Tasks" that the writer creates at
  the top of the board (or finds there, by name) the first time it needs one.
* Archived lists and cards stay archived (``closed``); an archived source board is created
  open so its items can be written (``project.left_open``).
* Order: lists and cards are created at their source position (a positive Trello ``pos``;
  position 0 becomes a small positive number), so a page written at once keeps source order.
* Dates: a date-only due/start is written as 12:00 UTC of that day.
* Texts: card names, descriptions and comments hold at most 16,384 characters.
* Attachments: 250 MB per file (paid workspaces; free workspaces allow 10 MB and answer
  413, which skips the item), links stay links.
* Markers: a ``[ferry:…]`` footer at the end of board and card descriptions and of
  comments; lists, labels and attachments are reconciled by their natural key (name,
  name, name + size or URL), since Trello has no field to hold a marker for them.
* Lists cannot be deleted in Trello: ``delete(SECTION)`` archives the list.
* Assignees are matched by e-mail among the board's members (Trello shows e-mails only to
  their owner or to managed-Enterprise admins); unmatched people are named in the card
  description instead.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

#: Trello allows 100 requests / 10 s per token in a sliding window. A token bucket lets
#: ``burst + rate × window`` through in any window, so 9 + 9/s × 10 s = 99 stays under it.
#: (The 300 / 10 s per key is shared by every token of the key; it cannot be paced per
#: credential and is left to the 429 handling.)
TRELLO_RATE_LIMIT = RateLimit(requests=90, per_seconds=10, burst=9, concurrency=8)

MAX_TEXT = 16_384
MAX_ATTACHMENT_BYTES = 250 * 1024 * 1024
ALL_KINDS = frozenset(Kind)


def trello_capabilities() -> Capabilities:
    """Trello as a source and a destination."""
    return Capabilities(
        vendor="trello",
        read_kinds=ALL_KINDS,
        write_kinds=ALL_KINDS,
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        max_name_chars=MAX_TEXT,
        max_description_chars=MAX_TEXT,
        max_comment_chars=MAX_TEXT,
        comment_author_kept=False,
        comment_time_kept=False,
        checklists=ChecklistSupport.NATIVE,
        subtasks=False,
        sections=True,
        start_dates=True,
        due_times=True,
        custom_fields=True,
        link_attachments=True,
        completion=True,
        archived_kinds=frozenset({Kind.SECTION, Kind.TASK}),
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.PROJECT, Kind.TASK, Kind.COMMENT}),
        labels_per_project=True,  # labels belong to one board
        natural_key_kinds=frozenset({Kind.SECTION, Kind.LABEL, Kind.ATTACHMENT}),
        rate_limit=TRELLO_RATE_LIMIT,
    )
