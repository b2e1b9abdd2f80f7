"""Issue 13's fault matrix: every destination write route of each destination vendor, one
fault per run, in two shapes — the write fails before it applies (503), or it applies and its
answer is lost (connection reset) — then the run as a user would go on with it (a
``retry_failed`` when it says ``partially_succeeded``), then ``verify``: 0 missing,
0 duplicate, 0 different, 0 unexpected, beyond the documented adaptations.

The write routes are not listed by hand: a clean migration of each pair is made first and
every write route the destination simulator served for it becomes a row of the matrix, so a
new write a connector starts making is under test at once."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import httpx
import pytest

from shared.contract.connector import Page, SourceReader
from shared.contract.model import Kind, Project
from shared.contract.runs import RunStatus
from shared.engine.ports import VERIFY_DEFECTS
from tests.pairs.conftest import Outcomes
from tests.pairs.known import KNOWN, explained
from tests.pairs.migrate import Migration
from tests.pairs.scenario import pair_id
from tests.pairs.world import VENDORS, Sim

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

#: one pair per destination vendor (its write routes are the subject), from Trello's seed
#: (checklists, labels, files and links) or, into Trello, Asana's
FAULT_PAIRS = tuple(("trello" if dest != "trello" else "asana", dest) for dest in VENDORS)
SHAPES = ("status", "apply_then_drop")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
#: reads a vendor takes as a POST: monday.com's GraphQL queries, Azure DevOps' WIQL and batch
READS_AS_POST = ("/query/", "/_apis/wit/wiql", "/_apis/wit/workitemsbatch")
_counter = itertools.count()


#: a path segment that is an id: digits, a GUID, a long hexadecimal or base64url token
_ID_SEGMENT = re.compile(r"\d+|[0-9a-fA-F-]{32,36}|[0-9a-f]{24}|[A-Za-z0-9_-]{28}")


def _template(route: str) -> str:
    """``route`` with id segments as ``{id}``: a simulator that routes by its own dispatch
    (Azure DevOps) reports concrete paths, which a later migration never requests again."""
    method, path = route.split(" ", 1)
    return method + " " + "/".join("{id}" if _ID_SEGMENT.fullmatch(seg) else seg for seg in path.split("/"))


def _routes(sim: Sim) -> Counter[str]:
    """Write routes served, those inside a batch call (Asana's ``batch › …``, Graph's
    ``$batch › …``) under their own route too: a fault rule hits a batched write by its own
    method and path, and the batch call itself is a row of its own."""
    stats = httpx.get(f"{sim.base}/_sim/stats").json()
    seen: Counter[str] = Counter()
    for key, n in stats["by_route"].items():
        route = key.split(" › ", 1)[-1]
        if route.split(" ")[0] in WRITES and "/_sim" not in route and not any(read in route for read in READS_AS_POST):
            seen[_template(route)] += sum(n.values())
    return seen


def _pattern(template: str) -> str:
    """A route template as a fault path (a regex): each {param} one segment, a {rest:path}
    any number, literal segments escaped ("$Task" in an Azure DevOps path), anchored at the end."""

    def segment(seg: str) -> str:
        if re.fullmatch(r"\{[^}:]+:path\}", seg):
            return ".+"
        return "*" if re.fullmatch(r"\{[^}]+\}", seg) else re.escape(seg)

    return "/".join(segment(seg) for seg in template.split("/")) + "$"


class _OwnProjectName:
    """The source as this cell sees it: the project under a name of its own. Planner finds
    plans by name (no marker field), so without it every cell would write into the plan of
    the pair test or of an earlier cell."""

    def __init__(self, inner: SourceReader, suffix: str) -> None:
        self._inner = inner
        self._suffix = suffix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        page: Page = await self._inner.read(kind, scope, cursor, limit)
        if kind is not Kind.PROJECT:
            return page
        records = tuple(
            r.model_copy(update={"name": f"{r.name} {self._suffix}"}) if isinstance(r, Project) else r
            for r in page.records
        )
        renamed: Page = page.model_copy(update={"records": records})
        return renamed


async def _migrate(outcomes: Outcomes, pair: tuple[str, str], fault: dict[str, object] | None) -> Counter[str]:
    """One cell; returns the destination's write-route counters as they were before the
    cell's clean-up (which deletes the project it made)."""
    out = await outcomes.get(pair)
    # markers carry the first 8 letters and digits of the migration id: keep them distinct
    n = next(_counter)
    mig = Migration(f"f{n:05d}x-fault", out.migration.scope, out.migration.dest_workspace)
    notes: list[str] = []
    a, b = await out.src.runtime(), await out.dst.runtime()
    try:
        assert a.reader is not None and b.writer is not None and b.reader is not None
        source = _OwnProjectName(a.reader, f"(fault cell {n})")
        async with httpx.AsyncClient(base_url=f"{out.dst.base}/_sim") as sim:
            if fault is not None:
                (await sim.post("/faults", json={"faults": [fault]})).raise_for_status()
            first = await mig.run(source, b.writer, chunk_backoff_s=0.05)
            if fault is not None:
                injected = (await sim.get("/faults")).json().get("injected", [])
                (await sim.post("/faults", json={"faults": []})).raise_for_status()
                assert injected, f"the fault {fault} never fired"
        notes.append(f"first {first.status}")
        if first.status is RunStatus.PARTIALLY_SUCCEEDED:
            retry = await mig.run(source, b.writer, mode="retry_failed", chunk_backoff_s=0.05)
            notes.append(f"retry {retry.status}")
            assert retry.status is RunStatus.SUCCEEDED, (notes, retry.reason, retry.counts)
        else:
            assert first.status is RunStatus.SUCCEEDED, (notes, first.reason, first.counts)
        verdict = await mig.verify(source, b.reader)
        # the next cell writes into the same destination container: leave it as it was
        seen = _routes(out.dst)
        await b.writer.delete(Kind.PROJECT, mig.dest_project())
    finally:
        await a.aclose()
        await b.aclose()
    known = KNOWN.get(pair_id(pair), {})
    defects = [
        f"{r.kind} {r.source_id}: {r.status} {r.reason}"
        for r in verdict.rows
        if r.status in VERIFY_DEFECTS and not explained(r, known)
    ]
    assert not defects, (notes, defects[:10])
    return seen


