"""Verify one migrated scope: read both sides, pair items through the id map, compare them
field by field (``compare``) and give every item a verdict.

Verdicts (``ItemStatus``): ``ok``; ``missing`` (not at the destination, or written there but
no longer readable); ``different`` (the row's reason names the fields, never their values);
``duplicate`` (a destination item no source item explains, carrying the same name as a
migrated item of its kind); ``unexpected`` (any other destination item of the migrated
containers that no source item explains); ``skipped`` (the id map says the run skipped it,
with the reason it gave then: a documented loss, not a defect). Differences that belong to
no single item (the order of a list of sections) make the project's verdict ``different``.

Reads only: nothing is written at either side. Files compare by name and size, and by a
SHA-256 of their bytes when ``with_bytes`` (each file is streamed once from each side).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shared.contract.connector import SourceReader
from shared.contract.model import Kind
from shared.engine.ports import IdMap, IdMapEntry, IdState, ItemReport, ItemStatus
from shared.engine.scoped_ids import unscoped
from shared.verify.checks import Comparison, Diff
from shared.verify.compare import compare
from shared.verify.snapshot import Snapshot, snapshot

_MISSING_CODES = ("not_migrated:",)
_UNREADABLE = ".unreadable"


@dataclass
class ScopeVerdict:
    counts: Counter[str]
    rows: list[ItemReport]
    comparison: Comparison | None = None


def _name(rec: object) -> str:
    return str(getattr(rec, "name", None) or getattr(rec, "text", "") or "")


def verdicts(
    scope: str, src: Snapshot, dst: Snapshot, entries: dict[tuple[Kind, str], IdMapEntry], comparison: Comparison
) -> ScopeVerdict:
    """One row per source item and per unexplained destination item."""
    by_item: dict[tuple[Kind, str], set[str]] = {}
    scope_codes: set[str] = set()
    extras: list[Diff] = []
    for d in comparison.diffs:
        if d.dest_id is not None:
            extras.append(d)
        elif d.kind is None or d.source_id is None:
            scope_codes.add(d.code)
        else:
            by_item.setdefault((d.kind, d.source_id), set()).add(d.code)
    rows: list[ItemReport] = []
    counts: Counter[str] = Counter()

    def add(kind: Kind, sid: str, status: ItemStatus, dest_id: str | None, reason: str | None) -> None:
        counts[f"{kind}.{status}"] += 1
        rows.append(ItemReport(kind=kind, source_id=sid, scope=scope, status=status, dest_id=dest_id, reason=reason))

    for kind in (Kind.PROJECT, Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT):
        for sid in src.of(kind):
            entry = entries.get((kind, sid))
            codes = by_item.get((kind, sid), set())
            if kind is Kind.PROJECT:
                codes = codes | scope_codes
            dest_id = entry.dest_id if entry else None
            if any(c.startswith(_MISSING_CODES) or c.endswith(_UNREADABLE) for c in codes):
                if entry is not None and entry.state is IdState.SKIPPED:
                    add(kind, sid, ItemStatus.SKIPPED, None, entry.reason)
                else:
                    add(
                        kind,
                        sid,
                        ItemStatus.MISSING,
                        None,
                        entry.reason if entry is not None and entry.reason else None,
                    )
            elif codes:
                add(kind, sid, ItemStatus.DIFFERENT, dest_id, "fields: " + ", ".join(sorted(codes)))
            else:
                add(kind, sid, ItemStatus.OK, dest_id, None)
    migrated_names: dict[Kind, dict[str, str]] = {}
    for (kind, sid), entry in entries.items():
        rec = src.of(kind).get(sid) if kind is not Kind.PROJECT else None
        if rec is not None and entry.dest_id:
            migrated_names.setdefault(kind, {}).setdefault(_name(rec), sid)
    for d in extras:
        extra_kind = _extra_kind(d.code)
        rec = dst.of(extra_kind).get(d.dest_id or "") if extra_kind is not None else None
        twin = migrated_names.get(extra_kind, {}).get(_name(rec)) if extra_kind and rec is not None else None
        status = ItemStatus.DUPLICATE if twin is not None else ItemStatus.UNEXPECTED
        reason = f"same name as source {extra_kind} {twin}" if twin else "no source item"
        add(extra_kind or Kind.PROJECT, f"dest:{d.dest_id}", status, d.dest_id, reason)
    return ScopeVerdict(counts, rows, comparison)


def _extra_kind(code: str) -> Kind | None:
    head = code.removesuffix(".extra")
    try:
        return Kind(head)
    except ValueError:
        return None


async def verify_scope(
    reader: SourceReader,
    dest_reader: SourceReader,
    id_map: IdMap,
    *,
    migration_id: str,
    scope: str,
    with_bytes: bool = False,
) -> ScopeVerdict:
    """Read ``scope`` at the source and its copy at the destination, and compare them."""
    project = (await id_map.get_many(migration_id, Kind.PROJECT, [scope])).get(scope)
    if project is None or not project.dest_id:
        counts: Counter[str] = Counter({f"{Kind.PROJECT}.{ItemStatus.MISSING}": 1})
        return ScopeVerdict(
            counts,
            [
                ItemReport(
                    kind=Kind.PROJECT,
                    source_id=scope,
                    scope=scope,
                    status=ItemStatus.MISSING,
                    reason="the container was never migrated",
                )
            ],
        )
    entries: dict[tuple[Kind, str], IdMapEntry] = {}
    async for entry in id_map.list(migration_id, scope=scope):
        sid = unscoped(entry)
        entries[(entry.kind, sid)] = entry.model_copy(update={"source_id": sid})
    src_vendor = reader.capabilities.vendor
    dst_vendor = dest_reader.capabilities.vendor
    src = await snapshot(src_vendor, reader, scope, with_bytes=with_bytes)
    # the writer's project id is the container id its reader takes
    dst = await snapshot(dst_vendor, dest_reader, project.dest_id, with_bytes=with_bytes)
    done = {k: e for k, e in entries.items() if e.state is IdState.DONE and e.dest_id}
    failed = [
        ItemReport(kind=e.kind, source_id=e.source_id, scope=scope, status=ItemStatus(e.state.value), reason=e.reason)
        for e in entries.values()
        if e.state in (IdState.FAILED, IdState.SKIPPED)
    ]
    people = {(u.email or "").lower() for t in dst.tasks.values() for u in t.assignees if u.email}
    comparison = compare(src, dst, done, failed, people)
    return verdicts(scope, src, dst, entries, comparison)
