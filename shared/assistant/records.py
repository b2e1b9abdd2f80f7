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
    sourceIds: str = ""  # a grouped record's items, space-separated (at most MAX_LISTED_IDS)
    event: str = ""
    code: str = ""
    level: str = ""
    time: str = ""
    section: str = ""
    vector: list[float] = field(default_factory=list)
    #: What the vector is computed from: the content without its ids (run, item, scope and
    #: destination ids), or the content itself when empty. Ids mean nothing to an embedding
    #: model and the keyword ranking finds them (hybrid search, index.py), so the items of a
    #: run share a handful of distinct sentences: each is embedded once per process
    #: (indexer.VectorCache), instead of every record paying a model call for its ids —
    #: measured at ~40 % of a worker's CPU locally (issue 19), an Azure OpenAI call in Azure.
    #: Not a field of the index (``to_doc`` leaves it out).
    meaning: str = ""

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.pop("meaning")
        return doc

    @property
    def vector_text(self) -> str:
        return self.meaning or self.content

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SearchRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in names})

    def citation(self) -> dict[str, Any]:
        """How an answer cites this record: run id and item source id, or a doc section."""
        if self.type == "doc":
            return {"type": "doc", "section": self.section}
        out: dict[str, Any] = {"type": self.type, "runId": self.runId}
        if self.sourceId:
            out |= {"kind": self.kind, "sourceId": self.sourceId}
        if self.sourceIds:
            out["sourceIds"] = self.sourceIds.split()
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


_OUTCOME_WORDS = {
    "succeeded": " (the run succeeded: every item is in the report)",
    "partially_succeeded": " (the run partially succeeded: some items failed, were skipped or differ)",
    "failed": " (the run failed)",
    "cancelled": " (the run was cancelled)",
    "paused": " (the run is paused)",
}
_STATUS_WORDS = {
    401: "sign-in required",
    403: "forbidden",
    404: "not found",
    409: "conflict",
    413: "too large",
    429: "rate limited: too many requests, throttled by the vendor",
}


def _plural(words: str) -> str:
    """An item event's words for several items ("was created" → "were created")."""
    head, _, rest = words.partition(" ")
    head = {"was": "were", "is": "are", "differs": "differ"}.get(head, head)
    return f"{head} {rest}" if rest else head


def _status_words(status: Any) -> str:
    if not isinstance(status, int):
        return ""
    words = _STATUS_WORDS.get(status) or ("vendor server error" if status >= 500 else "")
    return f" ({words})" if words else ""


def _kind_of_run(counts: Mapping[str, int]) -> str:
    """What the counters say the run was (log lines do not carry the run's mode)."""
    names = " ".join(counts)
    if "would_" in names:
        return "This was a dry run: a prediction of what a migration would do; nothing was written."
    if any(name.endswith((".ok", ".missing", ".different", ".duplicate", ".unexpected")) for name in counts):
        return "This was a verify run: it compared the source and the destination and found these verdicts."
    return ""


def _counts_text(counts: Mapping[str, int]) -> str:
    parts = []
    for name, n in sorted(counts.items()):
        if name.startswith(("adapt.", "skip.")):
            parts.append(f"{n} × {describe_code(name)} ({name})")
        else:
            parts.append(f"{name.replace('.', ' ')}: {n}")
    return "; ".join(parts)


#: Item events that are the normal course of a run: one record per (event, kind, code) group
#: of a batch of lines, listing the items, instead of one per item (a board of 5,000 cards
#: is a handful of records to embed, not 5,000). Defects and skips stay one record per item.
GROUPED_EVENTS = frozenset(
    {
        "item.created",
        "item.updated",
        "item.reconciled",
        "item.adapted",
        "item.deleted_at_source",
        "item.would_create",
        "item.would_update",
        "item.deleted",
        "item.kept",
    }
)
MAX_LISTED_IDS = 40


