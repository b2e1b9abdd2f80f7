"""Queue trigger of the assistant's index: `assistant-index` messages (run log lines of one
run, written by shared/assistant/feed.py) become records in the org's regional index.

Importing this module registers the feed with the run log writer and the index purger
with retention (every process of the app imports it through function_app). Nothing heavy
is imported here: the embedding model and the search SDK load on the first message.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.assistant.purge import register
from shared.config import QUEUE_ASSISTANT

log = logging.getLogger("ferry.assistant")
bp = func.Blueprint()
register()


@bp.queue_trigger(arg_name="msg", queue_name=QUEUE_ASSISTANT, connection="AzureWebJobsStorage")
async def worker_assistant_index(msg: func.QueueMessage) -> None:
    """Index one message; an org that is being deleted is skipped (its records are purged)."""
    from shared.assistant.backends import Role, backends_for
    from shared.assistant.indexer import handle_index_message
    from shared.retention.active import org_is_active
    from shared.store.stores import get_stores
    from shared.tenancy.context import TenantContext

    message = json.loads(msg.get_body().decode("utf-8"))
    stores = await get_stores().start()
    ctx = TenantContext.for_org(stores, str(message["tenantId"]))
    if not await org_is_active(ctx):
        log.info("assistant-index message of an inactive org dropped")
        return
    await handle_index_message(backends_for(stores.settings, ctx.region, Role.INDEX), message)
