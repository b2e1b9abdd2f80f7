"""Field-by-field comparison of a migrated scope: source snapshot vs destination snapshot.

Items are paired through the run's id map (source id → destination id, normalised to the
id the destination READER gives the item). For every field the expected destination value
is derived from the source value and the destination's documented adaptations
(``documented.DOCUMENTED``); a difference that no documented rule explains becomes a
``Diff`` whose ``code`` names it. Rules used are counted in ``Comparison.rules``.
"""

from __future__ import annotations

import re
from datetime import datetime

from shared.connectors.asana.mapping import asana_color
from shared.connectors.azure_devops.mapping import adapt_project as ado_adapt_project
from shared.connectors.jira.mapping import label_name as jira_label_name
from shared.connectors.trello.mapping import trello_color
from shared.contract.connector import ChecklistSupport
from shared.contract.model import Attachment, Comment, Kind, Task
from shared.contract.text import UNNAMED_LABEL, strip_marker_footer
from shared.engine.ports import IdMapEntry, ItemReport
from shared.verify.checks import _FOOTER, TRELLO_MAX_TEXT, Comparison, Diff, _increasing, _short
from shared.verify.compare_tasks import TaskChecks
from shared.verify.documented import documented
from shared.verify.snapshot import Snapshot

__all__ = ["Comparison", "Diff", "compare"]

#: the id an Azure DevOps writer answers for a section it made an area (areas are not read)
AREA = "area:"


