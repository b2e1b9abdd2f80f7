"""Generic adaptations: fit a record to the destination's ``Capabilities`` without I/O.

What a destination cannot hold is moved (usually into the description) or, when that is
impossible, dropped with a ``loss`` note; never silently. The dry run calls the same
functions, so its counts are the real run's counts. Writers add vendor-specific
adaptations through the optional ``RecordAdapter`` protocol.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import TypeVar, cast

from shared.contract.connector import (
    Adaptation,
    Capabilities,
    ChecklistSupport,
    DestinationWriter,
    MarkerLocation,
    RecordAdapter,
)
from shared.contract.model import Attachment, Comment, Kind, Project, Record, Section, Task
from shared.contract.text import marker_footer, start_date_line
from shared.engine.status_map import SUMMARIES as STATUS_SUMMARIES

R = TypeVar("R", bound=Record)

#: Room kept at the end of a description for a DESCRIPTION_FOOTER marker.
MARKER_ROOM = len(marker_footer("ferry:12345678:attachment:0123456789abcdef")) + 8

#: Human summaries for the dry run: ``{n}`` items, ``{limit}`` from the capabilities.
SUMMARIES: dict[str, str] = {
    "task.assignees_truncated": "{n} tasks have several assignees; the destination keeps "
    "{limit}, the others go to the description",
    "task.start_date_in_description": "{n} tasks have a start date; the destination has none, "
    "it goes to the description",
    "task.due_time_in_description": "{n} tasks have a due time; the destination keeps the date, "
    "the time of day goes to the description",
    "task.checklists_in_description": "{n} tasks have checklists; the destination has none, they go to the description",
    "task.checklists_as_subtasks": "{n} tasks have checklists; they become subtasks",
    "task.checklist_items_truncated": "{n} tasks have more than {limit} checklist items; the "
    "rest go to the description",
    "task.custom_fields_in_description": "{n} tasks have custom fields; they go to the description",
    "task.labels_in_description": "{n} tasks have labels; the destination has none, they go to the description",
    "task.subtask_flattened": "{n} subtasks become top-level tasks (noted in the description)",
    "task.name_truncated": "{n} task names are longer than {limit} characters; the full name goes to the description",
    "task.completion_dropped": "{n} completed tasks cannot be marked complete",
    "task.archived_dropped": "{n} archived tasks cannot be archived in the destination; they arrive active",
    "section.archived_dropped": "{n} archived sections (lists) cannot be archived in the "
    "destination; they arrive active",
    "task.description_truncated": "{n} task descriptions are cut to {limit} characters",
    "project.description_truncated": "{n} project descriptions are cut to {limit} characters",
    "comment.author_prepended": "{n} comments cannot keep their author; the original author "
    "and time are written at the top",
    "comment.time_prepended": "{n} comments cannot keep their time; it is written at the top",
    "comment.text_truncated": "{n} comments are cut to {limit} characters",
    "attachment.link_unsupported": "{n} link attachments cannot be kept as links and are skipped",
    "task.labels_missing_in_description": "{n} tasks had labels that could not be created; "
    "their names go to the description",
    "attachment.too_large": "{n} attachments are larger than the destination's limit ({limit} bytes) and are skipped",
}

#: Codes a destination's writer reports (its README documents each); the same sentences
#: serve the dry-run preview, the report and the assistant, so none reads as a bare code.
SUMMARIES.update(
    {
        "attachment.link_as_update": "{n} link attachments become updates (comments) holding the link",
        "label.collision": "{n} labels differ from another only in letter case; the destination's "
        "tags ignore case, so they share one tag",
        "label.color_assigned": "{n} labels get the destination's own tag colour; their colour is not kept",
        "label.color_mapped": "{n} label colours have no exact match; the nearest colour is used",
        "label.merged": "{n} labels do not fit the destination's 25 categories; each is merged "
        "into the category of the same name",
        "label.name_adapted": "{n} label names hold characters the destination refuses; they are replaced",
        "label.renamed_empty": "{n} labels have no name; each is named after its colour",
        "label.renamed_for_jira": "{n} label names contain spaces, which Jira labels cannot hold; "
        "the spaces are replaced",
        "project.description_dropped": "{n} project descriptions cannot be kept: the destination has none",
        "project.left_open": "{n} archived boards are created open so their items can be written",
        "project.name_adapted": "{n} project names are too long or hold refused characters; they are adjusted",
        "project.renamed_duplicate": "{n} project names are taken at the destination; a number is added",
        "project.renamed_for_jira": "{n} project names are taken or too long for Jira; they are adjusted",
        "section.mapped_to_state": "{n} sections become board columns of a work item state",
        "section.name_adapted": "{n} section names hold characters the destination refuses; they are replaced",
        "task.assignee_not_in_account": "{n} tasks have assignees without an account at the "
        "destination; they are named in the description",
        "task.assignee_not_in_jira": "{n} tasks have assignees without a Jira account on the site; "
        "they are named in the description",
        "task.assignee_not_in_workspace": "{n} tasks have assignees who are not in the destination "
        "workspace; they are named in the notes",
        "task.assignee_not_member": "{n} tasks have assignees who are not users of the destination "
        "organization; the tasks are left unassigned",
        "task.assignee_not_on_board": "{n} tasks have assignees who are not board members; they "
        "are named in the description",
        "task.checklists_merged": "{n} tasks have several checklists; they merge into one, items "
        "prefixed by their list's name",
        "task.custom_field_as_text": "{n} tasks have custom field values the destination cannot "
        "hold as such; they are written as text",
        "task.custom_field_dropped": "{n} tasks have custom fields beyond what the destination "
        "holds; those values are not kept",
        "task.custom_field_renamed": "{n} tasks have custom fields whose name is taken by another "
        "type at the destination; a field of another name is used",
        "task.dates_dropped": "{n} tasks have dates the destination's process has no field for; they are not kept",
        "task.description_cut_for_note": "{n} task descriptions are cut so the assignee note fits",
        "task.labels_merged": "{n} tasks have two labels that share one category at the destination",
        "task.name_multiline": "{n} task names have several lines; the first is the title, the "
        "whole name ends the description",
        "task.section_replaced_by_completion": "{n} tasks are in a status that contradicts their "
        "completion; the status follows the completion",
        "task.state_from_completion": "{n} tasks are in a column that contradicts their "
        "completion; the state follows the completion",
        "task.subtask_lifted": "{n} sub-subtasks become subtasks of the top-level task (the "
        "destination nests one level only)",
        "task.subtask_without_section": "{n} subtasks are in a section at the source; the "
        "destination's subtasks belong to their parent, so the section is not kept",
    }
)
SUMMARIES.update(STATUS_SUMMARIES)  # the status mapping's codes (shared.engine.status_map)

_LIMIT_FIELDS = {
    "task.assignees_truncated": "max_assignees",
    "task.checklist_items_truncated": "max_checklist_items",
    "task.name_truncated": "max_name_chars",
    "task.description_truncated": "max_description_chars",
    "project.description_truncated": "max_description_chars",
    "comment.text_truncated": "max_comment_chars",
    "attachment.too_large": "max_attachment_bytes",
}


def _note(kind: Kind, code: str, message: str, *, loss: bool = False) -> Adaptation:
    return Adaptation(kind=kind, code=code, message=message, loss=loss)


def _append(text: str, lines: list[str]) -> str:
    block = "\n".join(lines)
    return f"{text.rstrip()}\n\n{block}" if text.strip() else block


def skip_reason(record: Record, caps: Capabilities) -> tuple[str, str] | None:
    """(code, reason) when the record cannot go to this destination at all, else None."""
    if record.kind not in caps.write_kinds:
        return (f"{record.kind}.unsupported", f"{caps.vendor} has no {record.kind}s; not migrated")
    if isinstance(record, Attachment):
        if record.is_link and not caps.link_attachments:
            return ("attachment.link_unsupported", f"{caps.vendor} cannot hold link attachments")
        limit = caps.max_attachment_bytes
        if not record.is_link and limit is not None and (record.size or 0) > limit:
            return ("attachment.too_large", f"{record.size} bytes is over {caps.vendor}'s limit of {limit} bytes")
    return None


def _cut(record: R, field: str, limit: int | None, code: str, room: int = 0) -> tuple[R, list[Adaptation]]:
    text: str = getattr(record, field)
    if limit is None or len(text) <= limit - room:
        return record, []
    keep = max(0, limit - room - 1)
    note = _note(record.kind, code, f"{field} cut from {len(text)} to {keep} characters", loss=True)
    return record.model_copy(update={field: text[:keep] + "…"}), [note]


def fit_description(task: Task, caps: Capabilities) -> tuple[Task, list[Adaptation]]:
    """Cut a task description to the destination's limit (room kept for a footer marker)."""
    room = MARKER_ROOM if caps.marker_location is MarkerLocation.DESCRIPTION_FOOTER else 0
    return _cut(task, "description", caps.max_description_chars, "task.description_truncated", room)


