"""Status mapping: where a task lands and whether it is complete, by its source status.

A migration's ``statusMapping`` maps a source *status* to a destination section and/or a
completion state. A source status is, in this order of precedence:

1. the task's source section (Trello list, Asana section, Planner bucket) by **id**;
2. the same section by **name** (compared trimmed, inner blanks collapsed, case-folded);
3. the task's completion: the keys ``@completed`` and ``@open``.

The value (``StatusRule``) says ``section`` — the name of the destination section the task
goes to — and/or ``completed`` — the completion state it gets. A legacy value that is a
bare string is ``{"section": <string>}``.

A target section that the source scope already has (by name) is that section: the task
moves there. Any other target is a *status section*: a section the migration adds to the
scope (see ``status_sections``), read as if it were a source section so the engine creates
it once, records it in the id map (``ferry-status:`` + a hash: ids only at rest) and
resolves tasks to it like any other parent. Without a rule a task keeps its own section and
its own completion (the default of every vendor pair: e.g. a completed Asana or Planner
task moving to Trello stays in its list, its card marked complete through ``dueComplete``).

The engine applies it in ``ItemProcessor._process`` right after ``adapt(...)`` (before the
dry-run return, so the dry run reports it)::

    if isinstance(adapted, Task) and ctx.settings.status_map:
        adapted, mapped = map_task(ctx.settings.status_map, adapted,
                                   await scope_sections(ctx.reader, ctx.scope), self.caps)
        codes += [n.code for n in mapped]
        await self.resolver.prefetch([adapted])  # the mapped section's destination id

Everything here is pure (no I/O, no clock) but ``scope_sections``, which asks the reader. The dry run
applies the same functions, so its
adaptation counts (``task.status_section_mapped``, ``task.status_completed``,
``task.status_reopened``) are what the run will do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contract.connector import Adaptation, Capabilities
from shared.contract.model import Kind, Section, Task, content_version

#: Keys that match a task by its completion instead of its section.
COMPLETED_KEY = "@completed"
OPEN_KEY = "@open"
SPECIAL_KEYS = frozenset({COMPLETED_KEY, OPEN_KEY})

#: Source id prefix of the sections a status mapping adds to a scope.
STATUS_SECTION_PREFIX = "ferry-status:"

#: Dry-run sentences for the codes this module reports (``shared.engine.adapt.summarize``).
SUMMARIES: dict[str, str] = {
    "task.status_section_mapped": "{n} tasks go to the section the status mapping names",
    "task.status_completed": "{n} tasks are marked complete by the status mapping",
    "task.status_reopened": "{n} tasks are marked not complete by the status mapping",
    "task.status_completion_dropped": "{n} tasks the status mapping marks complete cannot be "
    "marked complete at the destination",
    "task.status_section_dropped": "{n} tasks the status mapping moves cannot be moved: the "
    "destination has no sections",
}


class StatusRule(BaseModel):
    """Where tasks of one source status go: a destination section, a completion, or both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    section: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="name of the destination section (list, section, bucket) the tasks go to; "
        "created once per scope when the source has no section of that name",
    )
    completed: bool | None = Field(
        default=None,
        description="true: the tasks are marked complete; false: marked not "
        "complete; absent: they keep their source completion",
    )

    @model_validator(mode="after")
    def _something_to_do(self) -> StatusRule:
        if self.section is None and self.completed is None:
            raise ValueError("give section, completed or both")
        return self


#: A run's status mapping: source status key → rule (see the module docstring).
StatusMap = Mapping[str, StatusRule]


def normalise(name: str) -> str:
    """How names are compared: trimmed, inner blanks collapsed, case-folded."""
    return " ".join(name.split()).casefold()


def parse_status_map(raw: Mapping[str, Any] | None) -> dict[str, StatusRule]:
    """A stored ``statusMapping`` as rules; a bare string value is a target section name.

    Accepts what older migrations stored (``dict[str, str]``) as well as rule objects.
    """
    out: dict[str, StatusRule] = {}
    for key, value in (raw or {}).items():
        if isinstance(value, StatusRule):
            out[key] = value
        elif isinstance(value, str):
            out[key] = StatusRule(section=value)
        else:
            out[key] = StatusRule.model_validate(value)
    return out


def key_problems(keys: Iterable[str]) -> list[tuple[str, str]]:
    """(key, message) for keys that are blank, unknown special keys, or the same name twice."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for key in keys:
        norm = normalise(key)
        if not norm:
            problems.append((key, f"name a source section (id or name), {COMPLETED_KEY} or {OPEN_KEY}"))
        elif key.startswith("@") and key not in SPECIAL_KEYS:
            problems.append((key, f"unknown special key; use {COMPLETED_KEY} or {OPEN_KEY}"))
        elif norm in seen:
            problems.append((key, f"the same section name as key {seen[norm]!r}"))
        else:
            seen[norm] = key
    return problems


def status_section_id(scope: str, name: str) -> str:
    """Source id of the status section named ``name`` in ``scope`` (a hash: no name at rest)."""
    digest = hashlib.sha256(f"{scope}\0{normalise(name)}".encode()).hexdigest()[:24]
    return f"{STATUS_SECTION_PREFIX}{digest}"


def is_status_section(source_id: str) -> bool:
    return source_id.startswith(STATUS_SECTION_PREFIX)


def target_names(status_map: StatusMap) -> list[str]:
    """Distinct target section names, in the mapping's order (first spelling wins)."""
    names: dict[str, str] = {}
    for rule in status_map.values():
        if rule.section is not None:
            names.setdefault(normalise(rule.section), rule.section.strip())
    return list(names.values())


