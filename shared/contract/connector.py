"""The connector contract: readers, writers, their capabilities, and source markers.

A connector is a reader and/or a writer of the canonical model (``shared.contract.model``).
The core is small (rclone ``fs/types.go`` style); extras are one-method optional protocols
the engine discovers with ``isinstance`` (rclone ``fs/features.go`` style).

Rules every connector follows (the conformance suite in ``tests/connectors/conformance.py``
checks them):

* Every remote call goes through the connector's ``Pacer`` (one per credential); the
  connector only classifies responses (``shared.contract.httperrors.raise_for_response``).
  Creates pass ``idempotent=False`` (a 5xx/timeout is ambiguous: the engine reconciles by
  marker), uploads of a one-shot body also ``replayable=False``.
* Errors are the ``shared.errors`` types: ``AuthRequiredError`` (credentials refused, the run
  pauses), ``SkippableItemError`` (this item fails alone), ``TransientError`` /
  ``ThrottledError`` (retried by the pacer), ``FatalRunError``. The pacer may raise
  ``DeferChunk`` (``shared.contract.pacer``); connectors let it through.
* ``read`` pages are checkpoints: ``cursor`` is opaque, ``None`` starts, a page whose
  ``next_cursor`` is ``None`` is the last one. Pages never repeat a record, and within the
  TASK stream a parent task comes before its subtasks.
* A writer embeds the marker it is given where its ``Capabilities.marker_location`` says and
  ``find_by_marker`` finds the item by it (or, for kinds in ``natural_key_kinds``, by the
  record's natural key such as a label's name). ``delete`` is idempotent.
* Writers get records already adapted by the engine to their ``Capabilities``
  (``shared.engine.adapt``); vendor-specific extra adaptations go in ``RecordAdapter.adapt``,
  which must be pure (the dry run calls it).
* Attachment bodies are streamed: never read a whole file into memory, no temp files.
* What only the write reveals (an assignee who is not a member of the destination) is
  adapted, not failed: the writer returns ``Written(dest_id, notes)`` so it is reported.
* A reader that lists children per task may skip unchanged tasks in a delta
  (``ChildSkipReader``), only for child kinds whose every change moves the task's version.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.limits import RateLimit
from shared.contract.model import (
    AnyRecord,
    Attachment,
    Container,
    Kind,
    Record,
    UserRef,
)

#: Upper bound of one attachment chunk anywhere in the pipeline (bytes).
MAX_CHUNK_BYTES = 4 * 1024 * 1024
#: What a record id (source or destination) may be: 1–512 characters, no whitespace and no
#: control characters. Ids travel in queue messages, id-map keys, report rows and log lines;
#: a connector encodes vendor names it uses as ids (e.g. percent-encoding).
MAX_ID_CHARS = 512
RECORD_ID = re.compile(rf"^[^\s\x00-\x1f\x7f]{{1,{MAX_ID_CHARS}}}$")

#: Longest reader cursor (it travels in a queue message with the chunk's other fields).
MAX_CURSOR_CHARS = 4096


class MarkerLocation(StrEnum):
    """Where a writer keeps the source marker of an item it created."""

    EXTERNAL_ID = "external_id"  # a vendor field meant for it (Asana external.gid)
    CUSTOM_FIELD = "custom_field"  # a hidden/custom field
    DESCRIPTION_FOOTER = "description_footer"  # a last line of the description/notes
    NAME = "name"  # item name (e.g. attachment file name suffix)
    NONE = "none"  # no marker possible: reconciliation by natural key only


class ChecklistSupport(StrEnum):
    NATIVE = "native"  # Trello checklists, Planner checklist items
    AS_SUBTASKS = "as_subtasks"  # Asana: the writer turns checklist items into subtasks
    NONE = "none"  # the engine moves them into the description


class Capabilities(BaseModel):
    """What a connector can hold; the engine adapts records to it and the dry run reports it.

    ``None`` limits mean "no limit we know of". Be honest: the conformance suite checks the
    declared kinds and limits against behaviour.
    """

    model_config = ConfigDict(frozen=True)

    vendor: str
    read_kinds: frozenset[Kind] = frozenset()
    write_kinds: frozenset[Kind] = frozenset()
    # limits of the destination
    max_attachment_bytes: int | None = None
    max_assignees: int | None = None  # 1 = single assignee (Asana)
    max_labels_per_project: int | None = None  # Planner: 25 categories
    #: labels belong to one project (Trello board, Planner plan), not to the workspace (Asana
    #: tags): a source label used in two scopes needs a destination label in each
    labels_per_project: bool = False
    max_checklist_items: int | None = None  # per task (Planner: 20)
    max_name_chars: int | None = None
    max_description_chars: int | None = None
    max_comment_chars: int | None = None
    # features of the destination
    comment_author_kept: bool = False  # can write a comment as its original author
    comment_time_kept: bool = False  # can set a comment's original time
    checklists: ChecklistSupport = ChecklistSupport.NATIVE
    subtasks: bool = False
    sections: bool = True
    start_dates: bool = True
    due_times: bool = True  # keeps a time of day on the due date
    custom_fields: bool = False
    link_attachments: bool = True
    completion: bool = True
    #: places a top-level task among its section's items by the siblings the engine reads
    #: from the id map (``DestRefs.after``/``before``/``reposition``: Asana, Planner, and
    #: monday.com, to see that its own listing of a group is stale); for
    #: other writers the engine neither queries those siblings nor keeps positions fresh
    sibling_anchors: bool = False
    #: kinds whose archived (closed) state it keeps; the engine reports the others
    #: (``section.archived_dropped`` / ``task.archived_dropped``, loss)
    archived_kinds: frozenset[Kind] = frozenset()
    # markers: where, and for which kinds find_by_marker works by marker / by natural key
    marker_location: MarkerLocation = MarkerLocation.DESCRIPTION_FOOTER
    marker_kinds: frozenset[Kind] = frozenset()
    natural_key_kinds: frozenset[Kind] = frozenset()
    # documented request limits per credential (the pacer is built from them)
    rate_limit: RateLimit | None = None


class Page(BaseModel):
    """One page of a read. ``next_cursor`` is the checkpoint; ``None`` means the end."""

    model_config = ConfigDict(frozen=True)

    records: tuple[AnyRecord, ...] = ()
    next_cursor: str | None = None
    #: source ids the vendor reported deleted (tombstones), when it can say so
    deleted: tuple[str, ...] = ()
    #: ``ChildSkipReader`` pages only (comments, attachments): parent tasks whose children
    #: of this kind were not listed because the parent's version is still the one the
    #: engine's ``ListedParents`` gave for it; the engine keeps those children as seen
    unchanged_parents: tuple[str, ...] = ()
    #: ``ChildSkipReader`` pages only: parent task → its version as read *before* its
    #: children of this kind were listed, for parents whose listing ended in this page (all
    #: of their children are in it or in earlier pages). The engine remembers it, so a later
    #: run may skip the parent while that version holds.
    listed_parents: Mapping[str, str] = Field(default_factory=dict)


class Sibling(BaseModel):
    """A task already at the destination that sits next to another one in its section at the
    source: its destination id and its source position (comparable with ``Task.position``)."""

    model_config = ConfigDict(frozen=True)

    dest_id: str
    position: float


class DestRefs(BaseModel):
    """Destination ids of a record's parents, resolved by the engine from the id map."""

    model_config = ConfigDict(frozen=True)

    workspace: str | None = None  # destination container chosen for the migration
    project: str | None = None
    section: str | None = None
    parent_task: str | None = None  # for subtasks
    #: a subtask the destination holds as a task (flattened): its parent's destination id
    #: when known, so the writer can name the parent ("Originally a subtask of …")
    flattened_parent: str | None = None
    task: str | None = None  # for comments and attachments
    labels: Mapping[str, str] = Field(default_factory=dict)  # label source id → dest id
    #: top-level tasks in a section: the nearest source siblings of the same section that are
    #: already at the destination, the one before the task (``after``) and the one after it
    #: (``before``), from the id map, so that any writer (a later run's, another worker's, the
    #: one retrying after a fault) can place the task among items it did not write itself
    after: Sibling | None = None
    before: Sibling | None = None
    #: the source moved the task since it was written (new, another section or another
    #: position, or an earlier create may not have placed it): place it by its source
    #: position even when it is already in its section
    reposition: bool = False

    def anchors(self, position: float, placed: Mapping[str, float], itself: str = "") -> tuple[str | None, str | None]:
        """Where a task at source ``position`` goes: (the destination id to put it right
        after, else the one to put it right before), nearest first, from ``after``/``before``
        and the writer's own ``placed`` items of the section (destination id → source
        position; the engine's positions win, they are the newer). (None, None): nothing in
        the section is known, the writer's default applies."""
        known = dict(placed)
        for sib in (self.after, self.before):
            if sib is not None:
                known[sib.dest_id] = sib.position
        known.pop(itself, None)
        earlier = [(pos, dest) for dest, pos in known.items() if pos < position]
        later = [(pos, dest) for dest, pos in known.items() if pos > position]
        if earlier:
            return max(earlier)[1], None
        if later:
            return None, min(later)[1]
        return None, None