def due_time_in_text(due_at: datetime, due_on: date | None) -> tuple[date, str]:
    """A due time where the destination keeps the date only: the date (the source's own,
    else the day in UTC) and the description line that keeps the time of day."""
    utc = due_at.astimezone(UTC) if due_at.tzinfo else due_at.replace(tzinfo=UTC)
    return due_on or utc.date(), f"Due time: {utc:%Y-%m-%d %H:%M} UTC"


def _adapt_task(task: Task, caps: Capabilities) -> tuple[Task, list[Adaptation]]:
    notes: list[Adaptation] = []
    extra: list[str] = []
    update: dict[str, object] = {}
    k = Kind.TASK
    if caps.max_name_chars is not None and len(task.name) > caps.max_name_chars:
        update["name"] = task.name[: max(1, caps.max_name_chars - 1)] + "…"
        extra.append(f"Full name: {task.name}")
        notes.append(_note(k, "task.name_truncated", "name shortened; full name in description"))
    if caps.max_assignees is not None and len(task.assignees) > caps.max_assignees:
        kept, rest = task.assignees[: caps.max_assignees], task.assignees[caps.max_assignees :]
        update["assignees"] = kept
        extra.append("Also assigned: " + ", ".join(u.label() for u in rest))
        notes.append(
            _note(
                k,
                "task.assignees_truncated",
                f"{len(task.assignees)} assignees; kept {len(kept)}, others moved to the description",
            )
        )
    if task.start_on and not caps.start_dates:
        update["start_on"] = None
        extra.append(start_date_line(task.start_on))
        notes.append(_note(k, "task.start_date_in_description", "start date in description"))
    if task.due_at and not caps.due_times:
        day, line = due_time_in_text(task.due_at, task.due_on)
        update["due_at"] = None
        update["due_on"] = day
        extra.append(line)
        notes.append(_note(k, "task.due_time_in_description", "due date kept, its time of day in the description"))
    if task.checklists:
        if caps.checklists is ChecklistSupport.NONE:
            update["checklists"] = ()
            for cl in task.checklists:
                extra.append(f"{cl.name}:")
                extra.extend(f"[{'x' if i.checked else ' '}] {i.name}" for i in cl.items)
            notes.append(_note(k, "task.checklists_in_description", "checklists in description"))
        else:
            if caps.checklists is ChecklistSupport.AS_SUBTASKS:
                notes.append(_note(k, "task.checklists_as_subtasks", "checklists as subtasks"))
            limit = caps.max_checklist_items
            total = sum(len(cl.items) for cl in task.checklists)
            if limit is not None and total > limit:
                kept_lists, room = [], limit
                for cl in task.checklists:
                    items, over = cl.items[:room], cl.items[room:]
                    room -= len(items)
                    if items:
                        kept_lists.append(cl.model_copy(update={"items": items}))
                    extra.extend(f"{cl.name}: [{'x' if i.checked else ' '}] {i.name}" for i in over)
                update["checklists"] = tuple(kept_lists)
                notes.append(
                    _note(
                        k,
                        "task.checklist_items_truncated",
                        f"{total} checklist items; kept {limit}, rest in description",
                    )
                )
    if task.custom_fields and not caps.custom_fields:
        update["custom_fields"] = ()
        extra.extend(cf.as_text() for cf in task.custom_fields)
        notes.append(_note(k, "task.custom_fields_in_description", "custom fields in description"))
    if task.labels and Kind.LABEL not in caps.write_kinds:
        update["labels"] = ()
        extra.append("Labels: " + ", ".join(lab.name for lab in task.labels))
        notes.append(_note(k, "task.labels_in_description", "labels in description"))
    if task.parent_id and not caps.subtasks:
        update["parent_id"] = None
        extra.append("Originally a subtask.")
        notes.append(_note(k, "task.subtask_flattened", "subtask made top-level"))
    if task.completed and not caps.completion:
        update["completed"] = False
        notes.append(_note(k, "task.completion_dropped", "completion not kept", loss=True))
    if task.archived and Kind.TASK not in caps.archived_kinds:
        update["archived"] = False
        notes.append(_note(k, "task.archived_dropped", "archived in the source; arrives active", loss=True))
    if extra:
        update["description"] = _append(task.description, extra)
    adapted = task.model_copy(update=update) if update else task
    adapted, cut = fit_description(adapted, caps)
    return adapted, notes + cut