def status_sections(status_map: StatusMap, scope: str, existing: Mapping[str, Section]) -> list[Section]:
    """Sections the mapping adds to ``scope``: its targets that no source section is named.

    ``existing`` is every source section of the scope (id → record). They are placed after
    the last source section, in the mapping's order; their version depends on the name and
    the place only, so a later run finds them unchanged.
    """
    have = {normalise(s.name) for s in existing.values()}
    last = max((s.position for s in existing.values()), default=0.0)
    out: list[Section] = []
    for name in target_names(status_map):
        if normalise(name) in have:
            continue
        position = last + 1.0 + len(out)
        sid = status_section_id(scope, name)
        out.append(
            Section(
                source_id=sid,
                version=content_version([sid, name, position]),
                project_id=scope,
                name=name,
                position=position,
            )
        )
    return out


def rule_for(status_map: StatusMap, task: Task, sections: Mapping[str, str]) -> StatusRule | None:
    """The rule that applies to ``task``: by section id, section name, then completion."""
    if not status_map:
        return None
    section = task.section_id
    if section is not None and section in status_map:
        return status_map[section]
    name = sections.get(section) if section is not None else None
    if name is not None:
        wanted = normalise(name)
        for key, rule in status_map.items():
            if key not in SPECIAL_KEYS and normalise(key) == wanted:
                return rule
    return status_map.get(COMPLETED_KEY if task.completed else OPEN_KEY)


def section_named(name: str, sections: Mapping[str, str]) -> str | None:
    """Source id of the section called ``name``: the first source section of that name in
    ``sections`` order, else the status section the mapping adds; None when neither is
    known (the source has no sections to read)."""
    wanted = normalise(name)
    hits = [sid for sid, have in sections.items() if normalise(have) == wanted]
    return next((sid for sid in hits if not is_status_section(sid)), hits[0] if hits else None)


@runtime_checkable
class SectionDirectory(Protocol):
    """A reader that can name a scope's sections (``shared.migrations.remap.MappedReader``)."""

    async def section_names(self, scope: str) -> Mapping[str, str]:
        """Every section of ``scope`` by source id → name, status sections included."""
        ...


async def scope_sections(reader: object, scope: str) -> Mapping[str, str]:
    """The sections ``reader`` knows in ``scope`` (none when it cannot tell: then only the
    ``@completed``/``@open`` keys and section ids can match, and tasks do not move)."""
    if isinstance(reader, SectionDirectory):
        return await reader.section_names(scope)
    return {}


def _note(code: str, message: str, *, loss: bool = False) -> Adaptation:
    return Adaptation(kind=Kind.TASK, code=code, message=message, loss=loss)


def map_task(
    status_map: StatusMap, task: Task, sections: Mapping[str, str], caps: Capabilities
) -> tuple[Task, list[Adaptation]]:
    """``task`` with the section and completion its status rule gives, and what changed.

    ``sections`` maps every section of the task's scope (source sections, then the status
    sections) from source id to name. Subtasks keep their place under their parent: only
    their completion is mapped.
    """
    rule = rule_for(status_map, task, sections)
    if rule is None:
        return task, []
    notes: list[Adaptation] = []
    update: dict[str, Any] = {}
    if rule.section is not None and task.parent_id is None:
        target = section_named(rule.section, sections)
        if target is not None and target != task.section_id:
            if caps.sections:
                update["section_id"] = target
                notes.append(_note("task.status_section_mapped", "moved to the section the status mapping names"))
            else:
                notes.append(_note("task.status_section_dropped", "the destination has no sections", loss=True))
    if rule.completed is not None and rule.completed != task.completed:
        if rule.completed and not caps.completion:
            notes.append(
                _note("task.status_completion_dropped", "the destination cannot mark tasks complete", loss=True)
            )
        elif rule.completed:
            update["completed"] = True
            notes.append(_note("task.status_completed", "marked complete by the status mapping"))
        else:
            update.update(completed=False, completed_at=None)
            notes.append(_note("task.status_reopened", "marked not complete by the status mapping"))
    return (task.model_copy(update=update) if update else task), notes


__all__ = [
    "COMPLETED_KEY",
    "OPEN_KEY",
    "SUMMARIES",
    "SectionDirectory",
    "StatusMap",
    "StatusRule",
    "key_problems",
    "map_task",
    "normalise",
    "parse_status_map",
    "rule_for",
    "scope_sections",
    "section_named",
    "status_section_id",
    "status_sections",
    "target_names",
]
