"""At-least-once chaos: random ambiguous failures, crashes and duplicate deliveries.

Whatever happens, a run ends with every source item at the destination exactly once.
"""

from __future__ import annotations

import random

import pytest

from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.ports import ChunkMessage, IdMapEntry, IdState
from shared.errors import ThrottledError, TransientError
from tests.unit.engine.harness import Harness


@pytest.mark.parametrize("seed,workers", [(s, 1 + s % 3) for s in range(6)])
async def test_random_faults_never_duplicate_or_lose_items(seed: int, workers: int) -> None:
    rng = random.Random(seed)
    h = Harness(scopes=("p1", "p2", "p3"), seed={"tasks": 9}, workers=workers)
    h.src.limits.latency_s = h.dst.limits.latency_s = 0.01  # every call yields to others

    def sometimes(p: float):
        return lambda op, subject: rng.random() < p

    # timeouts after the vendor committed (ambiguous), failures before, throttling
    for op in ("create", "upload"):
        h.dst.fail_next(op, TransientError("timeout after commit"), times=10_000, after=True, when=sometimes(0.08))
        h.dst.fail_next(op, TransientError("502"), times=10_000, when=sometimes(0.05))
    h.dst.fail_next("update", ThrottledError("429", retry_after=1), times=10_000, when=sometimes(0.05))
    h.src.fail_next("read", TransientError("reset"), times=10_000, when=sometimes(0.05))

    real_put = h.id_map.put

    async def crashing_put(entry: IdMapEntry) -> None:  # the worker dies before "done"
        if entry.state is IdState.DONE and rng.random() < 0.05:
            raise RuntimeError("worker crashed")
        await real_put(entry)

    h.id_map.put = crashing_put  # type: ignore[method-assign]

    real_enqueue = h.queue.enqueue

    async def duplicating_enqueue(message: ChunkMessage, *, delay_s: float = 0.0) -> None:
        await real_enqueue(message, delay_s=delay_s)
        if rng.random() < 0.2:  # at-least-once delivery: the same message twice
            await real_enqueue(message, delay_s=delay_s + rng.choice((0.0, rng.random())))

    h.queue.enqueue = duplicating_enqueue  # type: ignore[method-assign]

    s = await h.run(max_chunk_attempts=20)
    assert h.status(s) is RunStatus.SUCCEEDED, h.state.reasons.get(s.run_id)
    for kind in Kind:
        assert h.dst.count(kind) == h.src.count(kind), kind
    for entry in h.id_map.entries.values():
        assert entry.state is IdState.DONE and entry.dest_id in h.dst.items[entry.kind]
    dests = [e.dest_id for e in h.id_map.entries.values()]
    assert len(dests) == len(set(dests))
    assert h.status(s) is RunStatus.SUCCEEDED

    # second run under the same chaos: edits are applied once, deletions reported once
    tasks = sorted(h.src.items[Kind.TASK])
    edited = rng.sample(tasks, 4)
    for sid in edited:
        h.src.edit(Kind.TASK, sid, name=f"edited {sid}")
    gone = next(
        t
        for t in tasks
        if t not in edited
        and not t.endswith("-sub")
        and not any(x.parent_id == t for x in h.src.items[Kind.TASK].values())
    )
    h.src.remove(Kind.TASK, gone)
    s2 = await h.run(max_chunk_attempts=20)
    assert h.status(s2) is RunStatus.SUCCEEDED, h.state.reasons.get(s2.run_id)
    c = h.counts(s2)
    assert c.get("task.updated", 0) + c.get("task.reconciled", 0) == 4
    assert c["task.deleted_at_source"] == 1
    for sid in edited:
        dest = h.id_map.entries[("mig-0001", Kind.TASK, sid)].dest_id
        assert h.dst.items[Kind.TASK][dest].name == f"edited {sid}"
    assert h.dst.count(Kind.TASK) == h.src.count(Kind.TASK) + 1  # deletion not mirrored