@pytest.mark.parametrize("pair", FAULT_PAIRS, ids=pair_id)
async def test_one_fault_at_any_destination_write_is_finished_or_reported(
    outcomes: Outcomes, pair: tuple[str, str]
) -> None:
    out = await outcomes.get(pair)
    before = _routes(out.dst)
    used = await _migrate(outcomes, pair, None) - before
    assert len(used) >= 4, f"{pair_id(pair)}: too few write routes seen: {dict(used)}"
    cells = 0
    for route, calls in sorted(used.items()):
        method, template = route.split(" ", 1)
        for shape in SHAPES:
            fault = {
                "kind": shape,
                "status": 503,
                "method": method,
                "path": _pattern(template),
                "nth": 2 if calls >= 2 else 1,
                "count": 1,
            }
            try:
                try:
                    await _migrate(outcomes, pair, fault)
                except AssertionError as exc:
                    # A route whose count depends on a race (monday's default group is deleted by
                    # whichever section write sees it first: once or twice) may not reach a 2nd
                    # call in this run: the cell then faults its first call, so it still tests one.
                    if fault["nth"] != 2 or "never fired" not in str(exc):
                        raise
                    await _migrate(outcomes, pair, {**fault, "nth": 1})
            except AssertionError as exc:
                raise AssertionError(f"{pair_id(pair)}: {shape} at the {fault['nth']}th {route}: {exc}") from exc
            cells += 1
    print(f"\n{pair_id(pair)}: {cells} fault cells over {len(used)} write routes, all verified")
