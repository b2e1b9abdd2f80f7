"""The status mapping as a pure adaptation: which rule applies, where the task goes, what
completion it gets, which sections the mapping adds, and what is reported."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.connectors.memory import memory_capabilities
from shared.contract.model import Section, Task
from shared.engine.adapt import summarize
from shared.engine.status_map import (
    COMPLETED_KEY,
    OPEN_KEY,
    StatusRule,
    is_status_section,
    key_problems,
    map_task,
    parse_status_map,
    rule_for,
    scope_sections,
    status_section_id,
    status_sections,
)

CAPS = memory_capabilities()
SECTIONS = {"s-todo": "To do", "s-doing": "Doing", "s-done": "Done"}


def task(section: str | None = "s-todo", *, completed: bool = False, parent: str | None = None) -> Task:
    return Task(
        source_id="t1",
        version="v1",
        project_id="p1",
        section_id=section,
        parent_id=parent,
        name="Write the report",
        completed=completed,
    )


def section(sid: str, name: str, position: float, *, archived: bool = False) -> Section:
    return Section(source_id=sid, version="v", project_id="p1", name=name, position=position, archived=archived)


def test_legacy_string_values_are_target_sections() -> None:
    rules = parse_status_map({"Done": "Completed", "Doing": {"completed": False}})
    assert rules == {"Done": StatusRule(section="Completed"), "Doing": StatusRule(completed=False)}


def test_a_rule_must_say_something_and_nothing_else() -> None:
    with pytest.raises(ValidationError, match="give section, completed or both"):
        StatusRule()
    with pytest.raises(ValidationError):
        StatusRule.model_validate({"section": "x", "colour": "red"})
    with pytest.raises(ValidationError):
        StatusRule(section="   ")


def test_key_problems_name_blank_unknown_and_repeated_keys() -> None:
    problems = dict(key_problems(["Done", " done ", "@closed", "  ", COMPLETED_KEY, "s-1"]))
    assert set(problems) == {" done ", "@closed", "  "}
    assert "'Done'" in problems[" done "]


def test_rule_precedence_id_then_name_then_completion() -> None:
    by_id, by_name, done = StatusRule(section="A"), StatusRule(section="B"), StatusRule(section="C")
    rules = {"s-done": by_id, "DONE": by_name, COMPLETED_KEY: done}
    assert rule_for(rules, task("s-done", completed=True), SECTIONS) is by_id
    assert rule_for({"  done ": by_name, COMPLETED_KEY: done}, task("s-done"), SECTIONS) is by_name
    assert rule_for(rules, task("s-todo", completed=True), SECTIONS) is done
    assert rule_for(rules, task("s-todo"), SECTIONS) is None
    assert rule_for({OPEN_KEY: by_id}, task(None), {}) is by_id


def test_no_rule_keeps_the_task_as_it_is() -> None:
    original = task("s-doing", completed=True)
    assert map_task({"Done": StatusRule(completed=True)}, original, SECTIONS, CAPS) == (original, [])
    assert map_task({}, original, SECTIONS, CAPS) == (original, [])


def test_moves_to_an_existing_section_and_marks_complete() -> None:
    rules = parse_status_map({"Doing": {"section": "done", "completed": True}})
    mapped, notes = map_task(rules, task("s-doing"), SECTIONS, CAPS)
    assert mapped.section_id == "s-done" and mapped.completed
    assert [n.code for n in notes] == ["task.status_section_mapped", "task.status_completed"]
    assert not any(n.loss for n in notes)


def test_a_target_the_source_lacks_is_the_status_section() -> None:
    rules = parse_status_map({"Done": "Completed"})
    added = status_sections(rules, "p1", {sid: section(sid, name, i) for i, (sid, name) in enumerate(SECTIONS.items())})
    assert [(s.name, s.position) for s in added] == [("Completed", 3.0)]
    assert added[0].source_id == status_section_id("p1", "completed ")
    assert is_status_section(added[0].source_id) and "Completed" not in added[0].source_id  # ids at rest
    names = {**SECTIONS, added[0].source_id: added[0].name}
    mapped, notes = map_task(rules, task("s-done", completed=True), names, CAPS)
    assert mapped.section_id == added[0].source_id and mapped.completed
    assert [n.code for n in notes] == ["task.status_section_mapped"]


def test_status_sections_skip_targets_the_source_has_and_repeat_names_once() -> None:
    rules = parse_status_map({"a": "Doing", "b": "Later", "c": " later", "d": {"completed": True}})
    existing = {"s-doing": section("s-doing", "DOING", 5.0)}
    added = status_sections(rules, "p1", existing)
    assert [(s.name, s.position) for s in added] == [("Later", 6.0)]
    assert status_sections(rules, "p1", existing) == added  # same version next run: unchanged
    assert status_sections(rules, "p2", existing)[0].source_id != added[0].source_id


def test_reopening_clears_the_completion_time() -> None:
    from datetime import UTC, datetime

    done = task("s-done", completed=True).model_copy(update={"completed_at": datetime(2025, 1, 1, tzinfo=UTC)})
    mapped, notes = map_task({"Done": StatusRule(completed=False)}, done, SECTIONS, CAPS)
    assert not mapped.completed and mapped.completed_at is None
    assert [n.code for n in notes] == ["task.status_reopened"]


def test_subtasks_keep_their_parent_but_get_the_completion() -> None:
    rules = {"To do": StatusRule(section="Done", completed=True)}
    mapped, notes = map_task(rules, task("s-todo", parent="t0"), SECTIONS, CAPS)
    assert mapped.section_id == "s-todo" and mapped.completed
    assert [n.code for n in notes] == ["task.status_completed"]


def test_what_the_destination_cannot_hold_is_reported_as_a_loss() -> None:
    caps = memory_capabilities(completion=False, sections=False)
    original = task("s-todo")
    mapped, notes = map_task({"To do": StatusRule(section="Done", completed=True)}, original, SECTIONS, caps)
    assert mapped == original
    assert [(n.code, n.loss) for n in notes] == [
        ("task.status_section_dropped", True),
        ("task.status_completion_dropped", True),
    ]


def test_unknown_target_without_sections_keeps_the_section() -> None:
    # a reader that cannot name sections: no directory, so nothing to move the task to
    mapped, notes = map_task({"s-todo": StatusRule(section="Done", completed=True)}, task("s-todo"), {}, CAPS)
    assert mapped.section_id == "s-todo" and mapped.completed
    assert [n.code for n in notes] == ["task.status_completed"]


async def test_scope_sections_asks_readers_that_can_tell() -> None:
    class Directory:
        async def section_names(self, scope: str) -> dict[str, str]:
            return {f"{scope}-s": "Done"}

    assert await scope_sections(Directory(), "p1") == {"p1-s": "Done"}
    assert await scope_sections(object(), "p1") == {}


def test_dry_run_sentences() -> None:
    lines = summarize({"adapt.task.status_section_mapped": 4, "adapt.task.status_completed": 2}, CAPS)
    assert lines == [
        "2 tasks are marked complete by the status mapping",
        "4 tasks go to the section the status mapping names",
    ]
