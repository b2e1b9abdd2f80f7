"""Real migrations on the local stack, measured from outside: time, requests, budget, CPU.

Everything is the production path: the public API of the local runner (``tools.devhost``),
its queue worker processes, the Cosmos stand-in, Azurite, and the vendor simulators — each in
a process of its own (``bench.sim_server``) with the vendor's real rate limits. Nothing is
faked or scaled in time.

Per pair (``--pairs trello:asana,asana:trello,trello:planner``) it runs a full migration of
``--boards`` × ``--cards``, then a delta with nothing changed, and prints:

- full-run time (from the run's POST until the API shows it final; polled every 0.5 s);
- destination requests and requests per migrated item (``/_sim/stats``; an item is any
  record the run counted: project, section, label, task, comment, attachment …);
- share of the destination budget: requests ÷ (published rate × full-run time);
- actual ÷ ideal: full-run time ÷ (requests ÷ published rate) — 1.00 means the run was paced
  exactly at the vendor's limit the whole time;
- 429s the source and the destination answered;
- worker CPU per item (user + system of the runner's queue workers, psutil, less their
  ``ferry-host`` threads; each pair starts after an unreported 2-card warm-up run, so
  first-use imports are not charged to it), and ``sys%``, the share of it spent in the
  kernel (every call to a simulator, the Cosmos stand-in or Azurite is a loopback TCP
  exchange, whose receiving side the kernel processes on the sender's CPU);
- host CPU per item: the workers' ``ferry-host`` threads, where the local runner does the
  Functions host's queue work (polling, leases, deletes: a process apart from the Python
  worker in Azure; ``tools.devhost.host_thread``), printed so nothing is left out;

- peak: destination requests in the busiest 30 s ÷ (published rate × 30 s) — the share of
  the budget the pacer reaches while the run waits on the destination;
- for Azure DevOps the TSTUs charged as a share of the published 200 per 5 minutes;
- ``counted``: where a destination takes batch calls (Graph's ``$batch``, Asana's ``/batch``),
  the requests as the vendor counts them against its limit — each one a batch holds. Budget
  share, actual ÷ ideal and peak are figured from these; ``dst req`` are the HTTP requests.

Then ``--orgs`` organisations migrate at once on ``--multi-workers`` workers (each with its
own pair of simulators, so its own credentials), with 429s and budget share per org; with
``--one-token`` they share one simulator per side (one credential, one budget) and print as
one row. ``--json`` also keeps each run's requests per route and the destination's samples.

Run (a small run takes a few minutes on 2 busy cores):

    .venv/bin/python -m bench.e2e_budget --boards 1 --cards 20 --orgs 2 --multi-workers 2

The issue's sizes: ``--boards 3 --cards 100`` for the pairs, ``--pairs trello:asana
--boards 10 --cards 100`` for the 1,000-card unchanged delta, ``--orgs 4 --multi-workers 4``;
the new destinations: ``--pairs trello:jira,trello:azure_devops,trello:monday``. Each run
keeps its stack and logs in a directory of its own under ``.ferry/bench/e2e_budget/``.
Results: ``bench/RESULTS.md``.
Figures only, no assertions: the machine's load changes the times.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.proc_cpu import WorkerCpu
from bench.sim_server import SimProcess, sim_process
from shared.config import QUEUE_ASSISTANT

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = "api://ferry-local"
FINAL = ("succeeded", "partially_succeeded", "failed", "cancelled")
NOT_ITEMS = ("adapt", "skip", "scope")

#: Published per-credential limits (requests, seconds) the budget is measured against.
PUBLISHED: dict[str, tuple[int, float, str]] = {
    # https://developers.asana.com/docs/rate-limits — paid plan, per token (the simulator's)
    "asana": (1500, 60.0, "Asana 1,500/min per token"),
    # https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/ — per token
    "trello": (100, 10.0, "Trello 100/10 s per token"),
    # Graph publishes no Planner quota (https://learn.microsoft.com/graph/throttling-limits);
    # this is Ferry's own Planner pacer, as in issue 19
    "planner": (600, 60.0, "Planner: Ferry's 600/min pacer"),
    # Atlassian publishes no figure for API-token traffic, only "burst rate limits"
    # (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/): Ferry's own pacer
    "jira": (20, 1.0, "Jira: Ferry's 20/s pacer (no published figure)"),
    # Azure DevOps publishes no request rate, only 200 TSTUs per sliding 5 minutes
    # (https://learn.microsoft.com/azure/devops/integrate/concepts/rate-limits): Ferry's own
    # pacer here; the TSTU share is printed beside it (``tstu_share``)
    "azure_devops": (10, 1.0, "Azure DevOps: Ferry's 10/s pacer (200 TSTU/5 min published)"),
    # monday publishes a complexity budget (10M points/min per personal token) and a
    # plan-dependent minute limit (https://developer.monday.com/api-reference/docs/rate-limits):
    # Ferry's own request pacer here
    "monday": (1000, 60.0, "monday: Ferry's 1,000/min pacer (10M complexity/min published)"),
}

#: Azure DevOps' published consumption limit: TSTUs per sliding window of seconds
ADO_TSTU_LIMIT = (200.0, 300.0)

#: Length of the busiest span the "peak" share is measured over (seconds): long enough that a
#: burst adds little (Asana: 25 of 750), short enough to fit the destination-bound part of a run
PEAK_SPAN_S = 30.0


@dataclass
class RunFigures:
    """What one run cost, as measured from outside."""

    label: str
    status: str
    seconds: float
    items: int
    source_requests: int
    dest_requests: int
    source_429: int
    dest_429: int
    worker_cpu_s: float
    dest_kind: str
    host_cpu_s: float = 0.0  # the workers' host threads (queue polling, leases)
    worker_sys_share: float = 0.0  # of worker_cpu_s, the share spent in the kernel
    peak_share: float = 0.0  # destination requests in the busiest PEAK_SPAN_S ÷ published rate
    tstu_share: float | None = None  # Azure DevOps: TSTUs charged ÷ the published TSTU budget
    #: requests as the vendor counts them against its limit: each action of a batch call
    #: (Asana's ``/batch``, Graph's ``$batch``) instead of the call (None: as ``dest_requests``)
    counted_requests: int | None = None
    chunks: Counter[str] = field(default_factory=Counter)  # chunk deliveries by outcome (run log)
    # for --json only: where the requests went, and the destination's requests over time
    source_routes: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    dest_routes: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    dest_samples: list[tuple[float, int]] = field(default_factory=list, repr=False)

    @property
    def dest_counted(self) -> int:
        return self.dest_requests if self.counted_requests is None else self.counted_requests

    @property
    def ideal_s(self) -> float:
        limit, window, _ = PUBLISHED[self.dest_kind]
        return self.dest_counted / (limit / window)

    @property
    def budget_share(self) -> float:
        return self.ideal_s / self.seconds if self.seconds else 0.0

    @property
    def actual_over_ideal(self) -> float:
        return self.seconds / self.ideal_s if self.ideal_s else float("inf")

    def row(self) -> str:
        per_item = self.dest_requests / max(self.items, 1)
        cpu_ms = self.worker_cpu_s * 1000 / max(self.items, 1)
        host_ms = self.host_cpu_s * 1000 / max(self.items, 1)
        return (
            f"{self.label:<26} {self.status:<20} {self.seconds:8.1f} {self.items:6d} "
            f"{self.source_requests:7d} {self.dest_requests:7d} {per_item:6.2f} "
            f"{self.budget_share:6.2f} {self.actual_over_ideal:7.2f} "
            f"{self.source_429:4d}/{self.dest_429:<4d} {cpu_ms:8.1f} {self.worker_sys_share * 100:4.0f} "
            f"{host_ms:7.2f} "
            f"{self.peak_share:6.2f} "
            f"{self.dest_requests / self.seconds if self.seconds else 0.0:6.1f}"
            + (f" tstu {self.tstu_share:.2f}" if self.tstu_share is not None else "")
            + (
                f" counted {self.counted_requests} ({self.counted_requests / max(self.items, 1):.2f}/it)"
                if self.counted_requests is not None and self.counted_requests != self.dest_requests
                else ""
            )
            + (f" chunks {sum(self.chunks.values())} ({_outcomes(self.chunks)})" if self.chunks else "")
        )


def _outcomes(chunks: Counter[str]) -> str:
    return ", ".join(f"{n} {event.removeprefix('chunk.')}" for event, n in chunks.most_common())


HEADER = (
    f"{'run':<26} {'status':<20} {'time s':>8} {'items':>6} {'src req':>7} {'dst req':>7} "
    f"{'dst/it':>6} {'budget':>6} {'act/id':>7} {'429 s/d':>9} {'cpu ms/it':>8} {'sys%':>4} {'host ms':>7} "
    f"{'peak':>6} {'dst/s':>6}"
    " [tstu share | counted requests] chunks (by outcome)"
)


def peak_share(samples: list[tuple[float, int]], rate: float, span: float = PEAK_SPAN_S) -> float:
    """Destination requests in the busiest stretch of about ``span`` seconds, as a share of
    ``rate`` × its length. ``samples`` are (seconds since the start, requests so far), taken
    while the run was polled; a run shorter than ``span`` is measured over its whole length.
    The stretch runs from one sample to the last one at most ``span`` later, so it is as long
    as the samples allow (a stretch much shorter than ``span`` would let a burst count as rate)."""
    best = 0.0
    if len(samples) < 2:
        return best
    span = min(span, samples[-1][0] - samples[0][0])
    j = 0
    for i, (t0, n0) in enumerate(samples):
        j = max(j, i)
        while j + 1 < len(samples) and samples[j + 1][0] - t0 <= span:
            j += 1
        t1, n1 = samples[j]
        if t1 - t0 >= span * 0.9 and t1 > t0:
            best = max(best, (n1 - n0) / (rate * (t1 - t0)))
    return best


#: batch calls, whose requests (actions) the simulators count apart as ``"<prefix> › METHOD /route"``
BATCH_CALLS = {"POST /v1.0/$batch": "$batch ›", "POST /batch": "batch ›", "POST /api/1.0/batch": "batch ›"}


def counted_requests(stats: dict[str, Any]) -> int:
    """Requests as the vendor counts them: a batch call is the requests it holds (Graph's
    ``$batch``, Asana's ``/batch``: each action counts against the limit; the simulators count
    those apart, as ``"$batch › METHOD /route"`` / ``"batch › METHOD /route"``, and ``total``
    has the call once)."""
    inner_prefixes = tuple(set(BATCH_CALLS.values()))
    batch_calls = inner = 0
    for route, statuses in stats["by_route"].items():
        count = sum(int(n) for n in statuses.values())
        if route.startswith(inner_prefixes):
            inner += count
        elif route in BATCH_CALLS:
            batch_calls += count
    return int(stats["total"]) - batch_calls + inner


def tstu_charged(stats: dict[str, Any]) -> float:
    """TSTUs the Azure DevOps simulator charged for the requests in ``stats`` (its cost per
    request class; a request its limiter refused with 429 was not charged)."""
    from simulators.azure_devops.auth import request_class
    from simulators.azure_devops.tstu import COSTS

    total = 0.0
    for route, statuses in stats["by_route"].items():
        method, _, path = route.partition(" ")
        charged = sum(int(n) for status, n in statuses.items() if status != "429")
        total += charged * COSTS.get(request_class(method, path), COSTS["read"])
    return total


class Api:
    """The public API as a client sees it (bearer token of the development issuer)."""

    def __init__(self, base: str, token: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None


@dataclass
class Migration:
    """An org's migration between two simulators, ready to run."""

    api: Api
    org: str
    base: str
    source: SimProcess
    dest: SimProcess

    def start(self, mode: str) -> str:
        return str(self.api.call("POST", f"{self.base}/runs", json={"mode": mode})["id"])

    def get(self, run_id: str) -> dict[str, Any]:
        return dict(self.api.call("GET", f"{self.base}/runs/{run_id}"))

    def chunk_outcomes(self, run_id: str) -> Counter[str]:
        """The run's chunk deliveries by outcome, from its log: each delivery costs the same
        bookkeeping (claim, checkpoint, queue, log) however many items it holds."""
        outcomes: Counter[str] = Counter()
        path = f"/api/orgs/{self.org}/runs/{run_id}/logs"
        after = None
        while True:
            page = self.api.call("GET", path, params={"limit": 1000, **({"after": after} if after else {})})
            outcomes.update(x["event"] for x in page["items"] if str(x.get("event", "")).startswith("chunk."))
            if not page["more"] or not page["items"]:
                return outcomes
            after = page["cursor"]


