"""What a run log line may hold: ids, events, codes and counters, never item content.

A line is built only from typed fields, so the easy way to log is also the safe way:

* `event` is a `LogEvent` (or a dotted identifier such as `connector.page`): no sentences;
* `kind` is a canonical record kind, ids are vendor/Ferry identifiers (no whitespace, at
  most 512 characters): a title or a body does not fit through them by accident;
* an exception is logged by its type, problem slug and HTTP status only — never its text,
  which vendors fill with titles and file names (`Task "Salaries 2026.xlsx" not found`);
* `message` is for Ferry-authored text only; it is redacted and truncated like every
  other string, as a second net.

Levels order debug < info < warning < error; filters take a minimum level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contract.connector import MAX_ID_CHARS, RECORD_ID
from shared.logs.redaction import redact, redact_obj

MAX_MESSAGE_CHARS = 500
_ID = RECORD_ID
_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
_COUNTER = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {LogLevel.DEBUG: 10, LogLevel.INFO: 20, LogLevel.WARNING: 30, LogLevel.ERROR: 40}


class LogEvent(StrEnum):
    """Events the engine writes. Other dotted identifiers are accepted too."""

    RUN_PLANNED = "run.planned"
    RUN_STARTED = "run.started"
    RUN_PAUSED = "run.paused"
    RUN_RESUMED = "run.resumed"
    RUN_CANCELLED = "run.cancelled"
    RUN_FINISHED = "run.finished"
    RUN_FAILED = "run.failed"
    CHUNK_STARTED = "chunk.started"
    CHUNK_FINISHED = "chunk.finished"
    CHUNK_DEFERRED = "chunk.deferred"
    CHUNK_STALE = "chunk.stale"
    ITEM_CREATED = "item.created"
    ITEM_UPDATED = "item.updated"
    ITEM_RECONCILED = "item.reconciled"
    ITEM_UNCHANGED = "item.unchanged"
    ITEM_SKIPPED = "item.skipped"
    ITEM_FAILED = "item.failed"
    ITEM_ADAPTED = "item.adapted"
    ITEM_DELETED_AT_SOURCE = "item.deleted_at_source"
    ITEM_WOULD_CREATE = "item.would_create"
    ITEM_WOULD_UPDATE = "item.would_update"
    ITEM_VERIFIED = "item.verified"  # verify: there and faithful
    ITEM_MISSING = "item.missing"
    ITEM_DUPLICATE = "item.duplicate"
    ITEM_DIFFERENT = "item.different"
    ITEM_UNEXPECTED = "item.unexpected"
    REMOTE_THROTTLED = "remote.throttled"
    REMOTE_RETRY = "remote.retry"
    REMOTE_AUTH_REQUIRED = "remote.auth_required"


#: engine ItemStatus value → (event, level), for `RunLogWriter.report`
ITEM_STATUS_EVENTS: Mapping[str, tuple[LogEvent, LogLevel]] = {
    "created": (LogEvent.ITEM_CREATED, LogLevel.INFO),
    "updated": (LogEvent.ITEM_UPDATED, LogLevel.INFO),
    "reconciled": (LogEvent.ITEM_RECONCILED, LogLevel.INFO),
    "unchanged": (LogEvent.ITEM_UNCHANGED, LogLevel.DEBUG),
    "skipped": (LogEvent.ITEM_SKIPPED, LogLevel.WARNING),
    "failed": (LogEvent.ITEM_FAILED, LogLevel.ERROR),
    "deleted_at_source": (LogEvent.ITEM_DELETED_AT_SOURCE, LogLevel.INFO),
    "would_create": (LogEvent.ITEM_WOULD_CREATE, LogLevel.INFO),
    "would_update": (LogEvent.ITEM_WOULD_UPDATE, LogLevel.INFO),
    "ok": (LogEvent.ITEM_VERIFIED, LogLevel.DEBUG),
    "missing": (LogEvent.ITEM_MISSING, LogLevel.ERROR),
    "duplicate": (LogEvent.ITEM_DUPLICATE, LogLevel.ERROR),
    "different": (LogEvent.ITEM_DIFFERENT, LogLevel.WARNING),
    "unexpected": (LogEvent.ITEM_UNEXPECTED, LogLevel.WARNING),
}


class ErrorInfo(BaseModel):
    """An exception as a log line may show it: its class, problem slug and status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    slug: str | None = None
    status: int | None = None
    retryAfter: float | None = None

    @classmethod
    def of(cls, exc: BaseException) -> ErrorInfo:
        """Only the shape of `exc`: str(exc) is never read (vendors put content in it)."""
        retry_after = getattr(exc, "retry_after", None)
        status = getattr(exc, "status", None)
        return cls(
            type=type(exc).__name__[:100],
            slug=getattr(exc, "slug", None),
            status=status if isinstance(status, int) else None,
            retryAfter=float(retry_after) if isinstance(retry_after, (int, float)) else None,
        )


def _check_id(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"{name} must be an identifier (no whitespace, 1-{MAX_ID_CHARS} chars)")
    return redact(value)


class LogLine(BaseModel):
    """One structured line, as stored (NDJSON) and as served."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: datetime
    level: LogLevel
    event: str
    kind: str | None = None
    sourceId: str | None = None
    destId: str | None = None
    scope: str | None = None
    phase: str | None = None
    code: str | None = None
    error: ErrorInfo | None = None
    counts: dict[str, int] | None = None
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS + 3)

    @field_validator("event")
    @classmethod
    def _event(cls, v: str) -> str:
        if not _EVENT.match(v):
            raise ValueError("event must be a dotted identifier such as item.created")
        return v

    @field_validator("sourceId", "destId", "scope")
    @classmethod
    def _ids(cls, v: str | None) -> str | None:
        return _check_id(v, "id")

    @field_validator("kind", "phase", "code")
    @classmethod
    def _codes(cls, v: str | None) -> str | None:
        if v is not None and not _CODE.match(v):
            raise ValueError("must be a short lowercase code")
        return v

    @field_validator("counts")
    @classmethod
    def _counts(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        if v is None:
            return None
        if len(v) > 50 or not all(_COUNTER.match(k) for k in v):
            raise ValueError("counts: at most 50 counters named like identifiers")
        return v

    @field_validator("message")
    @classmethod
    def _message(cls, v: str | None) -> str | None:
        if v is None:
            return None
        text = redact(" ".join(v.split()))
        return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "..."

    def to_json(self) -> str:
        """Compact JSON without nulls; redacted once more as a whole (second net)."""
        body = self.model_dump(mode="json", exclude_none=True)
        return redact_json(body)


def redact_json(body: Mapping[str, Any]) -> str:
    import json

    return json.dumps(redact_obj(dict(body)), separators=(",", ":"), ensure_ascii=False)


def is_code(value: str | None) -> bool:
    """True when `value` looks like a machine reason code (`over_size_limit`)."""
    return bool(value) and bool(_CODE.match(value or ""))
