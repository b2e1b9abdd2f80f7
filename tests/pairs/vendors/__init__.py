"""One module per simulated vendor of the pair suite: each defines ``WORLD`` (a
``tests.pairs.sim.VendorWorld``). ``SOURCES_FOR`` is the order in which every source
simulator hands out its seeded containers: one per destination vendor, so the delta edits of
one pair never touch what another pair migrates."""

from __future__ import annotations

#: destination vendors in the order a source's seeded containers are handed out
SOURCES_FOR = ("trello", "asana", "planner", "jira", "monday", "azure_devops")


def sources(own: str, containers: list[str], *, same_vendor: bool = False) -> dict[str, str]:
    """Destination vendor → source container: the i-th container for the i-th other vendor
    (and, ``same_vendor``, the next one for a pair with itself)."""
    others = [v for v in SOURCES_FOR if v != own] + ([own] if same_vendor else [])
    if len(containers) < len(others):
        raise AssertionError(f"{own}: {len(containers)} seeded containers for {len(others)} pairs")
    return dict(zip(others, containers, strict=False))