def items_of(run: dict[str, Any]) -> int:
    """Records the run counted, every kind and action (not adaptations, skips or scopes)."""
    total = 0
    for kind, counts in (run.get("counts") or {}).items():
        if kind in NOT_ITEMS or not isinstance(counts, dict):
            continue
        total += sum(int(v) for v in counts.values())
    return total


def set_up(api: Api, name: str, source: SimProcess, dest: SimProcess, page_size: int | None = None) -> Migration:
    org = api.call("POST", "/api/orgs", json={"name": name, "country": "DE"})["id"]
    s = api.call(
        "POST", f"/api/orgs/{org}/connectors", json={"name": f"{source.kind} (source)", "connection": source.connection}
    )
    d = api.call(
        "POST",
        f"/api/orgs/{org}/connectors",
        json={"name": f"{dest.kind} (destination)", "connection": dest.connection},
    )
    scopes = [
        x
        for x in api.call("GET", f"/api/orgs/{org}/connectors/{s['id']}/containers")["items"]
        if x["kind"] != "workspace"
    ]
    targets = [
        x
        for x in api.call("GET", f"/api/orgs/{org}/connectors/{d['id']}/containers")["items"]
        if x["kind"] == "workspace"
    ]
    mig = api.call(
        "POST",
        f"/api/orgs/{org}/migrations",
        json={
            "name": name,
            "sourceConnectorId": s["id"],
            "destinationConnectorId": d["id"],
            "scopes": [{"id": x["id"]} for x in scopes],
            "destinationWorkspace": targets[0]["id"] if targets else None,
            **({"pageSize": page_size} if page_size else {}),
        },
    )
    return Migration(api, org, f"/api/orgs/{org}/migrations/{mig['id']}", source, dest)


