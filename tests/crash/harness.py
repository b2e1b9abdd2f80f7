"""Parent side of the crash tests: vendor simulators, worker processes, runs and waiting.

Everything Ferry-side is real: the org, connectors and migrations are created through the
service functions, runs start with `start_run` (first chunks on the Azurite queue), and
chunks are processed by separate worker processes running the local runner's
`QueuePoller` on Ferry's real queue trigger. Worker processes die by `os._exit` when a
planned crash point is hit (tests/crash/inject.py); the pool restarts them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import QUEUE_CHUNKS
from shared.connections.service import create_connector
from shared.contract.runs import FINAL_STATUSES, RunStatus
from shared.identity.oidc import Principal
from shared.migrations.ports_cosmos import RunsRepository
from shared.migrations.service import MigrationSpec, Scope, create_migration, start_run
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.orgs import create_org
from tests.crash.inject import EXIT_CODE, PLAN_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]
ACTOR = "user:crash-tests"
TRELLO_KEY = "crashkey0123456789abcdef"

#: host.json of the crash workers: one message at a time per process (so a crash takes
#: exactly one delivery with it), failures visible again at once, and enough dequeues that
#: planned crashes never poison a message.
HOST_JSON = {
    "version": "2.0",
    "functionTimeout": "00:02:00",
    "extensions": {
        "queues": {
            "batchSize": 1,
            "newBatchThreshold": 0,
            "maxDequeueCount": 30,
            "visibilityTimeout": "00:00:00",
            "maxPollingInterval": "00:00:00.5",
            "messageEncoding": "base64",
        }
    },
}


def trello_token(i: int) -> str:
    return f"crashtoken{i:03d}0123456789abcdef"


@dataclass
class Sims:
    """The Trello source and Asana destination simulators, served by this process."""

    trello: str
    asana: str
    boards: list[str]
    workspace: str
    asana_tokens: list[str]

    def trello_state(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.trello}/_sim/state", timeout=30).json()

    def asana_state(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.asana}/_sim/state", timeout=30).json()

    def asana_writes(self) -> int:
        """POST/PUT/DELETE calls the Asana simulator answered (any status)."""
        import httpx

        stats = httpx.get(f"{self.asana}/_sim/stats", timeout=30).json()
        return sum(
            sum(by_status.values())
            for route, by_status in stats["by_route"].items()
            if route.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE") and "/_sim" not in route
        )


class WorkerPool:
    """`size` worker processes on the chunk queue; dead ones are restarted by `ensure()`.

    Workers fork from a multiprocessing fork server that preloaded Ferry (the server has no
    threads and no event loop, so forking it is safe); each gets the pool's environment.
    """

    def __init__(self, env: dict[str, str], work_dir: Path, size: int, lease_s: float) -> None:
        import multiprocessing

        self.env = env
        self.plan_dir = Path(env[PLAN_DIR_ENV])
        self.log_dir = work_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.lease_s = lease_s
        self.mp = multiprocessing.get_context("forkserver")
        self.mp.set_forkserver_preload(["tests.crash.worker"])
        self.procs: list[Any] = []
        self.crashes = 0  # planned exits (EXIT_CODE)
        self.other_exits: list[int] = []  # anything else is a failure of the test
        self._started = 0

    def _spawn(self) -> Any:
        from tests.crash.worker import serve

        self._started += 1
        log = self.log_dir / f"worker-{self._started:03d}.log"
        proc = self.mp.Process(target=serve, args=(self.env, str(log), self.lease_s), daemon=False)
        proc.start()
        return proc

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.size)]

    def ensure(self) -> None:
        for i, proc in enumerate(self.procs):
            code = proc.exitcode
            if code is None:
                continue
            if code == EXIT_CODE:
                self.crashes += 1
            else:
                self.other_exits.append(code)
            proc.close()
            self.procs[i] = self._spawn()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.exitcode is None:
                proc.terminate()  # SIGTERM: the runner finishes in-flight messages first
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.exitcode is None:
                proc.kill()
                proc.join(timeout=5)
            if proc.exitcode == EXIT_CODE:
                self.crashes += 1

    def tail(self, lines: int = 40) -> str:
        """The last lines of the newest worker logs (for assertion messages)."""
        logs = sorted(self.log_dir.glob("worker-*.log"))[-3:]
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:]) for p in logs
        )


def worker_env(local_env: dict[str, str], work_dir: Path, chunk_lease_s: float) -> dict[str, str]:
    """Environment of a worker process: the session's stand-ins, a short scope lease, the
    crash host.json and the plan folder."""
    work_dir.mkdir(parents=True, exist_ok=True)
    host = work_dir / "host.json"
    host.write_text(json.dumps(HOST_JSON))
    plans = work_dir / "plans"
    plans.mkdir(exist_ok=True)
    return {
        **os.environ,
        **local_env,
        "FERRY_CHUNK_LEASE_SECONDS": str(chunk_lease_s),
        "FERRY_HOST_JSON": str(host),
        PLAN_DIR_ENV: str(plans),
        "PYTHONUNBUFFERED": "1",
    }


async def new_org(stores: Any) -> TenantContext:
    principal = Principal(
        subject=uuid.uuid4().hex,
        issuer="https://issuer.crash.test",
        email=f"crash-{uuid.uuid4().hex[:8]}@example.com",
        name="Crash Tests",
    )
    org = await create_org(stores, principal, name="Crash tests", country="NL", region=None, request=RequestInfo())
    return TenantContext.for_org(stores, org["id"])


async def new_migration(ctx: TenantContext, sims: Sims, index: int, boards: list[str]) -> str:
    """A Trello → Asana migration of ``boards`` with its own credentials on both sides
    (so every seed has its own pacers and vendor quotas)."""
    src = await create_connector(
        ctx,
        name=f"Trello {index}",
        actor=ACTOR,
        connection={
            "kind": "trello",
            "base_url": f"{sims.trello}/1",
            "auth": {"type": "api_key_token", "api_key": TRELLO_KEY, "token": trello_token(index)},
        },
    )
    dst = await create_connector(
        ctx,
        name=f"Asana {index}",
        actor=ACTOR,
        connection={
            "kind": "asana",
            "base_url": f"{sims.asana}/api/1.0",
            "auth": {"type": "pat", "token": sims.asana_tokens[index % len(sims.asana_tokens)]},
        },
    )
    spec = MigrationSpec(
        name=f"crash {index}",
        sourceConnectorId=src["id"],
        destinationConnectorId=dst["id"],
        scopes=[Scope(id=b) for b in boards],
        destinationWorkspace=sims.workspace,
        pageSize=4,
    )
    return str((await create_migration(ctx, spec, actor=ACTOR))["id"])


async def start(ctx: TenantContext, migration_id: str, mode: str = "full") -> str:
    run = await start_run(ctx, migration_id, mode, actor=ACTOR, request=None)  # type: ignore[arg-type]
    return str(run["id"])


@dataclass
class Outcome:
    runs: dict[str, dict[str, Any]]  # migration id → final run document
    stuck: dict[str, dict[str, Any]] = field(default_factory=dict)  # not final, nothing queued
    seconds: float = 0.0


async def queued_messages(ctx: TenantContext) -> int:
    """Messages in the chunk queue, visible or not (in-flight deliveries count too)."""
    props = await ctx.storage.queue(QUEUE_CHUNKS).get_queue_properties()
    return int(props.approximate_message_count or 0)


#: a wait ends in failure after this many times its ``timeout_s`` even while runs still move
#: (a livelock that keeps changing the run documents must fail too)
HARD_CAP_FACTOR = 4


def _progress(docs: dict[str, dict[str, Any]], queued: int) -> str:
    """What moves while the runs make progress: their documents (counters, status, scopes)
    without the store's own fields, and the queue's length."""
    visible = {m: {k: v for k, v in d.items() if not k.startswith("_")} for m, d in docs.items()}
    return json.dumps([visible, queued], sort_keys=True, default=str)


async def wait_runs(ctx: TenantContext, runs: dict[str, str], pool: WorkerPool, *, timeout_s: float) -> Outcome:
    """Keep the pool alive until every run is final, or until the runs are stuck: not final
    while the queue holds no message at all (nothing could ever move them again).

    ``timeout_s`` bounds a *stall* — no run document and no queue length changed for that
    long — not the whole wait: on a loaded 2-core machine the same work takes several times
    as long, and a slow run that keeps moving is not a stuck one (the suite failed so under
    load). ``HARD_CAP_FACTOR × timeout_s`` bounds the whole wait."""
    repo = ctx.repo(RunsRepository)
    started = time.monotonic()
    empty_since: float | None = None
    last_progress, moved_at = "", started
    while True:
        pool.ensure()
        queued = await queued_messages(ctx)
        docs = {mig: await repo.get(run_id) for mig, run_id in runs.items()}
        open_ = {m: d for m, d in docs.items() if RunStatus(d["status"]) not in FINAL_STATUSES}
        now = time.monotonic()
        if not open_:
            return Outcome(docs, seconds=now - started)
        if queued == 0:
            empty_since = empty_since if empty_since is not None else now
            if now - empty_since >= 3.0:
                return Outcome(docs, stuck=open_, seconds=now - started)
        else:
            empty_since = None
        progress = _progress(docs, queued)
        if progress != last_progress:
            last_progress, moved_at = progress, now
        if now - moved_at > timeout_s or now - started > HARD_CAP_FACTOR * timeout_s:
            raise AssertionError(
                f"{len(open_)} run(s) not final after {now - started:.0f}s ({now - moved_at:.0f}s without "
                f"progress) with {queued} message(s) queued:\n{pool.tail()}"
            )
        await asyncio.sleep(0.3)