def _adapt_comment(comment: Comment, caps: Capabilities) -> tuple[Comment, list[Adaptation]]:
    notes: list[Adaptation] = []
    when = comment.created_at.strftime("%Y-%m-%d %H:%M UTC") if comment.created_at else None
    header = None
    if not caps.comment_author_kept and comment.author is not None:
        header = f"{comment.author.label()}" + (f" wrote on {when}:" if when else " wrote:")
        notes.append(_note(Kind.COMMENT, "comment.author_prepended", "author and time at top"))
    elif not caps.comment_time_kept and when:
        header = f"Written on {when}:"
        notes.append(_note(Kind.COMMENT, "comment.time_prepended", "time at top"))
    adapted = comment
    if header:
        adapted = comment.model_copy(update={"text": f"{header}\n\n{comment.text}"})
    adapted, cut = _cut(adapted, "text", caps.max_comment_chars, "comment.text_truncated")
    return adapted, notes + cut


@functools.lru_cache(maxsize=64)
def _is_adapter(writer_type: type) -> bool:
    """``isinstance(writer, RecordAdapter)``, once per class (the protocol check is slow)."""
    return callable(getattr(writer_type, "adapt", None))


def adapt(
    record: Record, caps: Capabilities, writer: DestinationWriter | None = None
) -> tuple[Record, list[Adaptation]]:
    """The record as the destination will hold it, and the notes of what changed."""
    notes: list[Adaptation] = []
    if isinstance(record, Task):
        record, notes = _adapt_task(record, caps)
    elif isinstance(record, Comment):
        record, notes = _adapt_comment(record, caps)
    elif isinstance(record, Section):
        if record.archived and Kind.SECTION not in caps.archived_kinds:
            record = record.model_copy(update={"archived": False})
            notes = [
                _note(Kind.SECTION, "section.archived_dropped", "archived in the source; arrives active", loss=True)
            ]
    elif isinstance(record, Project):
        room = MARKER_ROOM if caps.marker_location is MarkerLocation.DESCRIPTION_FOOTER else 0
        record, notes = _cut(record, "description", caps.max_description_chars, "project.description_truncated", room)
    if writer is not None and _is_adapter(type(writer)):
        record, more = cast(RecordAdapter, writer).adapt(record.kind, record)
        notes = notes + list(more)
    return record, notes


def summarize(counts: dict[str, int], caps: Capabilities) -> list[str]:
    """Dry-run sentences from ``adapt.<code>`` / ``skip.<code>`` counters."""
    lines: list[str] = []
    for key in sorted(counts):
        prefix, _, code = key.partition(".")
        if prefix not in ("adapt", "skip") or not counts[key]:
            continue
        template = SUMMARIES.get(code)
        field = _LIMIT_FIELDS.get(code)
        limit: int | None = getattr(caps, field) if field else None
        if template is None and code.endswith(".unsupported"):
            kind = code.split(".")[0]
            lines.append(f"{counts[key]} {kind}s cannot be migrated: {caps.vendor} has none")
        elif template is None:
            lines.append(f"{counts[key]} × {code}")
        else:
            words = {1: "one", 2: "two", 3: "three"}
            shown = words.get(limit, str(limit)) if limit is not None else "no"
            lines.append(template.format(n=counts[key], limit=shown))
    return lines


__all__ = ["SUMMARIES", "Adaptation", "adapt", "skip_reason", "summarize"]
