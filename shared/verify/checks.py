"""What a comparison is made of: differences, counters, id translation and the checks
every field comparison uses (see ``compare.py`` for the walk over a scope)."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from shared.connectors.planner.mapping import attachment_source_id
from shared.contract.connector import Capabilities
from shared.contract.model import Kind, UserRef
from shared.engine.ports import IdMapEntry, ItemReport, ItemStatus
from shared.verify.documented import documented
from shared.verify.snapshot import Snapshot

TRELLO_MAX_TEXT = 16_384
PLANNER_MAX_TITLE = 255
PLANNER_MAX_CHECKLIST = 20
_FOOTER = re.compile(r"\s*\[ferry:[^\]\s]+\]\s*$")
#: failure reasons → the defect behind them (so a cascade has one name)
CAUSES = (
    ("order hint cannot be placed", "planner.task_order_hint_exhausted"),
    ("If-Match", "planner.plan_details_etag_conflict"),
)


@dataclass(frozen=True)
class Diff:
    """One difference. ``code`` names the field (never a value); ``where`` and ``detail`` may
    quote content and are for people reading a test, never for the stored report. ``kind`` and
    ``source_id`` name the source item it belongs to (None: the scope as a whole), ``dest_id``
    a destination item no source item explains."""

    code: str
    where: str
    detail: str
    kind: Kind | None = None
    source_id: str | None = None
    dest_id: str | None = None

    def __str__(self) -> str:
        return f"[{self.code}] {self.where}: {self.detail}"


@dataclass
class Comparison:
    diffs: list[Diff] = field(default_factory=list)
    rules: Counter[str] = field(default_factory=Counter)  # documented adaptations used
    matched: Counter[str] = field(default_factory=Counter)  # fields found equal

    def codes(self) -> set[str]:
        return {d.code for d in self.diffs}


def reader_id(dest: str, kind: Kind, dest_id: str) -> str:
    """The id the destination reader gives an item the writer reported as ``dest_id``."""
    if dest in ("trello", "monday") and kind is Kind.ATTACHMENT and ":" in dest_id:
        return dest_id.partition(":")[2]  # "card:attachment", "item:asset", "link:update"
    if dest == "planner":
        if kind is Kind.LABEL:
            return dest_id.replace("|", ":", 1)  # "{plan}|categoryN" → "{plan}:categoryN"
        if kind is Kind.COMMENT:
            return dest_id.rsplit("|", 1)[-1]  # "{group}|{thread}|{post}"
        if kind is Kind.ATTACHMENT:
            task, _, key = dest_id.partition("|")
            return attachment_source_id(task, key)
    return dest_id


def _emails(users: tuple[UserRef, ...] | list[UserRef]) -> set[str]:
    return {(u.email or "").lower() for u in users if u.email}


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _increasing(values: list[float]) -> bool:
    """Strictly increasing: equal positions leave the order to chance."""
    return all(a < b for a, b in itertools.pairwise(values))


def _short(text: str, n: int = 70) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


class Checks:
    """State and primitive checks of one comparison (one migrated scope)."""

    def __init__(
        self,
        src: Snapshot,
        dst: Snapshot,
        entries: dict[tuple[Kind, str], IdMapEntry],
        rows: list[ItemReport],
        dest_people: set[str],
    ) -> None:
        self.src, self.dst, self.dest = src, dst, dst.vendor
        #: what the destination holds: the checks ask it rather than the vendor's name
        self.caps = dst.capabilities or Capabilities(vendor=dst.vendor)
        self.rows = {(r.kind, r.source_id): r for r in rows if r.status in (ItemStatus.FAILED, ItemStatus.SKIPPED)}
        self.people = dest_people
        self.out = Comparison()
        self.map: dict[tuple[Kind, str], str] = {
            key: reader_id(self.dest, key[0], e.dest_id) for key, e in entries.items() if e.dest_id
        }
        self.collided: set[str] = set()
        self.at: tuple[Kind, str] | None = None  # the source item being compared

    # -- helpers -----------------------------------------------------------------------

    def diff(self, code: str, where: str, detail: str, *, dest_id: str | None = None) -> None:
        kind, sid = self.at if self.at is not None else (None, None)
        self.out.diffs.append(Diff(code, where, detail, kind, sid, dest_id))

    def item(self, kind: Kind | None, sid: str | None = None) -> None:
        """The source item the next differences belong to (None: the scope)."""
        self.at = (kind, sid) if kind is not None and sid is not None else None

    def rule(self, rule: str, where: str, detail: str) -> bool:
        """Use documented ``rule`` (counted) or, if undocumented here, record a Diff."""
        if documented(self.dest, rule):
            self.out.rules[rule] += 1
            return True
        self.diff(rule, where, f"undocumented for {self.dest}: {detail}")
        return False

    def unordered(self, rule: str, where: str) -> bool:
        """Whether the destination documents that it does not keep this order."""
        return documented(self.dest, rule) and self.rule(rule, where, "order not kept")

    def same(self, what: str, where: str, want: object, got: object) -> bool:
        """Equal values count in ``matched`` (empty ones under ``<what>:empty``)."""
        if want == got:
            self.out.matched[what if want not in (None, "", (), [], set(), Counter()) else f"{what}:empty"] += 1
            return True
        self.diff(what, where, f"want {want!r}, got {got!r}")
        return False

    def cause(self, kind: Kind, sid: str) -> str:
        row = self.rows.get((kind, sid))
        if row is None:
            return "never written"
        reason = row.reason or ""
        if "its task was not migrated" in reason or "parent" in reason:
            parent = self.src.comments.get(sid) or self.src.attachments.get(sid)
            task_id = getattr(parent, "task_id", None) or getattr(self.src.tasks.get(sid), "parent_id", None)
            if task_id and (Kind.TASK, task_id) in self.rows:
                return self.cause(Kind.TASK, task_id)
        return next((name for needle, name in CAUSES if needle in reason), reason[:80])

    def pair(self, kind: Kind, sid: str, where: str) -> Any:
        """The destination record of source ``sid``, or None (recorded as a Diff)."""
        self.item(kind, sid)
        dest_id = self.map.get((kind, sid))
        if dest_id is None:
            self.diff(f"not_migrated:{self.cause(kind, sid)}", where, f"{kind} not in the destination")
            return None
        rec = self.dst.of(kind).get(dest_id)
        if rec is None:
            if (
                kind is Kind.LABEL
                and documented(self.dest, "label.unused_not_read")
                and not any(lab.source_id == sid for t in self.src.tasks.values() for lab in t.labels)
            ):
                self.rule("label.unused_not_read", where, "unused label not read back")
            else:
                self.diff(f"{kind}.unreadable", where, f"written as {dest_id}, not read back")
        return rec
