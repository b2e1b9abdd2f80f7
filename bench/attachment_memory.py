"""Attachment memory: peak RSS and bytes written to disk while one large file moves through
the engine, Trello simulator → Planner simulator (SharePoint upload session).

Run: ``python -m bench.attachment_memory [--no-collect] [MiB ...]`` (default ``64 1024``;
``--no-collect`` turns off the periodic young-generation GC pass of ``shared.engine.streams``
to show what it saves). For each size:

* a **simulator process** serves Trello (one board whose card holds one attachment of that
  size, generated on demand by ``simulators.common.make_blob``: it costs the simulator no
  memory) and the Microsoft Graph/Planner simulator (which spools the upload to its own temp
  file — in its own process, so none of that is measured);
* a fresh **engine process** (so ``ru_maxrss`` is that run's own peak) opens the Trello
  reader and Planner writer through the connector registry, runs the chunk runner on
  in-memory ports over the board, and reports: RSS before the run, peak RSS
  (``getrusage(RUSAGE_SELF).ru_maxrss``), ``write_bytes`` from the process I/O counters (psutil; bytes
  this process caused to be written to storage), wall time and throughput, and whether the
  destination holds a file of the right size.

Goals: peak ≤ 200 MB and flat (the 1 GiB peak close to the 64 MiB one), 0 bytes to disk.
Figures and ratios only; no assertions on time.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import psutil

MIB = 1024 * 1024
GOAL_PEAK_MB = 200.0


# --------------------------------------------------------------------------- simulators


def serve_simulators(size: int) -> None:
    """Child: serve both simulators, print their coordinates as JSON, wait for stdin EOF."""
    from simulators.common import serve
    from simulators.planner import create_app as planner_app
    from simulators.planner.seed import SeedConfig as PlannerSeed
    from simulators.trello import create_app as trello_app
    from simulators.trello.seed import SeedConfig as TrelloSeed

    trello_cfg = TrelloSeed(
        boards=1,
        cards_per_board=3,
        attachment_sizes=(size,),
        link_attachment_every=0,
        labels_per_board=0,
        many_comments=0,
        comments_per_card=0,
        checklist_every=0,
        members=1,
    )
    planner_cfg = PlannerSeed(plans_per_group=0, tasks_per_plan=0, deleted_tasks_per_plan=0)
    trello, planner = trello_app(trello_cfg), planner_app(planner_cfg)
    summary = trello.state.trello.summary
    with serve(trello) as t, serve(planner) as p:
        group = next(iter(planner.state.planner.store.groups))
        print(
            json.dumps(
                {
                    "trello": t,
                    "key": summary["key"],
                    "token": summary["token"],
                    "planner": p,
                    "tenant": planner_cfg.tenant_domain,
                    "client_id": planner_cfg.client_id,
                    "password": planner_cfg.user_password,
                    "group": group,
                }
            ),
            flush=True,
        )
        sys.stdin.read()


# --------------------------------------------------------------------------- engine


def _io_write_bytes() -> int:
    """Bytes this process caused to be written to storage (Linux, FreeBSD; -1 elsewhere)."""
    process = psutil.Process()
    if not hasattr(process, "io_counters"):
        return -1
    return int(process.io_counters().write_bytes)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / (1024 * 1024)


async def _engine(sims: dict[str, Any], size: int) -> dict[str, Any]:
    import httpx

    from shared.connectors.registry import open_runtime
    from shared.connectors.settings import parse_connection
    from shared.engine.chunk import ChunkRunner
    from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
    from shared.engine.plan import RunSettings, begin

    source = await open_runtime(
        parse_connection(
            {
                "kind": "trello",
                "base_url": f"{sims['trello']}/1",
                "auth": {"type": "api_key_token", "api_key": sims["key"], "token": sims["token"]},
            }
        ),
        allow_loopback=True,
    )
    dest = await open_runtime(
        parse_connection(
            {
                "kind": "planner",
                "base_url": f"{sims['planner']}/v1.0",
                "auth": {
                    "type": "username_password",
                    "entra_tenant_id": sims["tenant"],
                    "client_id": sims["client_id"],
                    "username": f"zoe@{sims['tenant']}",
                    "password": sims["password"],
                },
            }
        ),
        allow_loopback=True,
    )
    assert source.reader is not None and dest.writer is not None
    boards = [c for c in await source.reader.list_containers() if c.kind != "workspace"]
    group = sims["group"] or next(c.id for c in await dest.writer.list_containers() if c.kind == "workspace")
    settings = RunSettings(
        tenant_id="bench", migration_id="bench-attachment", run_id="run1", dest_workspace=group, chunk_budget_s=3600.0
    )
    state, queue = InMemoryRunState(), InMemoryQueue()
    runner = ChunkRunner(
        reader=source.reader,
        writer=dest.writer,
        id_map=InMemoryIdMap(),
        run_state=state,
        queue=queue,
        settings=settings,
    )
    for msg in await begin(state, settings, [boards[0].id]):
        await queue.enqueue(msg)

    async def wait(seconds: float) -> None:
        await asyncio.sleep(seconds)

    rss_before, written_before = _rss_mb(), _io_write_bytes()
    t0 = time.perf_counter()
    await drain(queue, runner.run, on_wait=wait)
    seconds = time.perf_counter() - t0
    written = _io_write_bytes() - written_before
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = dict(state.counts[settings.run_id])
    await source.aclose()
    await dest.aclose()
    async with httpx.AsyncClient(timeout=60) as http:
        state_doc = (await http.get(f"{sims['planner']}/_sim/state")).text
    return {
        "size": size,
        "status": str(state.status[settings.run_id]),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(rss_before, 1),
        "peak_mb": round(peak_mb, 1),
        "disk_write_bytes": written,
        "attachments_created": counts.get("attachment.created", 0),
        "destination_has_file": f'"size": {size}' in state_doc or f'"size":{size}' in state_doc,
        "problems": [
            f"{r.kind} {r.status}: {r.reason}"
            for r in state.items[settings.run_id]
            if r.status in ("failed", "skipped")
        ][:5],
    }


def run_engine(size: int, sims_json: str) -> None:
    """Child: one engine run; prints its figures as JSON on the last line."""
    from functions.startup import settle_imports

    settle_imports()  # the collector as a Functions worker has it (function_app.py)
    if os.environ.get("BENCH_NO_COLLECT"):  # to show what the periodic young-GC pass saves
        from shared.engine import streams

        streams.COLLECT_EVERY_BYTES = 1 << 62
    print(json.dumps(asyncio.run(_engine(json.loads(sims_json), size))), flush=True)


# --------------------------------------------------------------------------- driver


def one(size_mib: int, *, collect: bool = True) -> dict[str, Any]:
    size = size_mib * MIB
    env = {**os.environ, "FERRY_ALLOW_LOOPBACK_CONNECTORS": "true"}
    if not collect:
        env["BENCH_NO_COLLECT"] = "1"
    sims = subprocess.Popen(
        [sys.executable, "-m", "bench.attachment_memory", "--serve", str(size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert sims.stdout is not None
        coords = sims.stdout.readline()
        out = subprocess.run(
            [sys.executable, "-m", "bench.attachment_memory", "--engine", str(size), coords],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if sims.stdin is not None:
            sims.stdin.close()
        try:
            sims.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sims.kill()


def main(sizes: list[int], *, collect: bool = True) -> None:
    print(
        "attachment_memory: one file Trello sim → engine → Planner sim (upload session), simulators "
        "in another process; figures of the engine process"
        + ("" if collect else " — WITHOUT the periodic young-generation GC of shared.engine.streams")
    )
    results = []
    for mib in sizes:
        r = one(mib, collect=collect)
        results.append(r)
        rate = r["size"] / MIB / r["seconds"] if r["seconds"] else 0.0
        print(
            f"  {mib:5d} MiB  status={r['status']:9s} attachment created={r['attachments_created']} "
            f"file at destination={r['destination_has_file']}  time={r['seconds']:6.1f}s ({rate:5.1f} MiB/s)  "
            f"RSS before={r['rss_before_mb']:6.1f} MB  peak={r['peak_mb']:6.1f} MB "
            f"(peak − before = {r['peak_mb'] - r['rss_before_mb']:5.1f} MB)  "
            f"disk writes={r['disk_write_bytes']} B  peak / 200 MB goal={r['peak_mb'] / GOAL_PEAK_MB:4.2f}"
        )
        for problem in r["problems"]:
            print(f"        {problem[:160]}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(
            f"  flatness: file size ratio {large['size'] / small['size']:.0f}×, peak RSS ratio "
            f"{large['peak_mb'] / small['peak_mb']:.3f}, growth above the pre-run RSS "
            f"{large['peak_mb'] - large['rss_before_mb']:.1f} MB vs {small['peak_mb'] - small['rss_before_mb']:.1f} MB"
        )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_simulators(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--engine":
        run_engine(int(sys.argv[2]), sys.argv[3])
    else:
        args = [a for a in sys.argv[1:] if a != "--no-collect"]
        main([int(a) for a in args] or [64, 1024], collect="--no-collect" not in sys.argv)
