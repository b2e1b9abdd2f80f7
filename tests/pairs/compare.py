"""Field-by-field comparison of a migrated scope: source snapshot vs destination snapshot.

Items are paired through the run's id map (source id → destination id, normalised to the
id the destination READER gives the item). For every field the expected destination value
is derived from the source value and the destination's documented adaptations
(``documented.DOCUMENTED``); a difference that no documented rule explains becomes a
``Diff`` whose ``code`` names it. Rules used are counted in ``Comparison.rules``.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from shared.connectors.asana.mapping import asana_color
from shared.connectors.base import strip_marker_footer
from shared.connectors.planner.mapping import attachment_source_id
from shared.connectors.trello.mapping import trello_color
from shared.engine.model import Comment, Kind, Task, UserRef
from shared.engine.ports import IdMapEntry, ItemReport, ItemStatus
from tests.pairs.documented import documented
from tests.pairs.snapshot import Snapshot

TRELLO_MAX_TEXT = 16_384
PLANNER_MAX_TITLE = 255
PLANNER_MAX_CHECKLIST = 20
_FOOTER = re.compile(r"\s*\[ferry:[^\]\s]+\]\s*$")
#: failure reasons → the defect behind them (so a cascade has one name)
CAUSES = (("order hint cannot be placed", "planner.task_order_hint_exhausted"),
          ("If-Match", "planner.plan_details_etag_conflict"))


@dataclass(frozen=True)
class Diff:
    code: str
    where: str
    detail: str

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
    if dest == "trello" and kind is Kind.ATTACHMENT:
        return dest_id.partition(":")[2]  # "card:attachment"
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


class Comparer:
    """Compares one migrated scope; call ``run()`` once."""

    def __init__(self, src: Snapshot, dst: Snapshot, entries: dict[tuple[Kind, str], IdMapEntry],
                 rows: list[ItemReport], dest_people: set[str]) -> None:
        self.src, self.dst, self.dest = src, dst, dst.vendor
        self.rows = {(r.kind, r.source_id): r for r in rows
                     if r.status in (ItemStatus.FAILED, ItemStatus.SKIPPED)}
        self.people = dest_people
        self.out = Comparison()
        self.map: dict[tuple[Kind, str], str] = {
            key: reader_id(self.dest, key[0], e.dest_id) for key, e in entries.items()
            if e.dest_id}
        self.collided: set[str] = set()

    # -- helpers -----------------------------------------------------------------------

    def diff(self, code: str, where: str, detail: str) -> None:
        self.out.diffs.append(Diff(code, where, detail))

    def rule(self, rule: str, where: str, detail: str) -> bool:
        """Use documented ``rule`` (counted) or, if undocumented here, record a Diff."""
        if documented(self.dest, rule):
            self.out.rules[rule] += 1
            return True
        self.diff(rule, where, f"undocumented for {self.dest}: {detail}")
        return False

    def same(self, what: str, where: str, want: object, got: object) -> bool:
        """Equal values count in ``matched`` (empty ones under ``<what>:empty``)."""
        if want == got:
            self.out.matched[what if want not in (None, "", (), [], set(), Counter())
                             else f"{what}:empty"] += 1
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
            task_id = getattr(parent, "task_id", None) or getattr(
                self.src.tasks.get(sid), "parent_id", None)
            if task_id and (Kind.TASK, task_id) in self.rows:
                return self.cause(Kind.TASK, task_id)
        return next((name for needle, name in CAUSES if needle in reason), reason[:80])

    def pair(self, kind: Kind, sid: str, where: str) -> Any:
        """The destination record of source ``sid``, or None (recorded as a Diff)."""
        dest_id = self.map.get((kind, sid))
        if dest_id is None:
            self.diff(f"not_migrated:{self.cause(kind, sid)}", where,
                      f"{kind} not in the destination")
            return None
        rec = self.dst.of(kind).get(dest_id)
        if rec is None:
            if kind is Kind.LABEL and self.dest == "asana" and not any(
                    lab.source_id == sid for t in self.src.tasks.values() for lab in t.labels):
                self.rule("label.unused_not_read", where, "unused label not read back")
            else:
                self.diff(f"{kind}.unreadable", where, f"written as {dest_id}, not read back")
        return rec

    # -- the comparison ---------------------------------------------------------------

    def run(self) -> Comparison:
        self.project()
        self.sections()
        self.labels()
        self.tasks()
        self.comments()
        self.attachments()
        self.extras()
        return self.out

    def project(self) -> None:
        s, d = self.src.project, self.dst.project
        self.same("project.name", "project", s.name, d.name)
        want = s.description
        if self.dest == "planner" and want:
            self.rule("project.description_dropped", "project", "description dropped")
            want = ""
        self.same("project.description", "project", want, strip_marker_footer(d.description))

    def sections(self) -> None:
        placed: list[tuple[float, float, str]] = []
        for s in self.src.sections.values():
            where = f"section {s.name!r}"
            d = self.pair(Kind.SECTION, s.source_id, where)
            if d is None:
                continue
            self.same("section.name", where, s.name, d.name)
            self.same("section.archived", where, s.archived, d.archived)
            placed.append((s.position, d.position, s.name))
        placed.sort()
        if not _increasing([p[1] for p in placed]):
            self.diff("section.order", "sections", f"source order {[p[2] for p in placed]} "
                      f"not kept (positions {[p[1] for p in placed]})")

    def labels(self) -> None:
        by_dest: dict[str, list[str]] = {}
        for s in self.src.labels.values():
            dest_id = self.map.get((Kind.LABEL, s.source_id))
            if dest_id is not None:
                by_dest.setdefault(dest_id, []).append(s.source_id)
        for dest_id, sids in by_dest.items():
            if len(sids) > 1:  # several source labels written onto one destination label
                self.collided.update(sids)
                names = [self.src.labels[sid].name for sid in sids]
                self.diff("label.collision", f"label {dest_id}",
                          f"source labels {names} all became this one label")
        for s in self.src.labels.values():
            where = f"label {s.name!r}"
            d = self.pair(Kind.LABEL, s.source_id, where)
            if d is None or s.source_id in self.collided:
                continue
            self.same("label.name", where, s.name, d.name)
            want = s.color
            if self.dest == "trello":
                want = trello_color(s.color)
            elif self.dest == "asana":
                want = asana_color(s.color) or None
            got = d.color
            if self.dest == "planner":
                if got != s.color:
                    self.rule("label.color_by_category", where, f"{s.color} → {got}")
                continue
            if want != s.color:
                self.rule("label.color_mapped", where, f"{s.color} → {want}")
            self.same("label.color", where, want, got)

    # -- tasks ---------------------------------------------------------------------------

    def tasks(self) -> None:
        mapped_dest = {self.map[(Kind.TASK, sid)] for sid in self.src.tasks
                       if (Kind.TASK, sid) in self.map}
        order: dict[str | None, list[tuple[float, float, str]]] = {}
        for s in self.src.tasks.values():
            where = f"task {_short(s.name, 40)}"
            d = self.pair(Kind.TASK, s.source_id, where)
            if not isinstance(d, Task):
                continue
            self.task(s, d, where, mapped_dest)
            if not s.parent_id and s.section_id:
                order.setdefault(d.section_id, []).append((s.position, d.position, s.name))
        for section, items in order.items():
            items.sort()
            if not _increasing([i[1] for i in items]):
                self.diff("task.order", f"section {section}",
                          f"source order {[_short(i[2], 20) for i in items]} not kept")

    def task(self, s: Task, d: Task, where: str, mapped_dest: set[str]) -> None:
        dest = self.dest
        want_name = s.name
        if dest == "planner" and len(s.name) > PLANNER_MAX_TITLE:
            self.rule("task.name_truncated", where, "title cut to 255")
            want_name = s.name[:PLANNER_MAX_TITLE - 1] + "…"
        self.same("task.name", where, want_name, d.name)
        # parent / section
        if dest == "asana":
            want_parent = self.map.get((Kind.TASK, s.parent_id)) if s.parent_id else None
            self.same("task.parent", where, want_parent, d.parent_id)
        else:
            if s.parent_id:
                self.rule("task.subtask_flattened", where, "subtask made top-level")
            self.same("task.parent", where, None, d.parent_id)
        want_section = self.map.get((Kind.SECTION, s.section_id)) if s.section_id else None
        if d.section_id != want_section and want_section is None and dest == "trello":
            self.diff("task.section_default_list", where,
                      f"a task without section lands in list {d.section_id!r} "
                      f"({self.dst.sections[d.section_id].name!r})"
                      if d.section_id in self.dst.sections else "unknown list")
        else:
            self.same("task.section", where, want_section, d.section_id)
        self.same("task.completed", where, s.completed, d.completed)
        self.same("task.archived", where, s.archived, d.archived)
        lines = self.dates(s, d, where)
        lines += self.assignees(s, d, where)
        lines += self.labels_of(s, d, where)
        lines += self.checklists(s, d, where, mapped_dest)
        self.description(s, d, where, lines)

    def dates(self, s: Task, d: Task, where: str) -> list[str]:
        if s.due_at is not None:
            self.same("task.due_at", where, s.due_at, d.due_at)
        elif s.due_on is not None:
            self.same("task.due_on", where, s.due_on, d.due_on)
            if d.due_at is not None and self.rule("task.date_only_at_noon_utc", where,
                                                  f"due {s.due_on} written as {d.due_at}"):
                self.same("task.due_at", where, _noon(s.due_on), d.due_at)
        else:
            self.same("task.due_on", where, None, d.due_on)
        due = s.due_on or (s.due_at.date() if s.due_at else None)
        if (self.dest == "asana" and s.start_on is not None
                and (due is None or s.start_on > due)):
            self.rule("task.start_date_in_description", where, "start date in the notes")
            self.same("task.start_on", where, None, d.start_on)
            return [f"Start date: {s.start_on.isoformat()}"]
        self.same("task.start_on", where, s.start_on, d.start_on)
        return []

    def assignees(self, s: Task, d: Task, where: str) -> list[str]:
        people = list(s.assignees)
        lines: list[str] = []
        if self.dest == "asana" and len(people) > 1:
            self.rule("task.assignees_truncated", where, "one assignee kept")
            lines.append("Also assigned: " + ", ".join(u.label() for u in people[1:]))
            people = people[:1]
        known = [u for u in people if u.email and u.email.lower() in self.people]
        unknown = [u for u in people if u not in known]
        if unknown:
            names = ", ".join(u.label() for u in unknown)
            rule, line = {
                "trello": ("task.assignee_not_on_board", f"Assigned in the source: {names}"),
                "asana": ("task.assignee_not_in_workspace", f"Assignee (not in Asana): {names}"),
                "planner": ("task.assignee_not_in_tenant", f"Assigned in the source to: {names}"),
            }[self.dest]
            self.rule(rule, where, f"{names} named in the description")
            lines.append(line)
        self.same("task.assignees", where, _emails(known), _emails(d.assignees))
        return lines

    def labels_of(self, s: Task, d: Task, where: str) -> list[str]:
        """Label names by name; labels that were not migrated go to the description
        (the engine's generic ``task.labels_missing_in_description``)."""
        kept = [lab.name for lab in s.labels if (Kind.LABEL, lab.source_id) in self.map]
        missing = [lab.name for lab in s.labels if (Kind.LABEL, lab.source_id) not in self.map]
        got = sorted(lab.name for lab in d.labels)
        late = {lab.name for lab in s.labels if (Kind.LABEL, lab.source_id) in self.rows}
        if any(lab.source_id in self.collided for lab in s.labels):
            pass  # reported as label.collision
        elif sorted(kept) != got and set(kept) - set(got) <= late and set(got) <= set(kept):
            # labels that failed in an earlier run and exist now never reach this task
            self.diff("task.labels_stale_in_description", where,
                      f"missing {sorted(set(kept) - set(got))}, created after the task")
        else:
            self.same("task.labels", where, sorted(kept), got)
        if not missing:
            return []
        self.out.rules["task.labels_missing_in_description"] += 1  # engine, all destinations
        return ["Labels: " + ", ".join(missing)]

    def checklists(self, s: Task, d: Task, where: str, mapped_dest: set[str]) -> list[str]:
        lines: list[str] = []
        items = [(cl.name, i) for cl in s.checklists for i in cl.items]
        if self.dest == "trello":
            want = [(cl.name or "Checklist", [(i.name, i.checked) for i in cl.items])
                    for cl in s.checklists]
            self.same("task.checklists", where, want,
                      [(cl.name, [(i.name, i.checked) for i in cl.items]) for cl in d.checklists])
        elif self.dest == "planner":
            if len(items) > PLANNER_MAX_CHECKLIST:
                self.rule("task.checklist_items_truncated", where, "over 20 items")
                lines += [f"{n}: [{'x' if i.checked else ' '}] {i.name}"
                          for n, i in items[PLANNER_MAX_CHECKLIST:]]
                items = items[:PLANNER_MAX_CHECKLIST]
            several = len({n for n, _ in items}) > 1 or len(s.checklists) > 1
            if several:
                self.rule("task.checklists_merged", where, "checklists merged")
            elif s.checklists and s.checklists[0].name not in ("Checklist", ""):
                self.rule("checklist.single_unnamed", where, "checklist name not kept")
            want_items = [(f"{n}: {i.name}" if several else i.name, i.checked) for n, i in items]
            got = [(i.name, i.checked) for cl in d.checklists for i in cl.items]
            self.same("task.checklists", where, want_items, got)
        else:  # asana: one subtask per item, not in the id map
            if items:
                self.rule("task.checklists_as_subtasks", where, "checklist items as subtasks")
            several = len(s.checklists) > 1
            subtasks = [(f"{n} · {i.name}" if several else i.name, i.checked) for n, i in items]
            subs = sorted((t for t in self.dst.tasks.values() if t.parent_id == d.source_id
                           and t.source_id not in mapped_dest), key=lambda t: t.position)
            self.same("task.checklists", where, subtasks, [(t.name, t.completed) for t in subs])
            self.same("task.checklists", where, (), d.checklists)
        return lines

    def description(self, s: Task, d: Task, where: str, writer_lines: list[str]) -> None:
        body = d.description
        if self.dest == "planner":  # the Planner reader keeps the footer (others strip it)
            stripped = _FOOTER.sub("", body)
            if stripped != body:
                self.rule("marker.footer", where, "marker footer in the description")
            body = stripped
        engine: list[str] = []
        if self.dest == "planner" and len(s.name) > PLANNER_MAX_TITLE:
            engine.append(f"Full name: {s.name}")
        if s.parent_id and self.dest != "asana":
            engine.append("Originally a subtask.")
        if s.custom_fields:
            self.rule("task.custom_fields_in_description", where, "custom fields in text")
            engine += [cf.as_text() for cf in s.custom_fields]
        want_lines = Counter(engine + writer_lines)
        base = s.description.rstrip()
        if not body.startswith(base):
            cut = body.rstrip()
            for line in writer_lines:  # the writer's notes come after a cut description
                cut = cut.removesuffix(line).rstrip()
            prefix = cut.removesuffix("…")
            if (self.dest == "trello" and len(s.description) + 200 > TRELLO_MAX_TEXT
                    and base.startswith(prefix) and len(body) <= TRELLO_MAX_TEXT):
                self.rule("text.truncated", where, f"{len(base)} → {len(prefix)} characters")
                got_tail = Counter(line for line in body[len(cut):].split("\n") if line.strip())
                self.same("task.description_additions", where, Counter(writer_lines), got_tail)
                return
            self.diff("task.description", where,
                      f"want {_short(base)} …, got {_short(body)}")
            return
        if base:
            self.out.matched["task.description"] += 1  # the source text is all there
        got = Counter(line for line in body[len(base):].split("\n") if line.strip())
        stale = got - want_lines
        if stale and not want_lines - got and all(k.startswith("Labels: ") for k in stale):
            # a label that failed earlier and exists now: the task still names it in its text
            self.diff("task.labels_stale_in_description", where, f"still {sorted(stale)}")
            return
        self.same("task.description_additions", where, want_lines, got)

    # -- comments and attachments ---------------------------------------------------------

    def comments(self) -> None:
        per_task: dict[str, list[tuple[datetime, str, datetime, str]]] = {}
        for s in self.src.comments.values():
            where = f"comment {_short(s.text, 30)}"
            d = self.pair(Kind.COMMENT, s.source_id, where)
            if not isinstance(d, Comment):
                continue
            self.same("comment.task", where, self.map.get((Kind.TASK, s.task_id)), d.task_id)
            self.rule("comment.author_time_prepended", where, "author/time line on top")
            when = s.created_at.strftime("%Y-%m-%d %H:%M UTC") if s.created_at else None
            if s.author is not None:
                head = f"{s.author.label()}" + (f" wrote on {when}:" if when else " wrote:")
            else:
                head = f"Written on {when}:" if when else ""
            want = f"{head}\n\n{s.text}" if head else s.text
            got = d.text
            if self.dest == "planner":
                stripped = _FOOTER.sub("", got)
                if stripped != got:
                    self.rule("marker.footer", where, "marker footer in the comment")
                got = stripped
            if want != got and re.sub(r"\n\s*\n", "\n", want) == got:
                self.diff("comment.blank_lines_lost", where, f"want {want!r}, got {got!r}")
            elif want != got and len(want) > TRELLO_MAX_TEXT and self.dest == "trello":
                self.rule("text.truncated", where, "comment cut")
            else:
                self.same("comment.text", where, want, got)
            if s.created_at and d.created_at:
                per_task.setdefault(s.task_id, []).append(
                    (s.created_at, s.source_id, d.created_at, d.source_id))
        for task_id, rows in per_task.items():
            src_order = [r[1] for r in sorted(rows, key=lambda r: (r[0], r[1]))]
            dst_order = [r[1] for r in sorted(rows, key=lambda r: (r[2], r[3]))]
            if src_order != dst_order:
                name = self.src.tasks[task_id].name if task_id in self.src.tasks else task_id
                self.diff("comment.order", f"comments of {_short(name, 30)}",
                          "written in another order than the source's")

    def attachments(self) -> None:
        for s in self.src.attachments.values():
            where = f"attachment {s.name!r}"
            d = self.pair(Kind.ATTACHMENT, s.source_id, where)
            if d is None:
                continue
            self.same("attachment.task", where, self.map.get((Kind.TASK, s.task_id)),
                      d.task_id)
            self.same("attachment.is_link", where, s.is_link, d.is_link)
            if s.is_link:
                self.same("attachment.url", where, s.url, d.url)
                want = s.name or s.url
                self.same("attachment.name", where, want, d.name)
                continue
            self.same("attachment.name", where, s.name, d.name)
            self.same("attachment.size", where, s.size, d.size)
            self.same("attachment.bytes", where, self.src.digests.get(s.source_id),
                      self.dst.digests.get(d.source_id))

    def extras(self) -> None:
        """Destination items that no source item explains."""
        for kind in (Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT):
            explained = {v for (k, _), v in self.map.items() if k is kind}
            for dest_id, rec in self.dst.of(kind).items():
                if dest_id in explained:
                    continue
                if (kind is Kind.TASK and self.dest == "asana" and isinstance(rec, Task)
                        and rec.parent_id):
                    continue  # checklist subtasks, compared in checklists()
                if kind is Kind.SECTION and self.dest == "trello" and any(
                        t.section_id == dest_id for t in self.dst.tasks.values()):
                    continue  # the default list, reported per task (task.section_default_list)
                self.diff(f"{kind}.extra", f"{kind} {dest_id}",
                          f"not from the source: {_short(getattr(rec, 'name', '') or '')}")


def compare(src: Snapshot, dst: Snapshot, entries: dict[tuple[Kind, str], IdMapEntry],
            rows: list[ItemReport], dest_people: set[str]) -> Comparison:
    """Every field of every source item against its destination copy."""
    return Comparer(src, dst, entries, rows, dest_people).run()
