"""statusMapping on a migration: validated as the API promises, handed to the engine in the
run settings, and the source side (sections by name, status sections) from MappedReader."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.connectors.memory import MemoryReader, MemoryVendor, seed_project
from shared.contract.model import Kind, Section
from shared.engine.status_map import StatusRule, is_status_section, map_task, scope_sections
from shared.migrations.remap import MappedReader
from shared.migrations.service import MigrationSpec

BASE: dict[str, Any] = {
    "name": "m",
    "sourceConnectorId": "c1",
    "destinationConnectorId": "c2",
    "scopes": [{"id": "p1"}],
}


def spec(**extra: Any) -> MigrationSpec:
    return MigrationSpec.model_validate({**BASE, **extra})


def test_rules_and_the_legacy_string_form_are_stored_as_rules() -> None:
    stored = spec(
        statusMapping={
            "Done": {"section": "Completed", "completed": True},
            "Doing": "In progress",
            "@completed": {"completed": True},
        }
    ).model_dump(mode="json")["statusMapping"]
    assert stored == {
        "Done": {"section": "Completed", "completed": True},
        "Doing": {"section": "In progress", "completed": None},
        "@completed": {"section": None, "completed": True},
    }


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        ({"Done": {}}, "give section, completed or both"),
        ({"Done": {"section": "x", "colour": "red"}}, "colour"),
        ({"Done": {"completed": "maybe"}}, "completed"),
        ({"Done": ""}, "blank"),
        ({"@closed": {"completed": True}}, "unknown special key"),
        ({"Done": "A", " DONE": "B"}, "the same section name"),
    ],
)
def test_invalid_mappings_name_the_field(mapping: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        spec(statusMapping=mapping)
    errors = info.value.errors()
    assert all(e["loc"][0] == "statusMapping" for e in errors), errors
    assert any(needle in e["msg"] or needle in "".join(map(str, e["loc"])) for e in errors), errors


def test_scope_names_are_accepted_but_never_kept() -> None:
    dumped = spec(scopes=[{"id": "b1", "name": "Roadmap 2025"}]).model_dump(mode="json")
    assert dumped["scopes"] == [{"id": "b1"}]
    assert "Roadmap" not in repr(dumped)


def test_run_settings_carry_the_rules() -> None:
    from shared.migrations.service import run_settings

    class Ctx:
        tenant_id = "org_eu_x"

        class stores:
            class settings:
                chunk_lease_s = 360.0

    migration = {"id": "mig_1", "statusMapping": {"Done": "Completed", "Doing": {"completed": False}}}
    settings = run_settings(Ctx(), migration, {"id": "run_1", "mode": "full"})  # type: ignore[arg-type]
    assert settings.status_map == {"Done": StatusRule(section="Completed"), "Doing": StatusRule(completed=False)}
    assert run_settings(Ctx(), {"id": "mig_1"}, {"id": "run_1", "mode": "full"}).status_map == {}  # type: ignore[arg-type]


def _reader(**mapping: Any) -> tuple[MemoryVendor, MappedReader]:
    vendor = MemoryVendor(name="src")
    seed_project(vendor, sections=3, tasks=6, subtasks_every=0)  # sections "Colonne 0 – 進行中"…
    return vendor, MappedReader(MemoryReader(vendor), {"statusMapping": mapping})


async def _all(reader: MappedReader, kind: Kind, limit: int) -> list[Any]:
    out, cursor = [], None
    while True:
        page = await reader.read(kind, "p1", cursor, limit)
        out.extend(page.records)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 50])
async def test_status_sections_come_after_the_source_sections(limit: int) -> None:
    _, reader = _reader(
        **{
            "colonne 0 – 進行中": "Colonne 2 – 進行中",
            "p1-s1": {"section": "Archive"},
            "@completed": {"section": "Archive", "completed": True},
        }
    )
    sections = await _all(reader, Kind.SECTION, limit)
    assert [s.name for s in sections] == [f"Colonne {i} – 進行中" for i in range(3)] + ["Archive"]
    extra = sections[-1]
    assert is_status_section(extra.source_id) and extra.position > max(s.position for s in sections[:-1])
    # the version carries the mapping: changing it makes the next delta update
    assert all("+m" in s.version for s in sections)


async def test_no_status_mapping_no_extra_section_and_no_extra_read() -> None:
    vendor, _ = _reader()
    reader = MappedReader(MemoryReader(vendor), {})
    assert [s.name for s in await _all(reader, Kind.SECTION, 50)] == [f"Colonne {i} – 進行中" for i in range(3)]
    assert reader.fingerprint is None


async def test_section_names_read_once_and_drive_map_task() -> None:
    _, reader = _reader(**{"Colonne 1 – 進行中": {"section": "Fini", "completed": True}})
    calls = {"n": 0}
    inner = reader._reader
    original = inner.read

    async def counting(kind: Kind, scope: str, cursor: str | None, limit: int) -> Any:
        if kind is Kind.SECTION:
            calls["n"] += 1
        return await original(kind, scope, cursor, limit)

    inner.read = counting  # type: ignore[method-assign]
    import asyncio

    names = await asyncio.gather(*(scope_sections(reader, "p1") for _ in range(8)))
    assert calls["n"] == 1 and all(n == names[0] for n in names)
    fini = next(sid for sid, name in names[0].items() if name == "Fini")
    tasks = list(await _all(reader, Kind.TASK, 50))
    moved = [map_task(reader.status_map, t, names[0], inner.capabilities)[0] for t in tasks]
    in_s1 = [t.source_id for t in tasks if t.section_id == "p1-s1"]
    assert in_s1 and {t.source_id for t in moved if t.section_id == fini} == set(in_s1)
    assert all(t.completed for t in moved if t.source_id in in_s1)


async def test_an_archived_and_an_open_section_of_one_name_the_open_one_wins() -> None:
    vendor, reader = _reader(**{"@open": "Colonne 0 – 進行中"})
    vendor.put(
        Section(
            source_id="p1-s9",
            version=vendor.new_version(),
            project_id="p1",
            name="colonne 0 – 進行中",
            position=-1.0,
            archived=True,
        )
    )
    names = await scope_sections(reader, "p1")
    assert list(names)[:1] == ["p1-s0"]