def run_all(migs: list[Migration], mode: str, cpu: WorkerCpu, labels: list[str]) -> list[RunFigures]:
    """Start ``mode`` on every migration at once; figures per run once all are final.

    Worker CPU is shared by the runs that ran together: each gets its share by items."""
    for m in migs:
        m.source.reset_stats()
        m.dest.reset_stats()
    cpu.start()
    started = time.monotonic()
    runs = {i: m.start(mode) for i, m in enumerate(migs)}
    done: dict[int, tuple[float, dict[str, Any]]] = {}
    samples: dict[int, list[tuple[float, int]]] = {i: [(0.0, 0)] for i in range(len(migs))}
    while len(done) < len(migs):
        time.sleep(0.5)
        for i, m in enumerate(migs):
            if i in done:
                continue
            samples[i].append((time.monotonic() - started, counted_requests(m.dest.stats())))
            run = m.get(runs[i])
            if run["status"] in FINAL:
                done[i] = (time.monotonic() - started, run)
    spent = cpu.spent()
    all_items = sum(items_of(run) for _, run in done.values())
    figures = []
    for i, m in enumerate(migs):
        seconds, run = done[i]
        src, dst = m.source.stats(), m.dest.stats()
        items = items_of(run)
        limit, window, _ = PUBLISHED[m.dest.kind]
        tstu = None
        if m.dest.kind == "azure_devops":
            tstu_limit, tstu_window = ADO_TSTU_LIMIT
            tstu = tstu_charged(dst) / (tstu_limit * seconds / tstu_window) if seconds else 0.0
        counted = counted_requests(dst)
        chunks = m.chunk_outcomes(runs[i])
        figures.append(
            RunFigures(
                label=labels[i],
                status=run["status"],
                seconds=seconds,
                items=items,
                source_requests=int(src["total"]),
                dest_requests=int(dst["total"]),
                source_429=int(src["throttled"]),
                dest_429=int(dst["throttled"]),
                worker_cpu_s=spent * items / max(all_items, 1),
                worker_sys_share=cpu.system_share,
                host_cpu_s=cpu.host_s * items / max(all_items, 1),
                dest_kind=m.dest.kind,
                chunks=chunks,
                peak_share=peak_share(samples[i], limit / window),
                tstu_share=tstu,
                counted_requests=counted,
                source_routes=src["by_route"],
                dest_routes=dst["by_route"],
                dest_samples=[(round(t, 2), n) for t, n in samples[i]],
            )
        )
    if cpu.lost:
        print(f"  note: {cpu.lost} worker process(es) ended during the run; their CPU is missing")
    return figures