class Comparer(TaskChecks):
    """Compares one migrated scope; call ``run()`` once."""

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
        self.item(Kind.PROJECT, s.source_id)
        renamed = re.fullmatch(re.escape(s.name[:74]) + r" \(\d+\)", d.name) or (
            len(s.name) > 80 and d.name == s.name[:80]
        )
        if renamed and self.rule("project.renamed_for_jira", "project", f"named {d.name!r}"):
            self.same("project.name", "project", d.name, d.name)  # the rename is the rule's
        elif (
            d.name != s.name
            and d.name == ado_adapt_project(s)[0].name
            and documented(self.dest, "project.name_adapted")
        ):
            self.rule("project.name_adapted", "project", f"named {d.name!r}")
            self.same("project.name", "project", ado_adapt_project(s)[0].name, d.name)
        else:
            self.same("project.name", "project", s.name, d.name)
        want = s.description
        if self.dest == "planner" and want:
            self.rule("project.description_dropped", "project", "description dropped")
            want = ""
        self.same("project.description", "project", want, strip_marker_footer(d.description))

    def sections(self) -> None:
        placed: list[tuple[float, float, str, str]] = []
        for s in self.src.sections.values():
            where = f"section {s.name!r}"
            if (self.map.get((Kind.SECTION, s.source_id)) or "").startswith(AREA) and documented(
                self.dest, "section.as_area"
            ):
                self.item(Kind.SECTION, s.source_id)
                self.rule("section.as_area", where, "an area, not read back")
                continue
            d = self.pair(Kind.SECTION, s.source_id, where)
            if d is None:
                continue
            if d.name != s.name and d.name.casefold() == s.name.strip().casefold():
                self.rule("section.existing_status_reused", where, f"status {d.name!r}")
            elif d.name != s.name and documented(self.dest, "section.mapped_to_state"):
                self.rule("section.mapped_to_state", where, f"state {d.name!r}")
            else:
                self.same("section.name", where, s.name, d.name)
            if s.archived and not d.archived and Kind.SECTION not in self.caps.archived_kinds:
                self.rule("section.archived_dropped", where, "archived list arrives active")
            else:
                self.same("section.archived", where, s.archived, d.archived)
            placed.append((s.position, d.position, s.name, d.source_id))
        placed.sort()
        self.item(None)
        # several source sections written onto one destination section (a state) share a place
        merged = [p for n, p in enumerate(placed) if n == 0 or p[3] != placed[n - 1][3]]
        if not _increasing([p[1] for p in merged]) and not self.unordered("section.order_not_kept", "sections"):
            self.diff(
                "section.order",
                "sections",
                f"source order {[p[2] for p in placed]} not kept (positions {[p[1] for p in placed]})",
            )

    def labels(self) -> None:
        self.item(None)
        by_dest: dict[str, list[str]] = {}
        for s in self.src.labels.values():
            dest_id = self.map.get((Kind.LABEL, s.source_id))
            if dest_id is not None:
                by_dest.setdefault(dest_id, []).append(s.source_id)
        for dest_id, sids in by_dest.items():
            if len(sids) > 1:  # several source labels written onto one destination label
                self.collided.update(sids)
                self.item(Kind.LABEL, sids[-1])
                names = [self.src.labels[sid].name for sid in sids]
                # documented (a destination whose labels ignore case), else a Diff
                self.rule("label.collision", f"label {dest_id}", f"source labels {names} all became this one label")
        for s in self.src.labels.values():
            where = f"label {s.name!r}"
            d = self.pair(Kind.LABEL, s.source_id, where)
            if d is None:
                continue
            if s.source_id in self.collided:
                if documented(self.dest, "label.collision") and s.name.strip():
                    # one label for names that differ in case only: its name is one of them
                    self.same("label.name", where, s.name.strip().lower(), d.name.strip().lower())
                continue
            if not s.name.strip() and d.name == (s.color or UNNAMED_LABEL):
                self.rule("label.renamed_empty", where, f"a nameless label named {d.name!r}")
            elif d.name != s.name and d.name == jira_label_name(s.name)[0]:
                if self.rule("label.renamed_for_jira", where, f"named {d.name!r}"):
                    self.same("label.name", where, d.name, d.name)  # the rename is the rule's
            else:
                self.same("label.name", where, s.name, d.name)
            want = s.color
            if s.color and d.color is None and documented(self.dest, "label.color_dropped"):
                self.rule("label.color_dropped", where, f"{s.color} not kept")
                continue
            if d.color != s.color and documented(self.dest, "label.color_assigned"):
                # monday.com: a tag's colour is the vendor's own choice, none can be set
                self.rule("label.color_assigned", where, f"{s.color} → {d.color}")
                continue
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
                per_task.setdefault(s.task_id, []).append((s.created_at, s.source_id, d.created_at, d.source_id))
        for task_id, rows in per_task.items():
            src_order = [r[1] for r in sorted(rows, key=lambda r: (r[0], r[1]))]
            dst_order = [r[1] for r in sorted(rows, key=lambda r: (r[2], r[3]))]
            if src_order != dst_order:
                self.item(Kind.TASK, task_id)
                name = self.src.tasks[task_id].name if task_id in self.src.tasks else task_id
                self.diff(
                    "comment.order", f"comments of {_short(name, 30)}", "written in another order than the source's"
                )

    def attachments(self) -> None:
        for s in self.src.attachments.values():
            where = f"attachment {s.name!r}"
            if s.is_link and self.link_as_comment(s, where):
                continue
            d = self.pair(Kind.ATTACHMENT, s.source_id, where)
            if d is None:
                continue
            self.same("attachment.task", where, self.map.get((Kind.TASK, s.task_id)), d.task_id)
            self.same("attachment.is_link", where, s.is_link, d.is_link)
            if s.is_link:
                self.same("attachment.url", where, s.url, d.url)
                want = s.name or s.url
                self.same("attachment.name", where, want, d.name)
                continue
            self.same("attachment.name", where, s.name, d.name)
            self.same("attachment.size", where, s.size, d.size)
            self.same("attachment.bytes", where, self.src.digests.get(s.source_id), self.dst.digests.get(d.source_id))

    def link_as_comment(self, s: Attachment, where: str) -> bool:
        """A link attachment a destination keeps as a comment naming it (monday.com: a Files
        column holds no links): the comment is on the task and holds the link."""
        dest_id = self.map.get((Kind.ATTACHMENT, s.source_id))
        note = self.dst.comments.get(dest_id or "")
        if note is None or not documented(self.dest, "attachment.link_as_update"):
            return False
        self.item(Kind.ATTACHMENT, s.source_id)
        self.rule("attachment.link_as_update", where, "a comment naming the link")
        self.same("attachment.task", where, self.map.get((Kind.TASK, s.task_id)), note.task_id)
        self.same(
            "attachment.url",
            where,
            f"[{s.name or s.url}]({s.url})",
            f"[{s.name or s.url}]({s.url})" if f"[{s.name or s.url}]({s.url})" in note.text else note.text,
        )
        return True

    def extras(self) -> None:
        """Destination items that no source item explains."""
        self.item(None)
        for kind in (Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT):
            explained = {v for (k, _), v in self.map.items() if k is kind}
            if kind is Kind.COMMENT:  # link attachments kept as comments
                explained |= {v for (k, _), v in self.map.items() if k is Kind.ATTACHMENT}
            for dest_id, rec in self.dst.of(kind).items():
                if dest_id in explained:
                    continue
                if (
                    kind is Kind.TASK
                    and self.caps.checklists is ChecklistSupport.AS_SUBTASKS
                    and isinstance(rec, Task)
                    and rec.parent_id
                ):
                    continue  # checklist subtasks, compared in checklists()
                if (
                    kind is Kind.SECTION
                    and self.dest == "trello"
                    and any(t.section_id == dest_id for t in self.dst.tasks.values())
                ):
                    continue  # the default list, reported per task (task.section_default_list)
                if kind is Kind.SECTION and documented(self.dest, "section.project_default"):
                    self.rule("section.project_default", f"section {dest_id}", "the new project's own")
                    continue
                self.diff(
                    f"{kind}.extra",
                    f"{kind} {dest_id}",
                    f"not from the source: {_short(getattr(rec, 'name', '') or '')}",
                    dest_id=dest_id,
                )


def compare(
    src: Snapshot,
    dst: Snapshot,
    entries: dict[tuple[Kind, str], IdMapEntry],
    rows: list[ItemReport],
    dest_people: set[str],
) -> Comparison:
    """Every field of every source item against its destination copy."""
    return Comparer(src, dst, entries, rows, dest_people).run()