def records_from_lines(
    tenant_id: str, run_id: str, lines: Iterable[Mapping[str, Any]], *, mode: str | None = None
) -> list[SearchRecord]:
    """The records of some log lines of one run (lines as stored: LogLine JSON)."""
    out: dict[str, SearchRecord] = {}
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for line in lines:
        event = str(line.get("event") or "")
        if event in GROUPED_EVENTS and line.get("sourceId"):
            key = (event, str(line.get("kind") or "item"), str(line.get("code") or ""))
            groups.setdefault(key, []).append(line)
            continue
        record = _record(tenant_id, run_id, line, mode)
        if record is not None:
            out[record.id] = record  # the last line about a thing wins (its newest state)
    for (event, kind, code), members in groups.items():
        record = (
            _record(tenant_id, run_id, members[0], mode)
            if len(members) == 1
            else _group_record(tenant_id, run_id, event, kind, code, members, mode)
        )
        if record is not None:
            out[record.id] = record
    return list(out.values())


def _group_record(
    tenant_id: str, run_id: str, event: str, kind: str, code: str, members: list[Mapping[str, Any]], mode: str | None
) -> SearchRecord:
    """One record for several items of a batch that had the same event, kind and code; its
    id is derived from the ids it lists, so the same batch indexed again is the same record."""
    ids = list(dict.fromkeys(str(m["sourceId"]) for m in members))
    scopes = sorted({str(m["scope"]) for m in members if m.get("scope")})
    run_words = f"Run {run_id}" + (f" ({mode})" if mode else "")
    listed = ", ".join(ids[:MAX_LISTED_IDS]) + (
        f" and {len(ids) - MAX_LISTED_IDS} more" if len(ids) > MAX_LISTED_IDS else ""
    )
    happened = _plural(_ITEM_EVENTS[event])
    text = [f"{run_words}: {len(ids)} {kind} items {happened}."]
    meaning = [f"{kind} items {happened}."]
    if code:
        text.append(f"Reason: {describe_code(code)} ({code}).")
        meaning.append(text[-1])
    if scopes:
        text.append(f"Scope (board, project or plan) {', '.join(scopes[:5])}.")
    text.append(f"Source ids: {listed}.")
    return SearchRecord(
        id=record_id(tenant_id, run_id, event, kind, code, "group", *ids),
        tenantId=tenant_id,
        requires=LOGS_READ,
        type="item",
        content=" ".join(text),
        runId=run_id,
        kind=kind,
        sourceId=ids[0],
        sourceIds=" ".join(ids[:MAX_LISTED_IDS]),
        event=event,
        code=code,
        level=str(members[-1].get("level") or "info"),
        time=str(members[-1].get("time") or ""),
        meaning=" ".join(meaning),
    )


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
        meaning = [f"{kind} item {_ITEM_EVENTS[event]}."]
        if line.get("scope"):
            text.append(f"Scope (board, project or plan) {line['scope']}.")
        if line.get("destId"):
            text.append(f"Destination id {line['destId']}.")
        if code:
            text.append(f"Reason: {describe_code(code)} ({code}).")
            meaning.append(text[-1])
        if error:
            text.append(
                f"Error: {error.get('type', '')} {error.get('slug') or ''} status {error.get('status') or 'none'}"
                f"{_status_words(error.get('status'))}."
            )
            meaning.append(text[-1])
        if message:
            text.append(f"Note: {message}")
            meaning.append(text[-1])
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
            meaning=" ".join(meaning),
        )
    if event in _RUN_EVENTS:
        text = [f"{run_words} {_RUN_EVENTS[event]} at {time}."]
        if event == "run.started":
            text.append("The migration run began" + (f" with scope {line['scope']}" if line.get("scope") else "") + ".")
        if code:
            text.append(f"Status: {_words(code)}{_OUTCOME_WORDS.get(code, '')}.")
        kind_of_run = _kind_of_run(line.get("counts") or {})
        if kind_of_run:
            text.append(kind_of_run)
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
