"""The id map's ``IdMapChildren`` feature on the Cosmos stand-in (``shared.engine.child_skip``)."""

from __future__ import annotations

import uuid
from typing import Any

from shared.contract.model import Kind
from shared.engine.child_skip import ChildSkip
from shared.engine.ports import IdMapChildren, IdMapEntry, IdState
from shared.migrations.ports_cosmos import CosmosIdMap
from shared.tenancy.context import TenantContext


def _entry(kind: Kind, sid: str, *, parent: str | None = None, state: IdState = IdState.DONE) -> IdMapEntry:
    return IdMapEntry(
        migration_id="mig1",
        kind=kind,
        source_id=sid,
        scope="p1",
        marker=f"m-{sid}",
        state=state,
        dest_id=f"d-{sid}",
        source_version="v1",
        parent_id=parent,
    )


async def test_children_by_parent_and_listed_versions(stores: Any) -> None:
    ids = CosmosIdMap(TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}"), "mig1")
    assert isinstance(ids, IdMapChildren)
    for task in ("t1", "t2", "t3/odd?id"):
        await ids.put(_entry(Kind.TASK, task))
    await ids.put(_entry(Kind.ATTACHMENT, "a1", parent="t1"))
    await ids.put(_entry(Kind.ATTACHMENT, "a2", parent="t1"))
    await ids.put(_entry(Kind.ATTACHMENT, "a3", parent="t2", state=IdState.FAILED))
    await ids.put(_entry(Kind.COMMENT, "c1", parent="t1"))
    await ids.put(_entry(Kind.ATTACHMENT, "old"))  # written before parents were kept

    got = await ids.children("mig1", Kind.ATTACHMENT, ["t1", "t2", "absent"])
    assert sorted((e.parent_id, e.source_id) for e in got) == [("t1", "a1"), ("t1", "a2"), ("t2", "a3")]
    assert [e.source_id for e in await ids.children("mig1", Kind.COMMENT, ["t1"])] == ["c1"]
    assert await ids.children("mig1", Kind.ATTACHMENT, []) == []

    await ids.set_listed("mig1", Kind.ATTACHMENT, {"t1": "2026-01-01", "t2": "x", "t3/odd?id": "y", "gone": "z"})
    await ids.set_listed("mig1", Kind.COMMENT, {"t1": "c-version"})
    tasks = await ids.get_many("mig1", Kind.TASK, ["t1", "t2", "t3/odd?id", "gone"])
    assert set(tasks) == {"t1", "t2", "t3/odd?id"}  # a task without an entry is left alone
    assert tasks["t1"].children_listed == {"attachment": "2026-01-01", "comment": "c-version"}
    await ids.mark_seen("mig1", Kind.TASK, ["t1"], "run2")  # a patch keeps them
    assert (await ids.get_many("mig1", Kind.TASK, ["t1"]))["t1"].children_listed["attachment"] == "2026-01-01"

    # the engine's answer: t2 has a failed attachment, so it is listed again
    skip = ChildSkip(ids, ids, migration_id="mig1", kind=Kind.ATTACHMENT)
    assert await skip(["t1", "t2", "t3/odd?id"]) == {"t1": "2026-01-01", "t3/odd?id": "y"}
    assert sorted(e.source_id for e in skip.kept_children(["t1", "t3/odd?id"])) == ["a1", "a2"]

    # a rewritten task entry starts without listed versions
    await ids.put(_entry(Kind.TASK, "t1"))
    assert (await ids.get_many("mig1", Kind.TASK, ["t1"]))["t1"].children_listed == {}
