"""The `slow` marker: the suites that start stacks, browsers or worker processes carry it, so
`./dev test -m "not slow"` is a fast loop, and nothing else carries it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import SLOW_SUITES, suite_of

ROOT = Path(__file__).resolve().parents[2]
FAST = "tests/unit/core/test_config.py"
SLOW = ["tests/e2e/test_api_shell.py", "tests/pairs/test_repro.py"]


def _collected(marker: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, FAST, *SLOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 5), out.stdout + out.stderr  # 5: everything deselected
    return {line.split("::")[0] for line in out.stdout.splitlines() if "::" in line}


def test_not_slow_leaves_out_the_slow_suites() -> None:
    assert _collected("not slow") == {FAST}


def test_slow_selects_only_the_slow_suites() -> None:
    assert _collected("slow") == set(SLOW)


def test_suites_are_named_by_their_first_folder() -> None:
    tests = ROOT / "tests"
    assert suite_of(tests / "crash" / "test_crash_points.py") == "crash"
    assert suite_of(tests / "unit" / "core" / "test_config.py") == "unit"
    assert suite_of(tests / "conftest.py") is None
    assert suite_of(ROOT / "README.md") is None
    assert SLOW_SUITES == {"crash", "pairs", "e2e", "console"}
