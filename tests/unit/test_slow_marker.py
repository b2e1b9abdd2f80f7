"""The `slow` marker: the suites that start stacks, browsers or worker processes carry it, so
`./dev test -m "not slow"` is a fast loop, and nothing else carries it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SLOW_SUITES, suite_of

ROOT = Path(__file__).resolve().parents[2]
FAST = "tests/unit/core/test_config.py"
SLOW = ["tests/e2e/test_api_shell.py", "tests/pairs/test_repro.py"]


MARKERS = ("not slow", "slow")


@pytest.fixture(scope="module")
def collected() -> dict[str, set[str]]:
    """The test files each `-m` expression collects. Both collections run at once: each is a
    whole pytest start-up (the collected modules' imports) in a process of its own, so on
    two cores they run side by side instead of one after the other."""
    procs = {
        marker: subprocess.Popen(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, FAST]
            + SLOW,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for marker in MARKERS
    }
    found: dict[str, set[str]] = {}
    for marker, proc in procs.items():
        stdout, stderr = proc.communicate()
        assert proc.returncode in (0, 5), stdout + stderr  # 5: everything deselected
        found[marker] = {line.split("::")[0] for line in stdout.splitlines() if "::" in line}
    return found


def test_not_slow_leaves_out_the_slow_suites(collected: dict[str, set[str]]) -> None:
    assert collected["not slow"] == {FAST}


def test_slow_selects_only_the_slow_suites(collected: dict[str, set[str]]) -> None:
    assert collected["slow"] == set(SLOW)


def test_suites_are_named_by_their_first_folder() -> None:
    tests = ROOT / "tests"
    assert suite_of(tests / "crash" / "test_crash_points.py") == "crash"
    assert suite_of(tests / "unit" / "core" / "test_config.py") == "unit"
    assert suite_of(tests / "conftest.py") is None
    assert suite_of(ROOT / "README.md") is None
    assert SLOW_SUITES == {"crash", "pairs", "e2e", "console"}
