"""Planner attachments at every size boundary (issue 13, defect 10: a file whose size is an
exact multiple of 3,276,800 bytes never completed its upload session).

Each size goes through ``PlannerWriter.upload_attachment`` against the Graph simulator,
whose upload session answers as Graph documents it: 202 + ``nextExpectedRanges`` for every
fragment but the last, 201/200 + the driveItem for the one that completes the file
(https://learn.microsoft.com/graph/api/driveitem-createuploadsession). The stored file must
have the source's bytes, and the session must have taken exactly one fragment per 3,276,800
bytes (rounded up). ``session_only`` lowers the simple-upload ceiling to 0 so the small
sizes exercise the session too.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.planner import (
    GRAPH_RATE_LIMIT,
    PlannerCredentials,
    PlannerSettings,
    PlannerWriter,
    connect,
    uploads,
)
from shared.connectors.planner.uploads import FRAGMENT, SIMPLE_UPLOAD_MAX, marker_dir
from shared.contract.connector import DestRefs
from shared.contract.limits import RateLimit
from shared.contract.model import Attachment, Kind
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker
from shared.errors import SkippableItemError
from shared.net.http import build_client
from simulators.common import make_blob, serve
from simulators.planner import SeedConfig, create_app

CFG = SeedConfig(
    tasks_per_plan=40, deleted_tasks_per_plan=0, plans_per_group=1, reference_ratio=0.0, attachment_sizes=[]
)
FAST = RateLimit(requests=10_000, per_seconds=1, burst=1_000, concurrency=8, batch=GRAPH_RATE_LIMIT.batch)
KIB_320 = 320 * 1024
SIZES = sorted(
    {
        0,
        1,
        KIB_320 - 1,
        KIB_320,
        KIB_320 + 1,
        *(n * FRAGMENT + d for n in (1, 2) for d in (-1, 0, 1)),
        SIMPLE_UPLOAD_MAX - 1,
        SIMPLE_UPLOAD_MAX,
        SIMPLE_UPLOAD_MAX + 1,
    }
)
FRAGMENT_ROUTE = "PUT /_api/v2.0/drives/{drive_id}/uploadSession"
#: source chunk sizes, cycled, so fragment edges fall inside and between chunks
CHUNKS = (1_000, 65_536, 333_333, FRAGMENT)


class Sim:
    def __init__(self, app: Any, origin: str) -> None:
        self.app = app
        self.origin = origin
        self.store = app.state.planner.store
        self.tasks = iter([t.id for t in self.store.tasks.values() if not t.deleted])

    def writer(self) -> PlannerWriter:
        creds = PlannerCredentials(
            self.store.tenant_id, CFG.client_id, username=f"bob@{CFG.tenant_domain}", password=CFG.user_password
        )
        settings = PlannerSettings(base_url=f"{self.origin}/v1.0", login_base_url=self.origin, allow_loopback=True)
        http = build_client("planner", allow_loopback=True, base_url=f"{self.origin}/v1.0")
        return PlannerWriter(connect(creds, settings, pacer=Pacer(FAST, rng=random.Random(5)), http=http))


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    app = create_app(CFG)
    with serve(app) as origin:
        yield Sim(app, origin)


def _stored_bytes(item: Any) -> bytes:
    item.content.seek(0)
    return bytes(item.content.read())


@pytest.mark.parametrize("session_only", [False, True], ids=["default", "session_only"])
@pytest.mark.parametrize("size", SIZES)
async def test_upload_completes_at_every_size_boundary(
    sim: Sim, size: int, session_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if session_only:
        monkeypatch.setattr(uploads, "SIMPLE_UPLOAD_MAX", 0)
    blob = make_blob(size, f"upload-{size}")
    expected = blob.read()
    sizes = itertools.cycle(CHUNKS)

    async def chunks() -> AsyncIterator[bytes]:
        pos = 0
        while pos < size:
            step = next(sizes)
            yield expected[pos : pos + step]
            pos += step

    name = f"file-{size}.bin"
    att = Attachment(
        source_id=f"src-{size}-{session_only}", version="1", project_id="p", task_id="t", name=name, size=size
    )
    marker = make_marker("mig-sizes", Kind.ATTACHMENT, att.source_id)
    refs = DestRefs(project=next(iter(sim.store.plans)), task=next(sim.tasks))
    writer = sim.writer()
    async with httpx.AsyncClient(base_url=sim.origin) as ctl:
        await ctl.post("/_sim/stats/reset")
        try:
            dest = await writer.upload_attachment(att, refs, marker, chunks())
        finally:
            await writer.client.aclose()
        stats = (await ctl.get("/_sim/stats")).json()
    assert dest.startswith(f"{refs.task}|")
    items = [i for i in sim.store.drive_items.values() if marker_dir(marker) in i.path]
    assert [(i.name, i.size) for i in items] == [(name, size)]
    stored = _stored_bytes(items[0])
    assert len(stored) == size
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(expected).hexdigest()
    fragments = stats["by_route"].get(FRAGMENT_ROUTE, {})
    if size <= (0 if session_only else SIMPLE_UPLOAD_MAX):
        assert fragments == {}  # one simple PUT
    else:
        n = -(-size // FRAGMENT)  # fragments, rounded up
        assert fragments == ({"202": n - 1, "201": 1} if n > 1 else {"201": 1})
    assert not sim.store.upload_sessions  # every session completed
    assert not [s for s in stats["by_status"] if s.startswith(("4", "5"))], stats


async def test_a_source_shorter_than_declared_is_refused(sim: Sim) -> None:
    """A stream that ends early on a fragment boundary must not pass for a complete file."""
    declared = 2 * FRAGMENT + 10
    data = make_blob(2 * FRAGMENT, "short").read()

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    att = Attachment(source_id="src-short", version="1", project_id="p", task_id="t", name="short.bin", size=declared)
    marker = make_marker("mig-sizes", Kind.ATTACHMENT, "src-short")
    refs = DestRefs(project=next(iter(sim.store.plans)), task=next(sim.tasks))
    writer = sim.writer()
    try:
        with pytest.raises(SkippableItemError, match=f"{2 * FRAGMENT} bytes but {declared}"):
            await writer.upload_attachment(att, refs, marker, chunks())
    finally:
        await writer.client.aclose()
    assert not [i for i in sim.store.drive_items.values() if marker_dir(marker) in i.path]
    assert not sim.store.upload_sessions  # the dead session was cancelled


@pytest.mark.parametrize(
    ("kind", "nth"),
    [
        ("apply_then_drop", 2),
        ("apply_then_drop", 3),
        ("apply_then_status", 1),
        ("apply_then_status", 3),
        ("drop", 2),
        ("status", 3),
    ],
)
async def test_a_fragment_whose_answer_is_lost_does_not_break_the_upload(sim: Sim, kind: str, nth: int) -> None:
    """Three fragments; one of them is applied and its answer lost (or refused before it
    is applied). The uploader asks the session what it has and finishes the same file."""
    size = 2 * FRAGMENT + 5
    data = make_blob(size, f"lost-{kind}-{nth}").read()

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    att = Attachment(
        source_id=f"src-lost-{kind}-{nth}", version="1", project_id="p", task_id="t", name="lost.bin", size=size
    )
    marker = make_marker("mig-sizes", Kind.ATTACHMENT, att.source_id)
    refs = DestRefs(project=next(iter(sim.store.plans)), task=next(sim.tasks))
    writer = sim.writer()
    async with httpx.AsyncClient(base_url=sim.origin) as ctl:
        await ctl.post(
            "/_sim/faults",
            json={"faults": [{"kind": kind, "status": 504, "method": "PUT", "path": "/uploadSession$", "nth": nth}]},
        )
        try:
            await writer.upload_attachment(att, refs, marker, chunks())
        finally:
            await writer.client.aclose()
        plan = (await ctl.get("/_sim/faults")).json()
        await ctl.post("/_sim/faults", json={})
    assert [e["kind"] for e in plan["injected"]] == [kind]
    items = [i for i in sim.store.drive_items.values() if marker_dir(marker) in i.path]
    assert [(i.name, i.size) for i in items] == [("lost.bin", size)]
    assert _stored_bytes(items[0]) == data
    assert not sim.store.upload_sessions