class Adaptation(BaseModel):
    """A structured note of something the destination forced (or lost).

    ``code`` is stable (``task.assignees_truncated``); ``loss`` says whether information is
    gone rather than moved (e.g. into the description).
    """

    model_config = ConfigDict(frozen=True)

    kind: Kind
    code: str
    message: str
    loss: bool = False


class Written(BaseModel):
    """What ``create``/``upload_attachment`` may return instead of a bare id, and ``update``
    instead of None: the destination id plus adaptations only known at write time (e.g. an
    assignee who is not a member of the destination workspace)."""

    model_config = ConfigDict(frozen=True)

    dest_id: str
    notes: tuple[Adaptation, ...] = ()


# --- core protocols ---------------------------------------------------------------


@runtime_checkable
class Connection(Protocol):
    """What both sides offer: who the credential is and what it can see."""

    capabilities: Capabilities

    async def whoami(self) -> UserRef:
        """The account the credential acts as. Raises AuthRequiredError when refused."""
        ...

    async def list_containers(self) -> list[Container]:
        """Workspaces and the project-level containers (boards, projects, plans) in them."""
        ...


@runtime_checkable
class SourceReader(Connection, Protocol):
    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Read up to ``limit`` records of ``kind`` in project-level container ``scope``.

        ``kind == PROJECT`` returns the one record of the container ``scope`` itself.
        """
        ...

    def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream a file attachment's bytes in chunks of at most ``MAX_CHUNK_BYTES``."""
        ...


