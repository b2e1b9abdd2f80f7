"""The queue workers' CPU profile switch (FERRY_PROFILE_DIR)."""

from __future__ import annotations

import pstats
from pathlib import Path

import pytest

from tools.devhost.profiling import PROFILE_DIR_ENV, profiled


def _spin() -> int:
    return sum(i * i for i in range(20_000))


def test_off_without_the_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(PROFILE_DIR_ENV, raising=False)
    with profiled("queue-worker") as target:
        _spin()
    assert target is None
    assert list(tmp_path.iterdir()) == []


def test_writes_a_cpu_profile_of_the_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PROFILE_DIR_ENV, str(tmp_path / "profiles"))
    with profiled("queue-worker") as target:
        _spin()
    assert target is not None and target.parent == tmp_path / "profiles"
    assert target.name.startswith("queue-worker-") and target.suffix == ".prof"
    names = {func[2] for func in pstats.Stats(str(target)).stats}  # type: ignore[attr-defined]
    assert "_spin" in names


def test_written_when_the_block_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(PROFILE_DIR_ENV, str(tmp_path))
    with pytest.raises(RuntimeError), profiled("queue-worker") as target:
        raise RuntimeError("worker failed")
    assert target is not None and target.exists()
