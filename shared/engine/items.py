"""Per-item migration: delta decision, adaptation, intent, reconcile by marker, write.

Item-level failures (a 4xx for this item, a mapping error, a missing parent) end as a
FAILED result with a reason; the rest of the page goes on. Chunk-level conditions
(``DeferChunk``, ``AuthRequiredError``, ``TransientError`` after retries, ``FatalRunError``)
propagate to the chunk runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from shared.contract.clock import Clock
from shared.contract.connector import (
    Capabilities,
    DestinationWriter,
    DestRefs,
    SourceReader,
    Written,
)
from shared.contract.model import Attachment, Comment, Kind, Record, Task
from shared.contract.pacer import DeferChunk
from shared.contract.text import make_marker
from shared.engine.adapt import adapt, fit_description, skip_reason
from shared.engine.idmap import (
    Delta,
    ParentResolver,
    decide,
    done,
    intent,
    not_migrated,
    parent_task,
    retryable,
)
from shared.engine.placement import TaskPlacement, placed_task
from shared.engine.plan import RunSettings
from shared.engine.ports import IdMap, IdMapEntry, IdState, ItemStatus
from shared.engine.scoped_ids import SCOPED_KINDS, scoped
from shared.engine.status_map import map_task, scope_sections
from shared.engine.streams import bounded
from shared.errors import (
    AuthRequiredError,
    FatalRunError,
    NotFoundError,
    ThrottledError,
    TransientError,
)

#: Errors that stop the chunk instead of failing one item.
CHUNK_LEVEL = (DeferChunk, AuthRequiredError, TransientError, FatalRunError, asyncio.TimeoutError, ConnectionError)


@dataclass
class ItemContext:
    settings: RunSettings
    scope: str
    run_id: str
    reader: SourceReader
    writer: DestinationWriter
    id_map: IdMap
    clock: Clock


@dataclass
class ItemResult:
    kind: Kind
    source_id: str
    scope: str
    status: ItemStatus
    dest_id: str | None = None
    reason: str | None = None
    adaptations: list[str] = field(default_factory=list)
    skip_code: str | None = None
    counted: bool = True  # False: already counted by an earlier delivery of this chunk
    report: bool = True  # False: no report row (unchanged items are counted only)


def _waves(records: list[Record]) -> list[list[Record]]:
    """Split a page so that a subtask runs after its parent when both are in the page."""
    in_page = {r.source_id: r for r in records}
    depth: dict[str, int] = {}

    def level(rec: Record, guard: int = 0) -> int:
        if rec.source_id in depth:
            return depth[rec.source_id]
        parent = rec.parent_id if isinstance(rec, Task) else None
        d = 0
        if parent in in_page and guard < 100:
            d = level(in_page[parent], guard + 1) + 1
        depth[rec.source_id] = d
        return d

    waves: dict[int, list[Record]] = {}
    for rec in records:
        waves.setdefault(level(rec), []).append(rec)
    return [waves[k] for k in sorted(waves)]


def _lanes(wave: list[Record]) -> list[list[int]]:
    """Indexes of ``wave`` that run one after the other, in page order: the comments of one
    task share a lane (no writer can place a comment, so the destination shows them in the
    order they are written); every other record has a lane of its own, so a page still
    runs concurrently."""
    lanes: dict[str, list[int]] = {}
    for i, rec in enumerate(wave):
        key = f"comments:{rec.task_id}" if isinstance(rec, Comment) else f"item:{i}"
        lanes.setdefault(key, []).append(i)
    return list(lanes.values())


class ItemProcessor:
    """Processes the records of one page (all of one kind)."""

    def __init__(self, ctx: ItemContext) -> None:
        self.ctx = ctx
        self.caps = ctx.writer.capabilities
        self.resolver = ParentResolver(ctx.id_map, ctx.settings.migration_id, ctx.settings.dest_workspace, ctx.run_id)
        self.placement = TaskPlacement(
            ctx.id_map,
            ctx.settings.migration_id,
            ctx.scope,
            status_mapped=bool(ctx.settings.status_map),
            anchored=self.caps.sibling_anchors,
        )
        #: source ids with an entry that this run saw without writing it (→ mark_seen)
        self.seen: dict[Kind, list[str]] = {}
        #: source ids whose intent this wave wrote up front (``_write_intents``)
        self._intended: set[str] = set()
        #: entries of items written in this wave, stored together when it ends (``_store_written``)
        self._written: list[IdMapEntry] = []
        self._stopped = False
        self.out_of_time = False  # the chunk budget ran out before every item started
        self._started = ctx.clock.monotonic()

    async def process_page(self, records: list[Record]) -> list[ItemResult | BaseException]:
        """Results in page order per wave; chunk-level errors appear as exceptions."""
        if not records:
            return []
        kind = records[0].kind
        ids = [r.source_id for r in records]
        entries = await self.ctx.id_map.get_many(self.ctx.settings.migration_id, kind, ids)
        if self.ctx.settings.mode == "retry_failed":
            # only what earlier runs could not migrate; the rest is not touched nor counted
            records = [r for r in records if retryable(entries.get(r.source_id))]
            if not records:
                return []
        await self.resolver.prefetch(records)
        if kind is Kind.TASK:
            self.placement.start_page(records, entries)
        sem = asyncio.Semaphore(self.ctx.settings.item_concurrency)
        results: list[ItemResult | BaseException] = []

        async def one(rec: Record) -> ItemResult | None:
            async with sem:
                if self._stopped:
                    return None  # left for the next delivery of this chunk
                if self.ctx.clock.monotonic() - self._started > self.ctx.settings.chunk_budget_s:
                    self.out_of_time = True  # stay well inside the Functions timeout
                    return None
                try:
                    return await self._process(rec, entries.get(rec.source_id))
                except CHUNK_LEVEL:
                    self._stopped = True
                    raise

        async def lane(recs: list[Record]) -> list[ItemResult | BaseException | None]:
            # one after the other: a destination shows comments in arrival order
            out: list[ItemResult | BaseException | None] = []
            for rec in recs:
                try:
                    out.append(await one(rec))
                except BaseException as exc:
                    out.append(exc)
                    if not isinstance(exc, Exception):
                        break  # cancelled: the rest is left for the next delivery
            return out + [None] * (len(recs) - len(out))

        for wave in _waves(records):
            lanes = _lanes(wave)
            await self._write_intents(wave, entries)
            done = await asyncio.gather(*(lane([wave[i] for i in idx]) for idx in lanes))
            unstored = await self._store_written()
            if unstored:
                # an item whose result was not kept ends as that error (the chunk is retried
                # and its next delivery finds the item by marker), as a lone put's failure did
                done = [
                    [unstored.get((r.kind, r.source_id), r) if isinstance(r, ItemResult) else r for r in out]
                    for out in done
                ]
            placed = {i: r for idx, out in zip(lanes, done, strict=True) for i, r in zip(idx, out, strict=True)}
            results.extend(r for i in range(len(wave)) if (r := placed[i]) is not None)
            if self._stopped or self.out_of_time:
                break
        return results

    async def _write_intents(self, wave: list[Record], entries: Mapping[str, IdMapEntry]) -> None:
        """The intents of the wave's items that will be created, in one request (issue 19:
        two id-map writes per item were a fifth of a worker's CPU). An intent is what makes
        a redelivered chunk look for an item by its marker before creating it again, so it
        must be stored before the item's vendor write — here, before any of the wave's.

        The same items ``_write`` would write an intent for (new, or an intent whose outcome
        is unknown), less those it may find instead that turn out present: an intent for an
        item then found by its natural key or marker is overwritten by its result. Items the
        wave does not reach (the chunk ran out of time) keep theirs: the next delivery looks
        for them by marker first, as after a crash."""
        self._intended.clear()
        ctx = self.ctx
        if ctx.settings.dry_run:
            return
        intents = []
        for rec in wave:
            entry = entries.get(rec.source_id)
            if decide(entry, rec) not in (Delta.NEW, Delta.RECONCILE):
                continue
            if (
                entry is not None
                and entry.last_run_id == ctx.run_id
                and entry.state in (IdState.FAILED, IdState.SKIPPED)
            ):
                continue  # settled earlier in this run: _process returns before writing
            if skip_reason(rec, self.caps) is not None:
                continue
            intents.append(self._intent(rec, entry))
        if intents:
            outcomes = await ctx.id_map.put_many(intents)
            # an intent not stored is written again by its item, before its vendor write
            self._intended.update(e.source_id for e, exc in zip(intents, outcomes, strict=True) if exc is None)

    async def _store_written(self) -> dict[tuple[Kind, str], Exception]:
        """The results of the wave's written items, in one request per ``BATCH_MAX``. Until
        they are stored each item has its intent, so a worker that dies first leaves items
        the next delivery finds by marker (every kind of every writer is findable:
        ``Capabilities.marker_kinds`` / ``natural_key_kinds``), never duplicates."""
        written, self._written = self._written, []
        if not written:
            return {}
        outcomes = await self.ctx.id_map.put_many(written)
        return {(e.kind, e.source_id): exc for e, exc in zip(written, outcomes, strict=True) if exc is not None}

    async def _process(self, rec: Record, entry: IdMapEntry | None) -> ItemResult:
        ctx = self.ctx
        kind, sid = rec.kind, rec.source_id

        def result(status: ItemStatus, **kw: Any) -> ItemResult:
            return ItemResult(kind=kind, source_id=sid, scope=ctx.scope, status=status, **kw)

        delta = decide(entry, rec)
        if delta in (Delta.UNCHANGED, Delta.CHANGED) and entry is not None and self._orphaned(entry, rec):
            delta = Delta.NEW
        already = entry is not None and entry.last_run_id == ctx.run_id
        if entry is not None and not already:
            self.seen.setdefault(kind, []).append(sid)
        if delta is Delta.UNCHANGED:
            assert entry is not None
            parent = parent_task(rec)
            fixed = entry
            if parent is not None and entry.parent_id != parent:
                # an entry written before parents were kept: name it once, so that a later
                # delta may skip listing this task's children (``shared.engine.child_skip``)
                fixed = entry.model_copy(update={"parent_id": parent})
            # a task the source now lists elsewhere without a new version: its siblings'
            # anchors must see where it is (``shared.engine.placement``)
            fixed = self.placement.refreshed(fixed, rec) or fixed
            if fixed is not entry and not ctx.settings.dry_run:
                await ctx.id_map.put(fixed.model_copy(update={"last_run_id": ctx.run_id}))
                if sid in self.seen.get(kind, ()):
                    self.seen[kind].remove(sid)
            return result(ItemStatus.UNCHANGED, dest_id=entry.dest_id, counted=not already, report=False)
        if already and entry is not None and entry.state in (IdState.FAILED, IdState.SKIPPED):
            # failed or skipped earlier in this run (a redelivered chunk): once is enough
            status = ItemStatus.FAILED if entry.state is IdState.FAILED else ItemStatus.SKIPPED
            return result(status, counted=False, report=False)
        skip = skip_reason(rec, self.caps)
        if skip is not None:
            await self._not_migrated(rec, entry, IdState.SKIPPED, skip[1])
            return result(ItemStatus.SKIPPED, reason=skip[1], skip_code=skip[0])
        try:
            adapted, notes = adapt(rec, self.caps, ctx.writer)
            codes = [n.code for n in notes]
            if isinstance(adapted, Task) and ctx.settings.status_map:
                # the migration's statusMapping (before the dry-run return: it reports it too)
                adapted, mapped = map_task(
                    ctx.settings.status_map, adapted, await scope_sections(ctx.reader, ctx.scope), self.caps
                )
                codes += [n.code for n in mapped]
                await self.resolver.prefetch([adapted])  # the mapped section's destination id
            if ctx.settings.dry_run:
                status = ItemStatus.WOULD_UPDATE if delta is Delta.CHANGED else ItemStatus.WOULD_CREATE
                return result(status, adaptations=codes, report=bool(codes))
            refs = self.resolver.refs(adapted)
            if isinstance(adapted, Task) and refs.section:
                placing = await self.placement.refs_for(adapted, entry, delta)
                refs = refs.model_copy(update=placing) if placing else refs
            if isinstance(rec, Task) and rec.parent_id and not getattr(adapted, "parent_id", None):
                # flattened: the writer may name the parent in the text (None: not migrated)
                refs = refs.model_copy(update={"flattened_parent": self.resolver.known(Kind.TASK, rec.parent_id)})
            adapted = _missing_labels_to_description(adapted, refs, codes, self.caps)
            dest_id, status, adopted = await self._write(delta, entry, rec, adapted, refs, codes)
        except CHUNK_LEVEL:
            raise
        except Exception as exc:
            await self._not_migrated(rec, entry, IdState.FAILED, _reason(exc))
            return result(ItemStatus.FAILED, reason=_reason(exc))
        depth = self.resolver.depth(rec)
        self._written.append(
            done(
                ctx.settings.migration_id,
                ctx.scope,
                rec,
                self._marker(rec),
                ctx.run_id,
                dest_id,
                ctx.clock.now(),
                adopted=adopted,
                depth=depth,
                action=status.value,
                adaptations=tuple(codes),
                section_id=adapted.section_id if placed_task(adapted) else None,
                position=adapted.position if placed_task(adapted) else None,
            )
        )
        if sid in self.seen.get(kind, ()):
            self.seen[kind].remove(sid)
        self.resolver.remember(kind, sid, dest_id, depth, action=status)
        return result(status, dest_id=dest_id, adaptations=codes)

    async def _not_migrated(self, rec: Record, entry: IdMapEntry | None, state: IdState, reason: str) -> None:
        ctx = self.ctx
        if ctx.settings.dry_run:
            return
        await ctx.id_map.put(
            not_migrated(
                ctx.settings.migration_id,
                ctx.scope,
                rec,
                self._marker(rec),
                ctx.run_id,
                state,
                ctx.clock.now(),
                entry,
                depth=self.resolver.depth(rec),
                reason=reason,
            )
        )
        if rec.source_id in self.seen.get(rec.kind, ()):
            self.seen[rec.kind].remove(rec.source_id)

    def _intent(self, rec: Record, entry: IdMapEntry | None) -> IdMapEntry:
        """The entry stored before ``rec``'s create: a redelivery looks for it by marker first."""
        ctx = self.ctx
        return intent(
            ctx.settings.migration_id,
            ctx.scope,
            rec,
            self._marker(rec),
            ctx.run_id,
            ctx.clock.now(),
            entry,
            depth=self.resolver.depth(rec),
        )

    def _marker(self, rec: Record) -> str:
        sid = rec.source_id
        if self.caps.labels_per_project and rec.kind in SCOPED_KINDS:
            sid = scoped(self.ctx.scope, sid)  # one destination label per project
        return make_marker(self.ctx.settings.migration_id, rec.kind, sid)

    async def _write(
        self, delta: Delta, entry: IdMapEntry | None, rec: Record, adapted: Record, refs: DestRefs, late: list[str]
    ) -> tuple[str, ItemStatus, bool]:
        """Write the item; ``late`` collects adaptation codes the writer reports.

        Returns the destination id, the status, and whether the item was *adopted*: found
        by its natural key (not by this migration's marker), so it may have existed at the
        destination before Ferry and a rollback must leave it alone.
        """
        ctx, caps = self.ctx, self.caps
        kind, marker = rec.kind, self._marker(rec)
        writer = ctx.writer
        if delta is Delta.CHANGED and entry is not None and entry.dest_id:
            try:
                dest = await self._update(entry.dest_id, rec, adapted, refs, late)
                return dest, ItemStatus.UPDATED, entry.adopted
            except NotFoundError:
                delta = Delta.NEW  # gone at the destination: create it again
        findable = kind in caps.marker_kinds or kind in caps.natural_key_kinds
        if findable and (delta is Delta.RECONCILE or (kind in caps.natural_key_kinds and not self._fresh(delta, rec))):
            found = await writer.find_by_marker(kind, marker, adapted, refs)
            if found is not None:
                if delta is Delta.RECONCILE:  # the earlier attempt may have written partly
                    found = await self._update(found, rec, adapted, refs, late)
                # by natural key, a same-named item may predate the migration: keep it safe
                adopted = kind not in caps.marker_kinds
                return found, ItemStatus.RECONCILED, adopted
        if rec.source_id not in self._intended:  # e.g. an update whose item was gone
            await ctx.id_map.put(self._intent(rec, entry))
        return await self._create(rec, adapted, refs, marker, late), ItemStatus.CREATED, False

    def _orphaned(self, entry: IdMapEntry, rec: Record) -> bool:
        """A comment or attachment written by an earlier run under a task this run created
        anew: the task was deleted at the destination and created again (its update answered
        404; or found by marker after such a create, when the worker died before recording
        it), and what was written under the old copy went with it. Its entry still says done,
        so without this the run skipped it as unchanged and "succeeded" with the task's
        comments and attachments missing. Written by this run (a redelivered chunk), it is
        kept; an intent (no destination id yet) is still looked for by its marker."""
        task = parent_task(rec)
        return task is not None and entry.written_run_id != self.ctx.run_id and self.resolver.remade_this_run(task)

    def _fresh(self, delta: Delta, rec: Record) -> bool:
        """A new item (never tried by this migration: no id-map entry) whose task this run
        created: nothing of the same natural key can be there to adopt (a same-named
        attachment on a task made minutes ago by this run), so the look before the create
        is skipped. An item tried before has an entry (its intent is stored before the write)
        and is looked for as ``Delta.RECONCILE``. Saves one request per attachment (Asana:
        a listing of the task's attachments, 7 % of a Trello → Asana run's requests)."""
        task = parent_task(rec)
        return delta is Delta.NEW and task is not None and self.resolver.created_this_run(task)

    async def _update(self, dest_id: str, rec: Record, adapted: Record, refs: DestRefs, late: list[str]) -> str:
        marker = self._marker(rec)
        if isinstance(adapted, Attachment):
            # attachments cannot be edited: upload the new one, then remove the old one
            new_id = await self._create(rec, adapted, refs, marker, late)
            if new_id != dest_id:
                await self.ctx.writer.delete(Kind.ATTACHMENT, dest_id)
            return new_id
        out = await self.ctx.writer.update(rec.kind, dest_id, adapted, refs, marker)
        return _unwrap(out, dest_id, late)

    async def _create(self, rec: Record, adapted: Record, refs: DestRefs, marker: str, late: list[str]) -> str:
        """Create (or upload); on an ambiguous failure reconcile by marker, then try again."""
        ctx, caps = self.ctx, self.caps
        attempts = ctx.settings.create_attempts
        for attempt in range(1, attempts + 1):
            try:
                if isinstance(adapted, Attachment):
                    out = await self._upload(rec, adapted, refs, marker)
                else:
                    out = await ctx.writer.create(rec.kind, adapted, refs, marker)
                return _unwrap(out, "", late)
            except TransientError as exc:  # incl. ThrottledError from a one-shot upload
                if attempt == attempts:
                    raise
                if rec.kind in caps.marker_kinds or rec.kind in caps.natural_key_kinds:
                    found = await ctx.writer.find_by_marker(rec.kind, marker, adapted, refs)
                    if found is not None:
                        if isinstance(adapted, Attachment):
                            return found  # one part: found means complete
                        # the create may have failed between the item and its parts
                        # (subtasks, check items, label links): update finishes them
                        finished = await ctx.writer.update(rec.kind, found, adapted, refs, marker)
                        return _unwrap(finished, found, late)
                delay = (
                    exc.retry_after
                    if isinstance(exc, ThrottledError) and exc.retry_after is not None
                    else 0.5 * 2 ** (attempt - 1)
                )
                if delay > ctx.settings.defer_threshold_s:
                    raise DeferChunk(delay, f"create of {rec.kind} throttled") from exc
                await ctx.clock.sleep(delay)
        raise AssertionError("unreachable")

    async def _upload(self, rec: Record, adapted: Attachment, refs: DestRefs, marker: str) -> str | Written:
        ctx = self.ctx
        if adapted.is_link:
            return await ctx.writer.upload_attachment(adapted, refs, marker, None)
        source = _source_side(ctx.reader.open_attachment(rec))  # type: ignore[arg-type]
        async with aclosing(source):  # close the source stream whatever happens
            return await ctx.writer.upload_attachment(adapted, refs, marker, bounded(source))


