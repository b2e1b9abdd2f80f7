"""``LoadedOnce`` (``shared.connectors.kit.loaded_once``): one load per key for callers that
ask at once; a failed load is not kept."""

from __future__ import annotations

import asyncio

import pytest

from shared.connectors.kit.loaded_once import LoadedOnce


async def test_callers_asking_at_once_share_one_load_per_key() -> None:
    loads: list[str] = []
    release = asyncio.Event()

    async def load(key: str) -> str:
        loads.append(key)
        await release.wait()  # every caller is waiting before the first answer comes
        return key.upper()

    once: LoadedOnce[str, str] = LoadedOnce(load)
    asked = asyncio.gather(*(once.get(k) for k in ("a", "b", "a", "a", "b")))
    await asyncio.sleep(0)
    release.set()
    assert await asked == ["A", "B", "A", "A", "B"]
    assert sorted(loads) == ["a", "b"]
    assert await once.get("a") == "A" and sorted(loads) == ["a", "b"]


async def test_a_failed_load_is_tried_again_by_the_next_caller() -> None:
    answers: list[BaseException | int] = [RuntimeError("vendor down"), 7]

    async def load(_: str) -> int:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    once: LoadedOnce[str, int] = LoadedOnce(load)
    with pytest.raises(RuntimeError):
        await once.get("k")
    assert await once.get("k") == 7
