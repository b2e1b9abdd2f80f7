"""Queue triggers of the migration engine: one chunk per message, and the poison queue."""

from __future__ import annotations

import azure.functions as func

from shared.config import QUEUE_CHUNKS

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE_CHUNKS, connection="AzureWebJobsStorage")
async def worker_migrate_chunk(msg: func.QueueMessage) -> None:
    from shared.migrations.worker import get_worker
    from shared.store.stores import get_stores

    await get_worker(get_stores()).handle(msg.get_body())


@bp.queue_trigger(arg_name="msg", queue_name=f"{QUEUE_CHUNKS}-poison", connection="AzureWebJobsStorage")
async def worker_poisoned_chunk(msg: func.QueueMessage) -> None:
    from shared.migrations.worker import handle_poison
    from shared.store.stores import get_stores

    await handle_poison(get_stores(), msg.get_body())
