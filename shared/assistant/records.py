"""What the assistant indexes: one `SearchRecord` per run event, item event or doc passage.

Records are built from run log lines only, and a log line holds ids, events, codes,
counters and Ferry-authored messages, never item content (shared/logs/model.py). So the
index cannot hold a title or a comment either: the text of a record is Ferry's own
sentence around those ids and codes.

Every record carries `tenantId` (the org, or `SHARED_TENANT` for Ferry's documentation)
and `requires`, the permission a caller needs to see it (`logs.read` for run records,
`public` for docs); queries filter on both in the search service itself (retrieve.py).
Record ids are digests of what the record is *about* (tenant, run, event, item, code), so
indexing the same line twice upserts the same document.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SHARED_TENANT = "_ferry"  # not an org id: org ids start with a letter or digit
PUBLIC = "public"
LOGS_READ = "logs.read"

#: Item events worth an answer; debug-level ones (unchanged, verified ok) are not indexed.
_ITEM_EVENTS = {
    "item.created": "was created at the destination",
    "item.updated": "was updated at the destination",
    "item.reconciled": "was found at the destination and reconciled",
    "item.skipped": "was skipped",
    "item.failed": "failed",
    "item.adapted": "was adapted",
    "item.deleted_at_source": "was deleted at the source",
    "item.would_create": "would be created (dry run)",
    "item.would_update": "would be updated (dry run)",
    "item.missing": "is missing at the destination (verify)",
    "item.duplicate": "is duplicated at the destination (verify)",
    "item.different": "differs at the destination (verify)",
    "item.unexpected": "is at the destination without a source item (verify)",
    "item.deleted": "was deleted by a rollback",
    "item.kept": "was kept by a rollback",
}
_RUN_EVENTS = {
    "run.planned": "was planned",
    "run.started": "started",
    "run.paused": "was paused",
    "run.resumed": "was resumed",
    "run.cancelled": "was cancelled",
    "run.finished": "finished",
    "run.failed": "failed",
    "remote.auth_required": "stopped because the vendor asked to sign in again",
    "verify.not_started": "could not start its follow-up verify",
}
_RUN_SUMMARY_EVENTS = ("run.finished", "run.failed", "run.cancelled", "run.paused")


@dataclass(frozen=True)
class SearchRecord:
    """One document of the assistant's index (the Azure index schema has the same fields)."""

    id: str
    tenantId: str
    requires: str
    type: str  # run | item | doc
    content: str
    runId: str = ""
    kind: str = ""
    sourceId: str = ""
    event: str = ""
    code: str = ""
    level: str = ""
    time: str = ""
    section: str = ""
    vector: list[float] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SearchRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in names})

    def citation(self) -> dict[str, str]:
        """How an answer cites this record: run id and item source id, or a doc section."""
        if self.type == "doc":
            return {"type": "doc", "section": self.section}
        out = {"type": self.type, "runId": self.runId}
        if self.sourceId:
            out |= {"kind": self.kind, "sourceId": self.sourceId}
        return out


def record_id(*parts: str) -> str:
    """A stable document key (Azure AI Search keys allow letters, digits, `-`, `_`, `=`)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]


def _words(code: str) -> str:
    return re.sub(r"[._:-]+", " ", code).strip()


def describe_code(code: str) -> str:
    """A code in words, with Ferry's own sentence for adaptation codes when it has one."""
    from shared.engine.adapt import SUMMARIES

    bare = code.removeprefix("adapt.").removeprefix("skip.")
    summary = SUMMARIES.get(bare)
    if summary:
        sentence = summary.replace("{n} ", "").replace("{limit}", "the limit")
        return f"{_words(bare)}: {sentence}"
    return _words(bare)


def _counts_text(counts: Mapping[str, int]) -> str:
    parts = []
    for name, n in sorted(counts.items()):
        if name.startswith(("adapt.", "skip.")):
            parts.append(f"{n} × {describe_code(name)} ({name})")
        else:
            parts.append(f"{name.replace('.', ' ')}: {n}")
    return "; ".join(parts)


def records_from_lines(
    tenant_id: str, run_id: str, lines: Iterable[Mapping[str, Any]], *, mode: str | None = None
) -> list[SearchRecord]:
    """The records of some log lines of one run (lines as stored: LogLine JSON)."""
    out: dict[str, SearchRecord] = {}
    for line in lines:
        record = _record(tenant_id, run_id, line, mode)
        if record is not None:
            out[record.id] = record  # the last line about a thing wins (its newest state)
    return list(out.values())


def _record(tenant_id: str, run_id: str, line: Mapping[str, Any], mode: str | None) -> SearchRecord | None:
    event = str(line.get("event") or "")
    level = str(line.get("level") or "info")
    time = str(line.get("time") or "")
    code = str(line.get("code") or "")
    message = str(line.get("message") or "")
    error = line.get("error") or {}
    run_words = f"Run {run_id}" + (f" ({mode})" if mode else "")
    if event in _ITEM_EVENTS and line.get("sourceId"):
        kind, source_id = str(line.get("kind") or "item"), str(line["sourceId"])
        text = [f"{run_words}: {kind} {source_id} {_ITEM_EVENTS[event]}."]
        if line.get("scope"):
            text.append(f"Scope (board, project or plan) {line['scope']}.")
        if line.get("destId"):
            text.append(f"Destination id {line['destId']}.")
        if code:
            text.append(f"Reason: {describe_code(code)} ({code}).")
        if error:
            text.append(
                f"Error: {error.get('type', '')} {error.get('slug') or ''} status {error.get('status') or 'none'}."
            )
        if message:
            text.append(f"Note: {message}")
        key = record_id(tenant_id, run_id, event, kind, source_id, code)
        return SearchRecord(
            id=key,
            tenantId=tenant_id,
            requires=LOGS_READ,
            type="item",
            content=" ".join(text),
            runId=run_id,
            kind=kind,
            sourceId=source_id,
            event=event,
            code=code,
            level=level,
            time=time,
        )
    if event in _RUN_EVENTS:
        text = [f"{run_words} {_RUN_EVENTS[event]} at {time}."]
        if code:
            text.append(f"Status: {_words(code)}.")
        if message:
            text.append(f"Reason: {message}")
        counts = line.get("counts") or {}
        if counts:
            text.append(f"Counts: {_counts_text(counts)}.")
        # A run's final summary replaces the previous one; other run events each have their own.
        key = (
            record_id(tenant_id, run_id, "summary")
            if event in _RUN_SUMMARY_EVENTS
            else record_id(tenant_id, run_id, event, time)
        )
        return SearchRecord(
            id=key,
            tenantId=tenant_id,
            requires=LOGS_READ,
            type="run",
            content=" ".join(text),
            runId=run_id,
            event=event,
            code=code,
            level=level,
            time=time,
        )
    return None