async def _source_side(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Tag credential errors of the source stream so the pause reason names the source."""
    try:
        async for part in chunks:
            yield part
    except AuthRequiredError as exc:
        exc.extra.setdefault("side", "source")
        raise
    finally:
        if hasattr(chunks, "aclose"):
            await chunks.aclose()


def _missing_labels_to_description(record: Record, refs: DestRefs, codes: list[str], caps: Capabilities) -> Record:
    """Labels whose destination label is missing (failed, over a limit) go to the text."""
    if not isinstance(record, Task) or not record.labels:
        return record
    missing = [lab.name for lab in record.labels if lab.source_id not in refs.labels]
    if not missing:
        return record
    codes.append("task.labels_missing_in_description")
    text = record.description.rstrip()
    line = "Labels: " + ", ".join(missing)
    task = record.model_copy(update={"description": f"{text}\n\n{line}" if text else line})
    task, cut = fit_description(task, caps)
    codes.extend(n.code for n in cut)
    return task


def _unwrap(value: str | Written | None, default: str, late: list[str]) -> str:
    """A writer's answer as a destination id, collecting the notes it reported."""
    if isinstance(value, Written):
        late.extend(n.code for n in value.notes)
        return value.dest_id
    if isinstance(value, str) and value:
        return value
    if default:
        return default
    raise FatalRunError("writer returned no destination id")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    status = getattr(exc, "extra", {}).get("status") if hasattr(exc, "extra") else None
    return f"{status}: {text}" if status else text
