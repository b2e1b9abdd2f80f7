"""Issues 7 and 16: every ordered pair of the simulated vendors (and Asana → Asana, workspace to
workspace) migrates a seeded scope; a field-by-field comparison of both sides, each read
back through its connector's reader, finds only documented adaptations; a delta after
edits at the source updates exactly the edited items.

Undocumented differences found are listed in ``known.py`` with the defect behind each; the
fidelity test tolerates exactly those, and a strict xfail per deterministic one keeps it
visible until it is fixed.
"""

from __future__ import annotations

import pytest

from shared.contract.connector import ChecklistSupport
from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.ports import ItemStatus
from shared.verify.compare import Diff, compare
from shared.verify.documented import DOCUMENTED
from tests.pairs.conftest import Outcomes
from tests.pairs.known import KNOWN
from tests.pairs.scenario import Outcome, delta_run, dest_task, pair_id, pair_params
from tests.pairs.text import NEW_DESCRIPTION, NEW_NAME

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")
#: fields every pair must have found equal, with a value, at least once (the seeds hold them);
#: a tuple: any one of them (a date-only source due date is ``task.due_on`` where the
#: destination keeps dates, ``task.due_at`` at noon where it keeps times)
MUST_MATCH: tuple[str | tuple[str, ...], ...] = (
    "project.name",
    "section.name",
    "label.name",
    "task.name",
    "task.completed",
    "task.description",
    ("task.due_at", "task.due_on"),
    "task.start_on",
    "task.labels",
    "task.assignees",
    "task.checklists",
    "comment.task",
    "comment.text",
    "attachment.url",
    "attachment.size",
    "attachment.bytes",
)
#: fields a known defect leaves with nothing equal to compare
BLOCKED_BY = {
    "comment.blank_lines_lost": ("comment.text",),
    "label.collision": ("label.name", "task.labels"),
    "task.description": ("task.description",),
    "comment.text": ("comment.text",),
}


def must_match(out: Outcome) -> list[str | tuple[str, ...]]:
    """MUST_MATCH for the pair of ``out``, without what one side cannot hold: a destination
    that knows no source person (a new Trello board's only member is its creator), checklists
    where the source has no native ones or the destination none, start dates where either
    side has none (a destination moves them to the description)."""
    pair = (out.src.vendor, out.dst.vendor)
    src, dst = out.source.capabilities, out.dest.capabilities
    assert src is not None and dst is not None
    blocked = {f for code in KNOWN.get(pair_id(pair), {}) for f in BLOCKED_BY.get(code, ())}
    if out.dst.world is None or out.dst.world.enrol is None:
        blocked.add("task.assignees")
    if src.checklists is not ChecklistSupport.NATIVE or dst.checklists is ChecklistSupport.NONE:
        blocked.add("task.checklists")
    if not src.start_dates or not dst.start_dates:
        blocked.add("task.start_on")
    if out.comparison.rules["section.as_area"] or out.comparison.rules["section.mapped_to_state"]:
        blocked.add("section.name")  # Azure DevOps: areas are not read back, states keep theirs
    if not any(a.is_link for a in out.source.attachments.values()):
        blocked.add("attachment.url")  # monday.com has no link attachments to read
    return [f for f in MUST_MATCH if f not in blocked]


def _never_matched(out: Outcome) -> list[str | tuple[str, ...]]:
    matched = out.comparison.matched
    return [f for f in must_match(out) if not any(matched[name] for name in ((f,) if isinstance(f, str) else f))]


def _listing(diffs: list[Diff]) -> str:
    return "\n".join(f"  {d}" for d in diffs)


@pytest.mark.parametrize("pair", pair_params())
async def test_fields_match_but_for_documented_adaptations(outcomes: Outcomes, pair: tuple[str, str]) -> None:
    out = await outcomes.get(pair)
    known = KNOWN.get(pair_id(pair), {})
    undocumented = [d for d in out.comparison.diffs if d.code not in known]
    assert not undocumented, (
        f"{pair_id(pair)}: differences no documented adaptation explains:\n{_listing(undocumented)}"
    )
    # the rules used must all be documented for this destination (compare.py enforces it)
    assert set(out.comparison.rules) <= set(DOCUMENTED[pair[1]]) | {"task.labels_missing_in_description"}
    missing = _never_matched(out)
    assert not missing, f"{pair_id(pair)}: never compared equal: {missing}"
    assert out.first.status is RunStatus.SUCCEEDED, out.first.reason


@pytest.mark.parametrize("pair", pair_params())
async def test_delta_updates_exactly_the_edited_items(outcomes: Outcomes, pair: tuple[str, str]) -> None:
    out = await outcomes.get(pair)
    done_before = set(out.migration.done_entries())
    result, source, dest = await delta_run(out)
    updated = {r.source_id for r in result.rows_with(ItemStatus.UPDATED)}
    assert updated == set(out.edited), f"updated {sorted(updated)}, edited {out.edited}; counts {result.counts}"
    assert result.count_suffix("updated") == {"task.updated": 3}, result.counts
    created = {(r.kind, r.source_id) for r in result.rows_with(ItemStatus.CREATED)}
    assert not created & done_before, f"re-created: {sorted(created & done_before)}"
    if pair[1] != "planner":  # only items that failed before may be created again
        assert not created, result.counts
    # everything else that was migrated is unchanged
    unchanged = sum(v for k, v in result.counts.items() if k.endswith(".unchanged"))
    assert unchanged == len(done_before) - 3, result.counts
    rename, complete, describe = out.edited
    assert dest_task(out, dest, rename).name == NEW_NAME
    assert dest_task(out, dest, complete).completed is True
    assert dest_task(out, dest, describe).description.startswith(NEW_DESCRIPTION)
    # and the whole scope still compares as before
    again = compare(
        source,
        dest,
        out.migration.done_entries(),
        out.first.rows + result.rows,
        out.dst.people_emails(out.migration.dest_workspace),
    )
    known = KNOWN.get(pair_id(pair), {})
    undocumented = [d for d in again.diffs if d.code not in known]
    assert not undocumented, _listing(undocumented)
    assert result.status in (RunStatus.SUCCEEDED, RunStatus.PARTIALLY_SUCCEEDED)
    assert (Kind.PROJECT, out.migration.scope) in out.migration.done_entries()