@contextmanager
def runner(env: dict[str, str], workers: int, log: Path, app: str) -> Iterator[tuple[int, int]]:
    from tools.devhost.process import runner_process
    from tools.stack import free_port

    port = free_port()
    with runner_process(env, port, log, workers=workers, app=app) as proc:
        yield port, proc.pid


def pairs_scenario(args: argparse.Namespace, env: dict[str, str], token: str, out: Path) -> list[RunFigures]:
    figures: list[RunFigures] = []
    with runner(env, args.workers, out / "runner-pairs.log", args.app) as (port, pid):
        api = Api(f"http://127.0.0.1:{port}", token)
        cpu = WorkerCpu(pid)
        for pair in args.pairs:
            src_kind, dst_kind = pair.split(":")
            if args.warmup:
                warm_up(api, cpu, src_kind, dst_kind, out, env)
            with (
                sim_process(
                    src_kind,
                    source=True,
                    boards=args.boards,
                    cards=args.cards,
                    max_mb=args.max_attachment_mb,
                    log=out / "sims.log",
                ) as src,
                sim_process(dst_kind, source=False, log=out / "sims.log") as dst,
            ):
                mig = set_up(api, f"Bench {pair}", src, dst, args.page_size)
                for mode in ("full", "delta"):
                    label = f"{src_kind}→{dst_kind} {mode}"
                    fig = run_all([mig], mode, cpu, [label])[0]
                    print(fig.row(), flush=True)
                    figures.append(fig)
    return figures


