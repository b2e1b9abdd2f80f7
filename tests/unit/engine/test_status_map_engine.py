"""The status mapping through the whole engine (memory vendors): tasks land in the mapped
sections with the mapped completion, a target the source lacks is created once, the dry run
counts what the mapping will do, and a changed mapping is applied by the next delta."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.contract.model import Kind, Section, Task
from shared.contract.runs import RunStatus
from shared.engine.plan import RunSettings
from shared.engine.status_map import is_status_section, parse_status_map
from shared.migrations.remap import MappedReader
from tests.unit.engine.harness import Harness

# seed: sections "Colonne 0/1/2 – 進行中", tasks p1-t0…t8 in section t % 3, t4 completed
COL = "Colonne {} – 進行中"
SEED = {"sections": 3, "tasks": 9, "subtasks_every": 3, "comments_per_task": 0, "attachments_every": 0}


def harness(mapping: dict[str, Any]) -> Harness:
    h = Harness(seed=SEED)
    h.reader = MappedReader(h.reader, {"statusMapping": mapping})  # type: ignore[assignment]
    return h


async def run(h: Harness, mapping: dict[str, Any], **kw: Any) -> RunSettings:
    h.reader = MappedReader(h.reader._reader, {"statusMapping": mapping})  # type: ignore[attr-defined]
    return await h.run(status_map=parse_status_map(mapping), **kw)


def destination(h: Harness) -> tuple[dict[str, str], dict[str, Task]]:
    """Destination sections by id → name, and destination tasks by name."""
    sections = {sid: s.name for sid, s in h.dst.items[Kind.SECTION].items() if isinstance(s, Section)}
    tasks = {t.name: t for t in h.dst.items[Kind.TASK].values() if isinstance(t, Task)}
    return sections, tasks


def name(t: int) -> str:
    return f"Tâche {t} — ünïcödé"


async def test_tasks_go_where_the_mapping_says() -> None:
    mapping = {
        COL.format(1): {"section": "Fini", "completed": True},
        "p1-s2": COL.format(0),
        "@completed": {"section": "Archive"},
    }
    h = harness(mapping)
    settings = await run(h, mapping)
    assert h.status(settings) is RunStatus.SUCCEEDED
    sections, tasks = destination(h)
    assert sorted(sections.values()) == sorted([COL.format(i) for i in range(3)] + ["Fini", "Archive"])
    where = {t: sections[tasks[name(t)].section_id] for t in range(9)}  # type: ignore[index]
    assert where == {
        0: COL.format(0),
        1: "Fini",
        2: COL.format(0),
        3: COL.format(0),
        4: "Fini",
        5: COL.format(0),
        6: COL.format(0),
        7: "Fini",
        8: COL.format(0),
    }
    assert {t for t in range(9) if tasks[name(t)].completed} == {1, 4, 7}
    # subtasks stay under their parent
    assert all(tasks[f"Sous-tâche {t}"].parent_id == tasks[name(t)].source_id for t in (0, 3, 6))
    codes = Counter(c for row in h.rows(settings) for c in row.adaptations)
    assert codes["task.status_section_mapped"] == 6 and codes["task.status_completed"] == 2


async def test_a_target_section_is_created_once_and_kept_on_later_runs() -> None:
    mapping = {"@completed": {"section": "Archive"}, "@open": {"section": "archive "}}
    h = harness(mapping)
    await run(h, mapping)
    await run(h, mapping)
    sections, tasks = destination(h)
    assert list(sections.values()).count("Archive") == 1
    archive = next(sid for sid, n in sections.items() if n == "Archive")
    assert all(tasks[name(t)].section_id == archive for t in range(9))
    ids = [e.source_id async for e in h.id_map.list("mig-0001", scope="p1") if e.kind is Kind.SECTION]
    assert sum(is_status_section(sid) for sid in ids) == 1 and not any("Archive" in sid for sid in ids)


async def test_dry_run_counts_what_the_mapping_will_do() -> None:
    mapping = {COL.format(1): {"section": "Fini", "completed": True}}
    h = harness(mapping)
    settings = await run(h, mapping, dry_run=True)
    counts = h.counts(settings)
    assert counts["adapt.task.status_section_mapped"] == 3 and counts["adapt.task.status_completed"] == 2
    assert counts["section.would_create"] == 4  # three source sections and "Fini"
    assert h.dst.count(Kind.TASK) == 0


async def test_a_changed_mapping_is_applied_by_the_next_delta() -> None:
    h = harness({})
    await run(h, {})
    _, tasks = destination(h)
    assert not tasks[name(1)].completed
    mapping = {COL.format(1): {"completed": True}}
    settings = await run(h, mapping, mode="delta")
    _, tasks = destination(h)
    assert {t for t in range(9) if tasks[name(t)].completed} == {1, 4, 7}
    assert h.counts(settings).get("task.updated", 0) >= 3
