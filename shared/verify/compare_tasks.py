"""Field checks of tasks: name, parent, section, completion, dates, people, labels,
checklists and the description with the lines documented adaptations add to it."""

from __future__ import annotations

import re
from collections import Counter

from shared.contract.connector import ChecklistSupport
from shared.contract.model import CustomFieldType, Kind, Task
from shared.contract.text import start_date_line
from shared.engine.adapt import due_time_in_text
from shared.verify.checks import (
    _FOOTER,
    PLANNER_MAX_CHECKLIST,
    PLANNER_MAX_TITLE,
    TRELLO_MAX_TEXT,
    Checks,
    _emails,
    _increasing,
    _noon,
    _short,
)
from shared.verify.documented import documented

#: destinations holding custom fields natively (``Capabilities.custom_fields``) whose subtasks
#: cannot (Asana: a subtask has no project to hold fields, its values go to the notes)
NO_SUBTASK_CUSTOM_FIELDS = frozenset({"asana"})
#: the line a destination's writer adds for each assignee it cannot find, and its rule
UNKNOWN_ASSIGNEE = {
    "trello": ("task.assignee_not_on_board", "Assigned in the source: {names}"),
    "asana": ("task.assignee_not_in_workspace", "Assignee (not in Asana): {names}"),
    "planner": ("task.assignee_not_in_tenant", "Assigned in the source to: {names}"),
    "jira": ("task.assignee_not_in_jira", "Assignee (not in Jira): {names}"),
    "monday": ("task.assignee_not_in_account", "Assignees (not in monday.com): {names}"),
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: "Originally a subtask of "‹parent›"." as the writers of flattening destinations write it
_PARENT_LINE = re.compile(r'Originally a subtask of ".*"\.')
_NAMED_PARENT = 'Originally a subtask of "‹parent›".'


def _one_newline(name: str) -> str:
    return name.replace("\r\n", "\n").replace("\r", "\n")


def _multiline(name: str) -> bool:
    return "\n" in name or "\r" in name


def _first_line(name: str) -> str:
    """The title a one-line destination makes of a multi-line name (``task.name_multiline``):
    its first line that is not blank."""
    return next((line.strip() for line in _one_newline(name).split("\n") if line.strip()), "") or "Untitled"


class TaskChecks(Checks):
    """The task part of a comparison."""

    def tasks(self) -> None:
        mapped_dest = {self.map[(Kind.TASK, sid)] for sid in self.src.tasks if (Kind.TASK, sid) in self.map}
        #: per destination section and the source section its tasks came from: tasks of
        #: several source sections that share a destination section (a state their
        #: completion chose, an area's tasks in their state's column) have no source order
        #: between them, only within each
        order: dict[tuple[str | None, str], list[tuple[float, float, str]]] = {}
        for s in self.src.tasks.values():
            where = f"task {_short(s.name, 40)}"
            d = self.pair(Kind.TASK, s.source_id, where)
            if not isinstance(d, Task):
                continue
            self.task(s, d, where, mapped_dest)
            if not s.parent_id and s.section_id:
                order.setdefault((d.section_id, s.section_id), []).append((s.position, d.position, s.name))
        self.item(None)
        for (section, _), items in order.items():
            items.sort()
            if not _increasing([i[1] for i in items]) and not self.unordered(
                "task.order_not_kept", f"section {section}"
            ):
                self.diff(
                    "task.order", f"section {section}", f"source order {[_short(i[2], 20) for i in items]} not kept"
                )

    def task(self, s: Task, d: Task, where: str, mapped_dest: set[str]) -> None:
        dest = self.dest
        want_name = s.name
        limit = PLANNER_MAX_TITLE if dest == "planner" else self.caps.max_name_chars
        if limit is not None and len(s.name) > limit:
            self.rule("task.name_truncated", where, f"title cut to {limit}")
            want_name = s.name[: limit - 1] + "…"
        if _multiline(want_name) and documented(dest, "task.name_multiline"):
            self.rule("task.name_multiline", where, "first line as the title, the name in the description")
            want_name = _first_line(want_name)
        self.same("task.name", where, want_name, d.name)
        # parent / section
        if self.caps.subtasks:
            want_parent = self.map.get((Kind.TASK, s.parent_id)) if s.parent_id else None
            self.same("task.parent", where, want_parent, d.parent_id)
        else:
            if s.parent_id:
                self.rule("task.subtask_flattened", where, "subtask made top-level")
            self.same("task.parent", where, None, d.parent_id)
        want_section = self.map.get((Kind.SECTION, s.section_id)) if s.section_id else None
        if d.section_id != want_section and want_section is None and dest == "trello":
            listed = self.dst.sections.get(d.section_id or "")
            if listed is not None and listed.name == "Tasks":
                self.rule("task.section_default_list", where, "in the default list 'Tasks'")
            else:
                self.diff("task.section_default_list", where, f"a task without section lands in list {d.section_id!r}")
        elif d.section_id != want_section and d.section_id and s.completed == d.completed:
            # a destination whose completion is the task's status (Jira, Azure DevOps) puts a
            # task whose section says otherwise, or that has none, in a status saying it
            rule = (
                "task.state_from_completion"
                if documented(dest, "task.state_from_completion")
                else "task.section_replaced_by_completion"
            )
            self.rule(rule, where, f"in section {d.section_id!r}, not {want_section!r}")
        elif s.parent_id and want_section and d.section_id is None and d.parent_id:
            self.rule("task.subtask_without_section", where, "a subtask has no section here")
        else:
            self.same("task.section", where, want_section, d.section_id)
        self.same("task.completed", where, s.completed, d.completed)
        if s.archived and not d.archived and Kind.TASK not in self.caps.archived_kinds:
            self.rule("task.archived_dropped", where, "archived task arrives active")
        else:
            self.same("task.archived", where, s.archived, d.archived)
        lines = self.dates(s, d, where)
        lines += self.assignees(s, d, where)
        lines += self.labels_of(s, d, where)
        lines += self.checklists(s, d, where, mapped_dest)
        lines += self.custom_fields(s, d, where)
        self.description(s, d, where, lines)

    def custom_fields(self, s: Task, d: Task, where: str) -> list[str]:
        """Compared by name as the destination's reader reads them back where it holds
        custom fields; elsewhere the lines the engine writes into the description."""
        if not s.custom_fields:
            return []
        if not self.caps.custom_fields or (s.parent_id and self.dest in NO_SUBTASK_CUSTOM_FIELDS):
            self.rule("task.custom_fields_in_description", where, "custom fields in text")
            return [cf.as_text() for cf in s.custom_fields]
        want: dict[str, object] = {}
        for cf in s.custom_fields:
            value = cf.value
            if cf.type in (CustomFieldType.MULTI_ENUM, CustomFieldType.PEOPLE):
                self.rule("task.custom_field_as_text", where, f"{cf.name}: {cf.type} as text")
                value = ", ".join(value) if isinstance(value, list) else value
            elif cf.type is CustomFieldType.BOOL and self.dest == "asana" and isinstance(value, bool):
                self.rule("task.custom_field_as_text", where, f"{cf.name}: yes/no as text")
                value = "true" if value else "false"
            elif cf.type is CustomFieldType.DATE and self.dest == "asana" and isinstance(value, str):
                value = value[:10]  # Asana date fields hold the day
            elif cf.type is CustomFieldType.NUMBER and isinstance(value, str):
                value = float(value) if _is_number(value) else value
            elif cf.type is CustomFieldType.DATE and isinstance(value, str) and len(value) == 10:
                self.rule("task.date_only_at_noon_utc", where, f"{cf.name}: date at 12:00 UTC")
                value = f"{value}T12:00:00.000Z"
            if value not in (None, "", []):
                want[cf.name] = value
        self.same("task.custom_fields", where, want, {cf.name: cf.value for cf in d.custom_fields})
        return []

    def dates(self, s: Task, d: Task, where: str) -> list[str]:
        lines: list[str] = []
        if s.due_at is not None and not self.caps.due_times:  # the engine's line
            day, line = due_time_in_text(s.due_at, s.due_on)
            self.rule("task.due_time_in_description", where, f"due {s.due_at}: its date, the time in text")
            self.same("task.due_on", where, day, d.due_on)
            self.same("task.due_at", where, None, d.due_at)
            lines.append(line)
        elif s.due_at is not None:
            self.same("task.due_at", where, s.due_at, d.due_at)
        elif s.due_on is not None:
            self.same("task.due_on", where, s.due_on, d.due_on)
            if d.due_at is not None and self.rule(
                "task.date_only_at_noon_utc", where, f"due {s.due_on} written as {d.due_at}"
            ):
                self.same("task.due_at", where, _noon(s.due_on), d.due_at)
        else:
            self.same("task.due_on", where, None, d.due_on)
        due = s.due_on or (s.due_at.date() if s.due_at else None)
        if s.start_on is not None and not self.caps.start_dates:  # the engine's line
            self.rule("task.start_date_in_description", where, "start date in the description")
            self.same("task.start_on", where, None, d.start_on)
            return [start_date_line(s.start_on), *lines]
        if self.dest == "asana" and s.start_on is not None and (due is None or s.start_on > due):
            self.rule("task.start_date_in_description", where, "start date in the notes")
            self.same("task.start_on", where, None, d.start_on)
            return [start_date_line(s.start_on), *lines]
        self.same("task.start_on", where, s.start_on, d.start_on)
        return lines

    def assignees(self, s: Task, d: Task, where: str) -> list[str]:
        people = list(s.assignees)
        lines: list[str] = []
        most = self.caps.max_assignees
        if most is not None and len(people) > most:
            self.rule("task.assignees_truncated", where, f"{most} assignee(s) kept")
            lines.append("Also assigned: " + ", ".join(u.label() for u in people[most:]))
            people = people[:most]
        known = [u for u in people if u.email and u.email.lower() in self.people]
        unknown = [u for u in people if u not in known]
        if unknown:
            names = ", ".join(u.label() for u in unknown)
            rule, line = UNKNOWN_ASSIGNEE.get(self.dest, ("task.assignee_unknown", "{names}"))
            self.rule(rule, where, f"{names} named in the description")
            lines.append(line.format(names=names))
        self.same("task.assignees", where, _emails(known), _emails(d.assignees))
        return lines

    def labels_of(self, s: Task, d: Task, where: str) -> list[str]:
        """Label names by name; labels that were not migrated go to the description
        (the engine's generic ``task.labels_missing_in_description``)."""
        # by the name of the label each became (its own rename is the label's check)
        kept = [
            self._label_name(lab.source_id, lab.name) for lab in s.labels if (Kind.LABEL, lab.source_id) in self.map
        ]
        missing = [lab.name for lab in s.labels if (Kind.LABEL, lab.source_id) not in self.map]
        got = sorted(lab.name for lab in d.labels)
        late = {lab.name for lab in s.labels if (Kind.LABEL, lab.source_id) in self.rows}
        if any(lab.source_id in self.collided for lab in s.labels) and not documented(self.dest, "label.collision"):
            pass  # reported as label.collision
        elif any(lab.source_id in self.collided for lab in s.labels):
            # labels that became one destination label are that label once
            self.same("task.labels", where, sorted(set(kept)), got)
        elif sorted(kept) != got and set(kept) - set(got) <= late and set(got) <= set(kept):
            # labels that failed in an earlier run and exist now never reach this task
            self.diff(
                "task.labels_stale_in_description",
                where,
                f"missing {sorted(set(kept) - set(got))}, created after the task",
            )
        else:
            self.same("task.labels", where, sorted(kept), got)
        if not missing:
            return []
        self.out.rules["task.labels_missing_in_description"] += 1  # engine, all destinations
        return ["Labels: " + ", ".join(missing)]

    def _label_name(self, sid: str, name: str) -> str:
        dest = self.dst.labels.get(self.map.get((Kind.LABEL, sid)) or "")
        return dest.name if dest is not None else name

    def checklists(self, s: Task, d: Task, where: str, mapped_dest: set[str]) -> list[str]:
        lines: list[str] = []
        items = [(cl.name, i) for cl in s.checklists for i in cl.items]
        if self.caps.checklists is ChecklistSupport.NONE:  # the engine's lines
            if s.checklists:
                self.rule("task.checklists_in_description", where, "checklists in the description")
            for cl in s.checklists:
                lines.append(f"{cl.name}:")
                lines.extend(f"[{'x' if i.checked else ' '}] {i.name}" for i in cl.items)
            self.same("task.checklists", where, (), d.checklists)
        elif self.dest == "trello":
            want = [(cl.name or "Checklist", [(i.name, i.checked) for i in cl.items]) for cl in s.checklists]
            self.same(
                "task.checklists",
                where,
                want,
                [(cl.name, [(i.name, i.checked) for i in cl.items]) for cl in d.checklists],
            )
        elif self.dest == "planner":
            if len(items) > PLANNER_MAX_CHECKLIST:
                self.rule("task.checklist_items_truncated", where, "over 20 items")
                lines += [f"{n}: [{'x' if i.checked else ' '}] {i.name}" for n, i in items[PLANNER_MAX_CHECKLIST:]]
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
            subs = sorted(
                (t for t in self.dst.tasks.values() if t.parent_id == d.source_id and t.source_id not in mapped_dest),
                key=lambda t: t.position,
            )
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
        limit = PLANNER_MAX_TITLE if self.dest == "planner" else self.caps.max_name_chars
        cut_name = limit is not None and len(s.name) > limit
        if cut_name:
            engine.append(f"Full name: {s.name}")
        if _multiline(s.name) and not cut_name and documented(self.dest, "task.name_multiline"):
            engine.append(f"Full name: {_one_newline(s.name)}")  # the writer's line
        if s.parent_id and not self.caps.subtasks:
            # the writer names the parent as it was then: a later rename leaves the old name
            parent = self.dst.tasks.get(self.map.get((Kind.TASK, s.parent_id)) or "")
            engine.append(_NAMED_PARENT if parent is not None else "Originally a subtask.")
        # a text line (a multi-line name) is as many lines of the description
        want_lines = Counter(part for line in engine + writer_lines for part in line.split("\n") if part.strip())
        base = s.description.rstrip()
        if not body.startswith(base):
            cut = body.rstrip()
            for line in writer_lines:  # the writer's notes come after a cut description
                cut = cut.removesuffix(line).rstrip()
            prefix = cut.removesuffix("…")
            if (
                self.dest == "trello"
                and len(s.description) + 200 > TRELLO_MAX_TEXT
                and base.startswith(prefix)
                and len(body) <= TRELLO_MAX_TEXT
            ):
                self.rule("text.truncated", where, f"{len(base)} → {len(prefix)} characters")
                got_tail = Counter(line for line in body[len(cut) :].split("\n") if line.strip())
                self.same("task.description_additions", where, Counter(writer_lines), got_tail)
                return
            self.diff("task.description", where, f"want {_short(base)} …, got {_short(body)}")
            return
        if base:
            self.out.matched["task.description"] += 1  # the source text is all there
        got = Counter(
            _NAMED_PARENT if _PARENT_LINE.fullmatch(line) else line
            for line in body[len(base) :].split("\n")
            if line.strip()
        )
        stale = got - want_lines
        if stale and not want_lines - got and all(k.startswith("Labels: ") for k in stale):
            # a label that failed earlier and exists now: the task still names it in its text
            self.diff("task.labels_stale_in_description", where, f"still {sorted(stale)}")
            return
        self.same("task.description_additions", where, want_lines, got)

    # -- comments and attachments ---------------------------------------------------------
