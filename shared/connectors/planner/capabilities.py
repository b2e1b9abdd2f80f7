"""What Planner can hold, and the request budget Ferry keeps with Microsoft Graph.

See README.md here for the reasons behind each limit.
"""

from __future__ import annotations

from shared.contract.connector import Capabilities, ChecklistSupport, MarkerLocation
from shared.contract.limits import RateLimit
from shared.contract.model import Kind

#: Graph publishes no Planner-specific quota; its global limit is 130,000 requests / 10 s per
#: app (https://learn.microsoft.com/graph/throttling-limits). Planner throttles far earlier in
#: practice, so the pacer starts at 10 requests/s and adapts to 429 + Retry-After. Graph
#: counts each request of a ``$batch``, and so does the pacer (``PlannerClient.chain``); the
#: chains Ferry sends hold 2 (a reply and the read that finds it). Declared larger, the
#: budget would give up that much of its burst for batches that never come.
MAX_CHAIN = 2
GRAPH_RATE_LIMIT = RateLimit(requests=600, per_seconds=60, burst=20, concurrency=8, batch=MAX_CHAIN)

ALL_KINDS = frozenset(Kind)


def planner_capabilities() -> Capabilities:
    """What Planner can hold (see shared/connectors/planner/README.md for the reasons)."""
    return Capabilities(
        vendor="planner",
        read_kinds=ALL_KINDS,
        write_kinds=ALL_KINDS,
        max_assignees=20,
        max_labels_per_project=25,  # category1..category25 in v1.0
        labels_per_project=True,  # categories belong to one plan
        max_checklist_items=20,  # one checklist per task, 20 items
        max_name_chars=255,
        comment_author_kept=False,  # posts are written as the signed-in account
        comment_time_kept=False,
        checklists=ChecklistSupport.NATIVE,
        subtasks=False,
        sections=True,
        sibling_anchors=True,
        start_dates=True,
        due_times=True,
        custom_fields=False,
        link_attachments=True,
        completion=True,
        marker_location=MarkerLocation.DESCRIPTION_FOOTER,
        marker_kinds=frozenset({Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT}),
        natural_key_kinds=frozenset({Kind.PROJECT, Kind.SECTION, Kind.LABEL}),
        rate_limit=GRAPH_RATE_LIMIT,
    )
