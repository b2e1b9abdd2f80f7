"""Run ETA: work left from a plan, priced in destination requests, over the rate limit."""

from __future__ import annotations

import pytest

from shared.contract.limits import RateLimit
from shared.engine.eta import estimate, plan_from_dry_run, plan_of_writes

ASANA = RateLimit(requests=1500, per_seconds=60)  # 25 requests per second

DRY = {
    "project.would_create": 2,
    "task.would_create": 80,
    "task.unchanged": 20,
    "task.skipped": 0,
    "comment.would_update": 50,
    "adapt.task.assignees_truncated": 7,
    "skip.attachment.too_large": 1,
    "scope.failed": 1,
}


def test_plan_from_a_dry_run_counts_items_and_writes_per_kind() -> None:
    plan = plan_from_dry_run(DRY)
    assert {k: (p.items, p.writes) for k, p in plan.items()} == {
        "project": (2, 2),
        "task": (100, 80),
        "comment": (50, 50),
    }


def test_eta_is_requests_left_over_the_rate() -> None:
    plan = plan_from_dry_run(DRY)
    eta = estimate(plan, {"project.created": 2, "task.created": 40, "task.unchanged": 10}, ASANA, basis="dry_run:run1")
    # tasks: 50 left × 80/100 need a write = 40 requests; comments: 50; projects: 0
    assert eta.itemsLeft == 100 and eta.requestsLeft == pytest.approx(90.0)
    assert eta.seconds == pytest.approx(90 / 25, abs=0.05) and eta.requestsPerSecond == 25.0
    assert eta.basis == "dry_run:run1"


def test_eta_unknown_without_a_plan_and_zero_when_finished() -> None:
    assert estimate(None, {}, ASANA, basis="x").seconds is None
    assert estimate(None, {}, ASANA, basis="x").basis == "unknown"
    assert estimate(plan_from_dry_run(DRY), {}, None, basis="x").seconds is None  # no rate known
    done = estimate(plan_from_dry_run(DRY), {}, ASANA, basis="x", finished=True)
    assert done.seconds == 0 and done.basis == "finished"


def test_a_rollback_plan_is_all_writes_and_never_negative() -> None:
    plan = plan_of_writes({"task": 30, "project": 1})
    eta = estimate(plan, {"task.deleted": 40, "project.deleted": 0}, ASANA, basis="rollback_plan")
    assert eta.itemsLeft == 1 and eta.requestsLeft == 1.0