@runtime_checkable
class DestinationWriter(Connection, Protocol):
    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        """Create the item with ``marker`` embedded; returns its destination id.

        Not called for ATTACHMENT (see ``upload_attachment``).
        """
        ...

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        """Overwrite the item's migrated fields (keep the marker). NotFoundError if gone."""
        ...

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        """The destination id of the item carrying ``marker`` under ``refs``, or None."""
        ...

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Delete the item; deleting a missing item is not an error."""
        ...

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str | Written:
        """Attach a file (``chunks`` streamed, consumed once) or a link (``chunks`` None)."""
        ...


# --- optional features (one method each) -------------------------------------------


#: The engine's answer to a ``ChildSkipReader``: of the given parent task ids, those whose
#: children of the kind being read may be skipped, each with the parent version at which
#: they were last listed completely (and every one of them migrated). A parent missing from
#: the answer must be listed.
ListedParents = Callable[[Sequence[str]], Awaitable[Mapping[str, str]]]


@runtime_checkable
class ChildSkipReader(Protocol):
    """A reader that lists children (comments, attachments) per parent task and can skip the
    parents whose version has not moved since their children were last read.

    Only for a child kind whose every addition, change and removal moves the parent's
    version, as the vendor documents it (Asana: an attachment added or trashed moves the
    task's ``modified_at``, an edited comment does not, so Asana skips attachments only).
    For other kinds ``read_changed`` is ``read``. Whatever it skips, the engine keeps as
    seen; what it lists completely goes in ``Page.listed_parents``.
    """

    async def read_changed(self, kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents) -> Page:
        """As ``read``, leaving out the children of parents whose version is the one
        ``listed`` answers for them (named in ``Page.unchanged_parents``)."""
        ...


@runtime_checkable
class RecordAdapter(Protocol):
    """A writer's own adaptations beyond the generic ones. Pure: no I/O (dry run uses it)."""

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]: ...


@runtime_checkable
class PeopleLister(Protocol):
    """The people a connection can see, so a person can map users before a run.

    ``scope`` is a container id from ``list_containers`` (a board, project or plan: its
    members; a workspace: its users) or ``None`` (everyone the credential can see). People are
    personal data: a lister returns them to the caller and keeps, logs and stores nothing.
    """

    async def list_people(self, scope: str | None) -> list[UserRef]: ...
