"""Seeded run logs for the assistant's tests: two orgs with similar Trello → Asana runs.

Lines are what RunLogWriter stores (LogLine JSON): ids, events, codes, counts, never
content. Each org has its own ids (prefixed by `tag`), so a citation names its org.
"""

from __future__ import annotations

from typing import Any

ORG_A = "org_eu_alphaalphaalphaalph1"
ORG_B = "org_eu_bravobravobravobrav2"
ORG_US = "org_us_charliecharliecharl3"


def _t(minute: int) -> str:
    return f"2026-11-20T10:{minute:02d}:00Z"


def item(
    event: str,
    kind: str,
    source: str,
    *,
    level: str = "info",
    code: str | None = None,
    scope: str = "board1",
    dest: str | None = None,
    minute: int = 5,
    message: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "time": _t(minute),
        "level": level,
        "event": event,
        "kind": kind,
        "sourceId": source,
        "scope": scope,
    }
    if code:
        line["code"] = code
    if dest:
        line["destId"] = dest
    if message:
        line["message"] = message
    if error:
        line["error"] = error
    return line


def run_lines(tag: str) -> dict[str, list[dict[str, Any]]]:
    """Three runs of one org: a dry run, a full run, a verify. Ids carry `tag`."""
    full = f"run_{tag}_full01"
    dry = f"run_{tag}_dry001"
    verify = f"run_{tag}_verify1"
    board = f"{tag}board1"
    lines: list[dict[str, Any]] = [
        {"time": _t(0), "level": "info", "event": "run.started", "scope": board, "phase": "project"},
        item("item.created", "project", f"{tag}proj1", dest=f"{tag}dproj1", scope=board),
    ]
    for n in range(12):  # cards with a start date: Asana keeps it in the description
        lines.append(
            item("item.adapted", "task", f"{tag}card{n:02d}", code="task.start_date_in_description", scope=board)
        )
    for n in range(3):  # attachments over the destination's size limit
        lines.append(
            item(
                "item.skipped",
                "attachment",
                f"{tag}att{n}",
                level="warning",
                code="attachment.too_large",
                scope=board,
                minute=7,
            )
        )
    lines.append(
        item(
            "item.skipped",
            "attachment",
            f"{tag}link1",
            level="warning",
            code="attachment.link_unsupported",
            scope=board,
            minute=7,
        )
    )
    lines.append(
        item(
            "item.failed",
            "comment",
            f"{tag}comment7",
            level="error",
            scope=board,
            minute=8,
            error={"type": "ThrottledError", "slug": "too-many-requests", "status": 429},
        )
    )
    lines.append(
        item(
            "item.failed",
            "task",
            f"{tag}card99",
            level="error",
            scope=board,
            minute=8,
            message="the destination refused the task: section not found",
            error={"type": "FatalItemError", "slug": "not-found", "status": 404},
        )
    )
    lines.append(item("item.adapted", "task", f"{tag}card50", code="task.checklists_as_subtasks", scope=board))
    lines.append(item("item.adapted", "comment", f"{tag}comment3", code="comment.author_prepended", scope=board))
    lines.append(item("item.adapted", "task", f"{tag}card60", code="task.due_time_dropped", scope=board))
    lines.append(item("item.adapted", "task", f"{tag}card61", code="task.labels_in_description", scope=board))
    lines.append(item("item.adapted", "task", f"{tag}card62", code="task.assignees_truncated", scope=board))
    lines.append(item("item.adapted", "task", f"{tag}card63", code="task.subtask_flattened", scope=board))
    lines.append(item("item.adapted", "task", f"{tag}card64", code="task.archived_dropped", scope=board))
    lines.append(
        {
            "time": _t(30),
            "level": "warning",
            "event": "run.finished",
            "code": "partially_succeeded",
            "counts": {
                "task.created": 120,
                "comment.created": 40,
                "attachment.skipped": 4,
                "task.failed": 1,
                "comment.failed": 1,
                "adapt.task.start_date_in_description": 12,
            },
        }
    )
    dry_lines = [
        {"time": _t(1), "level": "info", "event": "run.started", "scope": board, "phase": "project"},
        item("item.would_create", "task", f"{tag}card10", scope=board),
        {
            "time": _t(2),
            "level": "info",
            "event": "run.finished",
            "code": "succeeded",
            "counts": {
                "task.would_create": 120,
                "adapt.task.start_date_in_description": 12,
                "adapt.task.labels_in_description": 5,
            },
        },
    ]
    verify_lines = [
        item("item.missing", "task", f"{tag}card77", level="error", scope=board, minute=40),
        item(
            "item.different",
            "task",
            f"{tag}card78",
            level="warning",
            scope=board,
            minute=40,
            message="different: task.name",
        ),
        {
            "time": _t(45),
            "level": "warning",
            "event": "run.finished",
            "code": "partially_succeeded",
            "counts": {"task.ok": 118, "task.missing": 1, "task.different": 1},
        },
    ]
    return {full: lines, dry: dry_lines, verify: verify_lines}
