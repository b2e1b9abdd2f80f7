"""Retention triggers: the daily sweep (timer) and deletion jobs (queue `deletions`)."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.config import QUEUE_DELETIONS

log = logging.getLogger("ferry.retention")
bp = func.Blueprint()


@bp.timer_trigger(schedule="0 30 2 * * *", arg_name="timer", run_on_startup=False, use_monitor=True)
async def timer_retention_cleanup(timer: func.TimerRequest) -> None:
    """Daily at 02:30 UTC: 90-day log and org destruction, expired exports and idempotency keys."""
    from shared.retention.sweep import run_retention
    from shared.store.stores import get_stores

    stores = await get_stores().start()
    await run_retention(stores)


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE_DELETIONS, connection="AzureWebJobsStorage")
async def worker_deletion_job(msg: func.QueueMessage) -> None:
    """Run or resume one org deletion (or a sweep's batch); a failure leaves the message
    for redelivery, and the job resumes where it stood."""
    from shared.retention.deletion import handle_deletion_message
    from shared.store.stores import get_stores

    stores = await get_stores().start()
    await handle_deletion_message(stores, json.loads(msg.get_body().decode("utf-8")))
