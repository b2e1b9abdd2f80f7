"""Removing an org from the assistant's index: the retention package's `search-assistant`
step (org deletion and the 90-day sweep) and its final leftovers check.

Runs as the stamp identity (it writes the index), in the org's region.
"""

from __future__ import annotations

from typing import Any

PURGER_NAME = "assistant"


async def purge_assistant_index(stores: Any, region: str, tenant_id: str) -> int:
    """Delete every record of the org from its region's index; idempotent."""
    from shared.assistant.backends import Role, backends_for

    return await backends_for(stores.settings, region, Role.INDEX).index.delete_tenant(tenant_id)


async def count_assistant_records(stores: Any, region: str, tenant_id: str) -> int:
    from shared.assistant.backends import Role, backends_for

    return await backends_for(stores.settings, region, Role.INDEX).index.count(tenant_id)


def register() -> None:
    """Register the purger with retention and the feed with the run log writer."""
    from shared.assistant.feed import feed_run_lines
    from shared.logs.listeners import add_flush_listener
    from shared.retention.purge import register_purger

    register_purger(PURGER_NAME, purge_assistant_index, count_assistant_records)
    add_flush_listener(feed_run_lines)
