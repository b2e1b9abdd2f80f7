"""Run ETA: the work left, priced in destination requests, over the destination's rate limit.

Inputs:

* a **plan** — per kind, how many items the run will visit and how many of them need a
  destination write. For full, delta and dry runs it comes from the migration's latest
  succeeded dry run (``would_create + would_update`` are writes; ``unchanged``, ``skipped``,
  ``failed`` and the rest are visited without one). A ``retry_failed`` run plans the
  failed items it picked up, a rollback the deletes it will make (both all writes).
  Without a plan the ETA is unknown.
* the run's **counters** so far (``kind.status``), which say how many items of each kind
  are done.
* the destination's documented **rate limit** (``RateLimit.rate``, requests per second,
  the pacer's budget per credential).

For each kind, ``left = max(0, planned items − processed items)``; the writes left are
``left × planned writes / planned items``; each write costs ``REQUESTS_PER_WRITE[kind]``
destination requests. ``seconds = requests left / rate``. This is a floor: it assumes the
pacer runs at the full documented rate (no 429 slow-down, no other use of the credential)
and that source reads, which go to another credential's budget, keep up.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from shared.contract.limits import RateLimit
from shared.contract.model import Kind

#: Destination requests one write of a kind costs at least (a create, update, upload or
#: delete is one call at every vendor we support; extras such as Asana checklist subtasks
#: are not counted, so the ETA stays a floor).
REQUESTS_PER_WRITE: Mapping[str, float] = {k.value: 1.0 for k in Kind}
WRITE_STATUSES = frozenset({"would_create", "would_update"})
KINDS = frozenset(k.value for k in Kind)


class KindPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: int
    writes: int


class Eta(BaseModel):
    """What ``GET …/runs/{runId}`` shows as ``eta``."""

    model_config = ConfigDict(frozen=True)

    seconds: float | None  # None: unknown (no plan, or no rate limit)
    itemsLeft: int | None
    requestsLeft: float | None
    requestsPerSecond: float | None
    basis: str  # "dry_run:<runId>", "retry_plan", "rollback_plan", "finished" or "unknown"


def plan_from_dry_run(counts: Mapping[str, int]) -> dict[str, KindPlan]:
    """Per-kind plan from a dry run's flat ``kind.status`` counters."""
    items: dict[str, int] = {}
    writes: dict[str, int] = {}
    for name, n in counts.items():
        kind, _, status = name.partition(".")
        if kind not in KINDS or not n:
            continue
        items[kind] = items.get(kind, 0) + int(n)
        if status in WRITE_STATUSES:
            writes[kind] = writes.get(kind, 0) + int(n)
    return {k: KindPlan(items=n, writes=writes.get(k, 0)) for k, n in items.items()}


def plan_of_writes(per_kind: Mapping[str, int]) -> dict[str, KindPlan]:
    """A plan where every item is one write (retry_failed, rollback)."""
    return {k: KindPlan(items=int(n), writes=int(n)) for k, n in per_kind.items() if n}


def processed(counts: Mapping[str, int]) -> dict[str, int]:
    """Items done so far per kind (every ``kind.status`` counter)."""
    out: dict[str, int] = {}
    for name, n in counts.items():
        kind, _, _ = name.partition(".")
        if kind in KINDS:
            out[kind] = out.get(kind, 0) + int(n)
    return out


def estimate(
    plan: Mapping[str, KindPlan] | None,
    counts: Mapping[str, int],
    limit: RateLimit | None,
    *,
    basis: str,
    finished: bool = False,
) -> Eta:
    """The ETA of a run (see the module docstring for the formula)."""
    rate = limit.rate if limit is not None else None
    if finished:
        return Eta(seconds=0.0, itemsLeft=0, requestsLeft=0.0, requestsPerSecond=rate, basis="finished")
    if plan is None:
        return Eta(seconds=None, itemsLeft=None, requestsLeft=None, requestsPerSecond=rate, basis="unknown")
    done = processed(counts)
    items_left = 0
    requests_left = 0.0
    for kind, p in plan.items():
        left = max(0, p.items - done.get(kind, 0))
        items_left += left
        if p.items:
            requests_left += left * p.writes / p.items * REQUESTS_PER_WRITE.get(kind, 1.0)
    seconds = round(requests_left / rate, 1) if rate else None
    return Eta(
        seconds=seconds, itemsLeft=items_left, requestsLeft=round(requests_left, 1), requestsPerSecond=rate, basis=basis
    )
