"""The figures ``bench.e2e_budget`` derives from the simulators' counts (pure arithmetic)."""

from __future__ import annotations

import pytest

from bench.e2e_budget import RunFigures, counted_requests, one_token_figures, peak_share, tstu_charged


def test_peak_share_finds_the_busiest_span() -> None:
    # 10 requests/s for the first 30 s (idle source reads would look like this), then 25/s for 30 s
    samples = [(float(t), 10 * t) for t in range(31)]
    samples += [(float(t), 300 + 25 * (t - 30)) for t in range(31, 61)]
    assert peak_share(samples, rate=25.0, span=30.0) == pytest.approx(1.0)
    assert peak_share(samples, rate=50.0, span=30.0) == pytest.approx(0.5)


def test_peak_share_of_a_run_shorter_than_the_span_is_over_the_whole_run() -> None:
    samples = [(0.0, 0), (5.0, 50), (10.0, 100)]
    assert peak_share(samples, rate=20.0, span=30.0) == pytest.approx(0.5)


def test_peak_share_ignores_stretches_too_short_to_hold_the_span() -> None:
    # a 1 s burst of 100 then nothing for 29 s: a 1 s stretch would read as 4 × the rate
    samples = [(0.0, 0), (1.0, 100), (30.0, 100)]
    assert peak_share(samples, rate=25.0, span=30.0) == pytest.approx(100 / (25.0 * 30.0))
    assert peak_share([(0.0, 0)], rate=25.0) == 0.0


def test_tstu_charged_counts_every_answer_but_the_limiters_429s() -> None:
    stats = {
        "by_route": {
            "GET /org/_apis/projects": {"200": 10},
            "POST /org/proj/_apis/wit/wiql": {"200": 2},
            "POST /org/proj/_apis/wit/workitems/$Issue": {"200": 20, "429": 5, "400": 1},
            "POST /org/proj/_apis/wit/attachments": {"201": 3},
        }
    }
    assert tstu_charged(stats) == pytest.approx(10 * 0.02 + 2 * 0.1 + 21 * 0.05 + 3 * 0.1)


def test_counted_requests_are_what_a_batch_holds_instead_of_the_batch_call() -> None:
    stats = {
        "total": 12,
        "by_route": {
            "GET /v1.0/planner/plans/{plan_id}": {"200": 5},
            "POST /v1.0/$batch": {"200": 7},
            "$batch › POST /v1.0/groups/{group_id}/threads/{thread_id}/reply": {"202": 7},
            "$batch › GET /v1.0/groups/{group_id}/threads/{thread_id}/posts": {"200": 6, "429": 1},
        },
    }
    assert counted_requests(stats) == 5 + 14
    asana = {
        "total": 9,
        "by_route": {
            "POST /attachments": {"200": 3},
            "POST /batch": {"200": 5, "429": 1},
            "batch › POST /api/1.0/tasks/{task_gid}/stories": {"201": 30},
            "batch › PUT /api/1.0/tasks/{task_gid}": {"200": 8, "500": 1},
        },
    }
    assert counted_requests(asana) == 3 + 39
    fig = RunFigures("a", "succeeded", 60.0, 10, 0, 9, 0, 0, 1.0, "asana", counted_requests=42)
    assert fig.ideal_s == pytest.approx(42 / 25.0)  # Asana: 1,500 a minute, each action counted


def test_orgs_on_one_token_are_one_run_with_everyones_items_and_cpu() -> None:
    def fig(label: str, seconds: float, items: int, status: str = "succeeded") -> RunFigures:
        return RunFigures(label, status, seconds, items, 100, 900, 0, 0, 1.0, "asana", peak_share=0.5)

    whole = one_token_figures([fig("a", 30.0, 10), fig("b", 40.0, 20, "partially_succeeded")], "both")
    assert (whole.label, whole.seconds, whole.items, whole.worker_cpu_s) == ("both", 40.0, 30, 2.0)
    assert whole.status == "partially_succeeded/succeeded" and whole.dest_requests == 900
