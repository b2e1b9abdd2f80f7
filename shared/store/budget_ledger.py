"""The shared request budget of a credential as a Cosmos DB document (``SharedBudget``).

Every worker process and every Functions instance that uses a credential draws its request
slots from one document: ``leases`` container, partition ``ferry:budget:<credential key>``
(never a tenant id), id ``budget``, holding the GCRA state ``tat`` (epoch seconds; see
``shared.contract.budget``). The Cosmos stand-in runs this same code (its conditional patches
behave as Cosmos's since ``tools/cosmos/launcher.js`` fix 7).

- While the credential is busy (``tat`` at or after now) a reservation is one conditional
  patch: ``incr`` of ``tat`` by ``n`` emission intervals, on the condition that ``tat`` is
  where it leaves all ``n`` slots inside the wait the caller accepts. From a ``tat`` at or
  after now, GCRA moves it by exactly ``n · T`` whatever its value, so the patched document
  tells where the slots are (``tat`` before the patch = after − ``n · T``, slot ``i`` at
  ``max(now, before + i · T − tolerance)``); patches are atomic, so two processes never get
  the same slot. It also tells whether the ledger stood where the caller's previous grant
  left it (``Grant.adjacent``: nobody reserved in between).
- While it is idle (``tat`` at or before now) it is one conditional patch too: ``set`` of
  ``tat`` to where the grant leaves it, on the condition that it is still at or before now.
- Otherwise (first use, a lost race, a view of the ledger gone stale) the document is read,
  the grant computed and the document replaced under its ETag (or created); a lost race is
  tried again.

The credential key is an HMAC of the connection's fields and secrets under a region-wide key
kept in the same container (created on first use, like the continuation key), so every
process names a credential alike without any of them storing it.

Instances' clocks take part in the slots: Azure's are NTP-synchronised to milliseconds, well
inside the budget's slack (``DEFAULT_SLACK_S``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import replace
from typing import Any

from shared.contract.budget import BudgetParams, Grant, follows, gcra_reserve
from shared.store.continuation import load_or_create_key
from shared.store.cosmos import CosmosRegion

LEDGER_CONTAINER = "leases"
BUDGET_DOC_ID = "budget"
KEY_DOC_ID = "ferry-budget-key"
KEY_PARTITION = "ferry:budget-key"
MAX_TRIES = 16


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def ledger_partition(credential_key: str) -> str:
    return f"ferry:budget:{credential_key}"


class CosmosBudget:
    """``SharedBudget`` of one credential, on its Cosmos document."""

    def __init__(self, container: Any, credential_key: str, params: BudgetParams) -> None:
        self.container = container
        self.partition = ledger_partition(credential_key)
        self.params = params
        self.round_trips = 0  # Cosmos calls made (benchmarks)
        self._seen_tat = 0.0  # the newest tat this process saw: an idle ledger skips the patch

    async def reserve(
        self, count: int, now: float, max_wait_s: float, *, whole: bool = False, after: float | None = None
    ) -> Grant:
        count = max(1, count)
        for _ in range(MAX_TRIES):
            if self._seen_tat >= now:  # busy when last seen: one patch
                grant = await self._reserve_busy(count, now, max_wait_s, after)
                if grant is not None:
                    return grant
            else:  # idle when last seen: one patch sets it
                grant = await self._reserve_idle(count, now, max_wait_s, whole=whole)
                if grant is not None:
                    return grant
            doc = await self._read()
            tat = float(doc["tat"]) if doc is not None else None
            self._seen_tat = tat or 0.0
            new_tat, grant = gcra_reserve(tat, now, count, self.params, max_wait_s, whole=whole)
            if new_tat is None:
                return grant
            if await self._write(doc, new_tat):
                self._seen_tat = new_tat
                return replace(grant, tat=new_tat, adjacent=follows(tat, after, self.params))
            # another process moved it on by a slot at least: likely busy now, so the
            # atomic patch (which cannot lose a race) is tried first next time round
            self._seen_tat = (tat or now) + self.params.emission_s + self.params.tolerance_s
        return Grant(wait_s=self.params.emission_s)  # contended throughout: ask again shortly

    async def hold_until(self, until: float) -> None:
        floor = until + self.params.tolerance_s  # the next slot is at `until` at the earliest
        for _ in range(MAX_TRIES):
            doc = await self._read()
            if doc is not None and float(doc["tat"]) >= floor:
                return
            if await self._write(doc, floor):
                return

    async def _reserve_busy(self, count: int, now: float, max_wait_s: float, after: float | None) -> Grant | None:
        """The one-patch path while ``tat ≥ now``; None when it does not apply. The ledger
        stood at the answer's ``tat`` less the increment: ``adjacent`` when that is where the
        caller's previous grant left it.

        ``tat`` within the tolerance of now (a credential used now and then, a Trello source
        read while Asana is the bottleneck) used to cost a read and a replace: 37 of each in
        a 3 × 100 run."""
        emission, tolerance = self.params.emission_s, self.params.tolerance_s
        highest = now + tolerance + max_wait_s - (count - 1) * emission  # the last slot within the wait
        if highest < now:
            return None
        op = {"op": "incr", "path": "/tat", "value": count * emission}
        if not await self._patch_tat(op, f"c.tat >= {now!r} AND c.tat <= {highest!r}"):
            return None
        before = self._seen_tat - count * emission
        # the slots GCRA grants from `before`; the condition already kept them inside the wait
        # (no second cut here, which rounding could make drop the last slot of a batch)
        _, grant = gcra_reserve(before, now, count, self.params, math.inf)
        return replace(grant, tat=self._seen_tat, adjacent=follows(before, after, self.params))

    async def _reserve_idle(self, count: int, now: float, max_wait_s: float, *, whole: bool) -> Grant | None:
        """The one-patch path while ``tat ≤ now``; None when it does not apply.

        Every ``tat`` at or before ``now`` grants the same slots (the bucket is full: the first
        slot is ``now``), so the grant is computed here and stored by a patch that sets ``tat``
        on that condition. Without it, a credential used now and then (a source read while the
        destination is the bottleneck) cost a read and a replace per reservation."""
        new_tat, grant = gcra_reserve(now, now, count, self.params, max_wait_s, whole=whole)
        if new_tat is None:
            return grant
        if not await self._patch_tat({"op": "set", "path": "/tat", "value": new_tat}, f"c.tat <= {now!r}"):
            return None
        # where the ledger stood is not known (at or before now): not ``adjacent``, which
        # only costs a batch the caller's leftover slots, stale by now or nearly
        return replace(grant, tat=new_tat)

    async def _patch_tat(self, op: dict[str, Any], condition: str) -> bool:
        """Apply ``op`` to ``tat`` if ``condition`` holds (then ``_seen_tat`` is the new one);
        False when it does not, or when there is no document yet."""
        self.round_trips += 1
        try:
            doc = await self.container.patch_item(
                BUDGET_DOC_ID,
                partition_key=self.partition,
                patch_operations=[op],
                filter_predicate=f"FROM c WHERE {condition}",
            )
        except Exception as exc:
            if _status(exc) in (404, 412):  # no document yet, or another process moved it on
                return False
            raise
        self._seen_tat = float(doc["tat"])
        return True

    async def _read(self) -> dict[str, Any] | None:
        self.round_trips += 1
        try:
            return dict(await self.container.read_item(BUDGET_DOC_ID, partition_key=self.partition))
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise

    async def _write(self, doc: dict[str, Any] | None, tat: float) -> bool:
        """Store ``tat``; False when another process changed the document first."""
        from azure.core import MatchConditions

        self.round_trips += 1
        try:
            if doc is None:
                await self.container.create_item(
                    {
                        "id": BUDGET_DOC_ID,
                        "pk": self.partition,
                        "tat": tat,
                        "rate": self.params.rate,
                        "burst": self.params.burst,
                        "windowS": self.params.window_s,
                    }
                )
            else:
                await self.container.replace_item(
                    BUDGET_DOC_ID,
                    {**doc, "tat": tat},
                    etag=doc["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            return True
        except Exception as exc:
            # 409/412: another process wrote first; 404: the retention sweep deleted the idle
            # document after it was read (``shared.retention.ledgers``) — read again either way
            if _status(exc) in (404, 409, 412):
                return False
            raise


class CosmosBudgetLedger:
    """The budgets of one region: credential keys and their ``CosmosBudget``."""

    def __init__(self, region: CosmosRegion) -> None:
        self.region = region
        self._hmac_key: bytes | None = None

    async def credential_key(self, kind: str, public: dict[str, Any], secrets: dict[str, str]) -> str:
        """Names a credential alike in every process, without holding it."""
        if self._hmac_key is None:
            container = self.region.container(LEDGER_CONTAINER)
            self._hmac_key = await load_or_create_key(container, KEY_DOC_ID, KEY_PARTITION)
        material = json.dumps({"public": public, "secrets": secrets}, sort_keys=True).encode()
        return f"{kind}:{hmac.new(self._hmac_key, material, hashlib.sha256).hexdigest()[:32]}"

    def budget(self, credential_key: str, params: BudgetParams) -> CosmosBudget:
        return CosmosBudget(self.region.container(LEDGER_CONTAINER), credential_key, params)