def warm_up(
    api: Api, cpu: WorkerCpu, src_kind: str, dst_kind: str, out: Path, env: dict[str, str], runs: int = 1
) -> None:
    """``runs`` 2-card migrations of the pair at once, not reported: a fresh worker process
    imports the connectors, opens its clients, loads the assistant's embedding model and
    compiles on first use, a one-time cost per process that would otherwise be charged to the
    first run's items. Waits until the warm-up's log lines are indexed too (the assistant's
    queue is empty): the index worker loads its model on its first message, which otherwise
    lands in the measured run."""
    with ExitStack() as stack:
        migs = []
        for n in range(runs):
            src = stack.enter_context(sim_process(src_kind, source=True, boards=1, cards=2, log=out / "sims.log"))
            dst = stack.enter_context(sim_process(dst_kind, source=False, log=out / "sims.log"))
            migs.append(set_up(api, f"Warm-up {n} {src_kind}:{dst_kind}", src, dst))
        run_all(migs, "full", cpu, ["warm-up"] * runs)
    wait_until_drained(env, QUEUE_ASSISTANT)


def wait_until_drained(env: dict[str, str], queue: str, timeout_s: float = 120.0) -> None:
    """Until ``queue`` holds no message (in flight ones included) in every region's storage."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.queue import QueueClient

    conns = {v for k, v in env.items() if k.startswith("FERRY_STORAGE_CONNECTION_") or k == "AzureWebJobsStorage"}
    started = time.monotonic()
    deadline = started + timeout_s
    for conn in conns:
        with QueueClient.from_connection_string(conn, queue) as client:
            while time.monotonic() < deadline:
                try:
                    left = client.get_queue_properties().approximate_message_count
                except ResourceNotFoundError:
                    left = 0
                if not left:
                    break
                time.sleep(0.5)
            else:
                print(f"  note: {queue} still held messages after {timeout_s:.0f} s of warm-up")
    print(f"  warm-up: {queue} empty after {time.monotonic() - started:.1f} s", flush=True)


def multi_scenario(args: argparse.Namespace, env: dict[str, str], token: str, out: Path) -> list[RunFigures]:
    src_kind, dst_kind = args.multi_pair.split(":")
    with ExitStack() as stack, runner(env, args.multi_workers, out / "runner-multi.log", args.app) as (port, pid):
        api = Api(f"http://127.0.0.1:{port}", token)
        if args.warmup:
            warm_up(api, WorkerCpu(pid), src_kind, dst_kind, out, env, runs=args.multi_workers)
        migs = []
        src = dst = None
        for n in range(args.orgs):
            if src is None or not args.one_token:
                src = stack.enter_context(
                    sim_process(
                        src_kind,
                        source=True,
                        boards=args.multi_boards,
                        cards=args.multi_cards,
                        max_mb=args.max_attachment_mb,
                        log=out / "sims.log",
                    )
                )
                dst = stack.enter_context(sim_process(dst_kind, source=False, log=out / "sims.log"))
            assert dst is not None
            migs.append(set_up(api, f"Bench org {n + 1}", src, dst, args.page_size))
        labels = [f"org {n + 1} {src_kind}→{dst_kind}" for n in range(args.orgs)]
        figures = run_all(migs, "full", WorkerCpu(pid), labels)
        if args.one_token:
            figures = [one_token_figures(figures, f"{args.orgs} orgs, one token each side")]
        for fig in figures:
            print(fig.row(), flush=True)
    return figures


def one_token_figures(figures: list[RunFigures], label: str) -> RunFigures:
    """The orgs' runs as one: with one simulator per side, every run's request counts are the
    whole's, read once all were final; the run that ended last was sampled throughout."""
    last = max(figures, key=lambda f: f.seconds)
    statuses = sorted({f.status for f in figures})
    return replace(
        last,
        label=label,
        status="/".join(statuses),
        items=sum(f.items for f in figures),
        worker_cpu_s=sum(f.worker_cpu_s for f in figures),
        host_cpu_s=sum(f.host_cpu_s for f in figures),
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.e2e_budget", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--pairs",
        default="trello:asana,asana:trello,trello:planner",
        type=lambda s: [x for x in s.split(",") if x],
        help="source:destination,… ('' skips)",
    )
    p.add_argument("--boards", type=int, default=3)
    p.add_argument("--cards", type=int, default=100, help="cards (tasks) per board")
    p.add_argument("--workers", type=int, default=1, help="queue workers for the pairs")
    p.add_argument(
        "--page-size", type=int, help="the migrations' pageSize (items per chunk; default: the API's default)"
    )
    p.add_argument("--max-attachment-mb", type=int, default=1)
    p.add_argument("--orgs", type=int, default=4, help="organisations migrating at once (0 skips)")
    p.add_argument("--multi-workers", type=int, default=2)
    p.add_argument("--multi-pair", default="trello:asana")
    p.add_argument("--multi-boards", type=int, default=1)
    p.add_argument("--multi-cards", type=int, default=100)
    p.add_argument(
        "--one-token",
        action="store_true",
        help="the orgs share one source and one destination simulator, i.e. one credential "
        "each side and so one request budget (the shared ledger's case); printed as one row",
    )
    p.add_argument(
        "--app",
        default="function_app:app",
        help="app the runner serves; bench.migration_app:app leaves the assistant's "
        "log indexing out of the workers' CPU",
    )
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="charge the workers' first-use imports to the first run of each pair",
    )
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tools.cli import local_values
    from tools.dev_issuer import DevIssuer
    from tools.stack import start_stack

    args = parse(argv)
    # a directory per run: two benchmarks started in one checkout must not share a stack
    # (``start_stack(fresh=True)`` empties its directory, and two Azurites on one --location
    # corrupt each other's queues: both runs then stalled with 500s on every receive)
    out = ROOT / ".ferry" / "bench" / "e2e_budget" / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    out.mkdir(parents=True)
    print(f"logs and stack: {out.relative_to(ROOT)}")
    results: dict[str, list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        local = start_stack(out / "stack", fresh=True)
        stack.callback(local.stop)
        issuer = DevIssuer(out / "dev-issuer")
        issuer_url = stack.enter_context(issuer.serve(0))
        env = {
            **os.environ,
            **local_values(local.values(), loopback_connectors=True),
            "FERRY_OIDC_ISSUERS": issuer_url,
            "FERRY_SETTINGS_FILE": os.devnull,
            "FERRY_LOG_LEVEL": "WARNING",
        }
        token = issuer.mint("bench@ferry.example", "Bench", audience=AUDIENCE)
        print("budgets: " + "; ".join(v[2] for v in PUBLISHED.values()))
        if args.pairs:
            print(f"pairs: {args.boards} boards × {args.cards} cards, {args.workers} worker(s), app {args.app}")
            print(HEADER)
            results["pairs"] = [_as_dict(f) for f in pairs_scenario(args, env, token, out)]
        if args.orgs:
            print(
                f"{args.orgs} orgs at once, {args.multi_boards} board(s) × {args.multi_cards} cards each, "
                f"{args.multi_workers} worker(s)" + (", one token each side" if args.one_token else "")
            )
            print(HEADER)
            results["multi"] = [_as_dict(f) for f in multi_scenario(args, env, token, out)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _as_dict(fig: RunFigures) -> dict[str, Any]:
    return {
        **asdict(fig),
        "chunks": dict(fig.chunks),  # asdict would rebuild the Counter from (key, count) pairs
        "budget_share": round(fig.budget_share, 3),
        "actual_over_ideal": round(fig.actual_over_ideal, 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
