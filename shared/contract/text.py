"""The text conventions Ferry writes into destinations, shared by the engine, the writers
and verify: source markers and their description footer, the line a flattened subtask gets,
comment headers, and the name of a label that has none."""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import date

from shared.contract.connector import Adaptation
from shared.contract.model import Comment, Kind, Label, Task

# --- adaptations writers share ------------------------------------------------------------

#: name given to a label that has neither a name nor a colour
UNNAMED_LABEL = "Unnamed label"


def name_nameless_label(label: Label) -> tuple[Label, list[Adaptation]]:
    """A label without a name (Trello's colour-only labels) named after its colour, with a
    ``label.renamed_empty`` note, for destinations that need a name (Asana tags, Planner
    categories; Trello's API documents the name as a required, non-empty parameter)."""
    if label.name.strip():
        return label, []
    name = label.color or UNNAMED_LABEL
    note = Adaptation(
        kind=Kind.LABEL,
        code="label.renamed_empty",
        message=f"a label without a name is named {name!r} (its colour)"
        if label.color
        else f"a label without a name or colour is named {name!r}",
    )
    return label.model_copy(update={"name": name}), [note]


def start_date_line(day: date) -> str:
    """The description line that keeps a start date the destination does not hold (the
    engine's adaptation, Asana's and Jira's writers; verify expects it)."""
    return f"Start date: {day.isoformat()}"


def start_date_in_description(task: Task, message: str) -> tuple[Task, list[Adaptation]]:
    """A writer's own ``task.start_date_in_description``: the start date leaves the task for
    a last line of its description (Asana: a start after the due date; Jira: a site without
    a start date field)."""
    if task.start_on is None:
        return task, []
    text = f"{task.description.rstrip()}\n\n{start_date_line(task.start_on)}".lstrip()
    note = Adaptation(kind=Kind.TASK, code="task.start_date_in_description", message=message)
    return task.model_copy(update={"description": text, "start_on": None}), [note]


#: the line the engine adds to a subtask the destination cannot hold as one (adapt.py)
FLATTENED_LINE = "Originally a subtask."

#: a comment header as the engine writes it ("Ada <ada@x.org> wrote on 2025-05-01 09:30
#: UTC:" or "Written on …:"): the dated forms, which a person hardly types as a first line
_COMMENT_HEADER = re.compile(r"^(?:.+ wrote on|Written on) \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC:$")
_ANY_HEADER = re.compile(
    r"^(?:.+ wrote(?: on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC)?|"
    r"Written on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC):$"
)


def name_flattened_parent(description: str, parent_name: str) -> str:
    """The engine's ``FLATTENED_LINE`` (its last occurrence) naming the parent task."""
    lines = description.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] == FLATTENED_LINE:
            lines[i] = f'Originally a subtask of "{parent_name}".'
            break
    return "\n".join(lines)


def unstack_comment_header(comment: Comment) -> Comment:
    """A comment that Ferry already moved once starts with its original author's header;
    on a second hop the engine puts the (then) writing account's header on top of it. Keep
    the original one only: "Bob wrote on …:" stays the first line, not the second."""
    outer, sep, rest = comment.text.partition("\n\n")
    inner = rest.partition("\n")[0]
    if sep and _ANY_HEADER.match(outer) and _COMMENT_HEADER.match(inner):
        return comment.model_copy(update={"text": rest})
    return comment


# --- markers ---------------------------------------------------------------------------

MARKER_PREFIX = "ferry"


@functools.lru_cache(maxsize=4096)
def make_marker(migration_id: str, kind: Kind, source_id: str) -> str:
    """A short, stable marker: ``ferry:<migration 8>:<kind>:<sha256(source id) 16>``.

    Stable across runs of one migration (so a re-run finds items of an earlier run) and
    free of vendor ids (so it is safe to show in a description footer). Cached: the engine
    asks for an item's marker several times while it writes the item.
    """
    digest = hashlib.sha256(source_id.encode()).hexdigest()[:16]
    mig = "".join(ch for ch in migration_id if ch.isalnum())[:8] or "x"
    return f"{MARKER_PREFIX}:{mig}:{kind.value}:{digest}"


def marker_footer(marker: str) -> str:
    """The text a DESCRIPTION_FOOTER writer appends (and searches for)."""
    return f"\n\n[{marker}]"


def strip_marker_footer(text: str) -> str:
    """Remove a footer written by ``marker_footer`` (for readers that round-trip text)."""
    idx = text.rfind(f"\n\n[{MARKER_PREFIX}:")
    if idx >= 0 and text.endswith("]"):
        return text[:idx]
    return text
