"""Retention triggers: the daily sweep (timer) and deletion jobs (queue `deletions`)."""
from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.config import QUEUE_DELETIONS
from shared.retention.deletion import enqueue, run_deletion_job
from shared.retention.jobs import DeletionMessage
from shared.retention.sweep import run_retention
from shared.store.stores import get_stores
from shared.tenancy.context import TenantContext

log = logging.getLogger("ferry.retention")
bp = func.Blueprint()
#: a queue message may stay invisible at most 7 days
MAX_DELAY_S = 7 * 24 * 3600 - 60


@bp.timer_trigger(schedule="0 30 2 * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
async def timer_retention_cleanup(timer: func.TimerRequest) -> None:
    """Daily at 02:30 UTC: 90-day log and org destruction, expired exports."""
    stores = await get_stores().start()
    await run_retention(stores)


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE_DELETIONS, connection="AzureWebJobsStorage")
async def worker_deletion_job(msg: func.QueueMessage) -> None:
    """Run or resume one org deletion; a failure leaves the message for redelivery."""
    message = DeletionMessage.parse(json.loads(msg.get_body().decode("utf-8")))
    stores = await get_stores().start()
    outcome = await run_deletion_job(stores, message)
    if outcome.status == "deferred":
        # Chunks that were running when deletion began may still write: look again later.
        ctx = TenantContext.for_org(stores, message.tenant_id)
        await enqueue(ctx, message.job_id, delay_s=min(outcome.delay_s, MAX_DELAY_S))
