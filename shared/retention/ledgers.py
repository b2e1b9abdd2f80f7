"""Request-budget ledgers nobody has used for a day are deleted (retention sweep).

A ledger document (``shared.store.budget_ledger``) holds one number per credential — the
GCRA ``tat`` — under an HMAC of the credential, never a tenant id, so deleting an org cannot
find its ledgers; they would pile up for every credential ever used. One idle for a day
holds no slot anyone waits for (grants are at most minutes ahead), so it can go: the next
reservation creates it afresh, which is the state of a credential never used.

The delete is conditional on the document's ETag: a process that moved ``tat`` after the
sweep read it keeps its document; a process that reads the document just before it goes
finds it missing on its conditional write and starts over (``CosmosBudget._write``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.store.budget_ledger import BUDGET_DOC_ID, LEDGER_CONTAINER

IDLE_FOR = timedelta(days=1)


async def sweep_idle_budgets(cosmos: Any, *, now: datetime, idle_for: timedelta = IDLE_FOR) -> int:
    """Delete the budget documents of a region whose last slot is older than ``idle_for``."""
    from azure.core import MatchConditions

    container = cosmos.container(LEDGER_CONTAINER)
    cutoff = (now - idle_for).timestamp()
    items = container.query_items(
        "SELECT c.id, c.pk, c._etag FROM c WHERE c.id = @id AND c.tat < @cutoff",
        parameters=[{"name": "@id", "value": BUDGET_DOC_ID}, {"name": "@cutoff", "value": cutoff}],
    )
    deleted = 0
    async for item in items:
        try:
            await container.delete_item(
                item["id"],
                partition_key=item["pk"],
                etag=item["_etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            deleted += 1
        except Exception as exc:
            # 404: deleted already (another stamp's sweep); 412: used since it was read
            if getattr(exc, "status_code", None) not in (404, 412):
                raise
    return deleted
