"""`ferry demo`: a real migration between simulated vendors, watched live in the terminal.

Everything goes through the public API and the same triggers Azure runs: the local stack
(Azurite + the Cosmos stand-in), the development issuer, the vendor simulators and the
local Functions runner are started; a demo user signs in, creates an org and two
connectors, plans the migration with a dry run, runs it while progress bars per kind and
the run's log tail update, edits a few source items, runs a delta (nothing duplicated,
only the edits updated) and prints the report summary.
"""

from __future__ import annotations

import argparse
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from tools.demo_vendors import DEMO_VENDORS, SeedSize, Vendor

__all__ = ["DEMO_VENDORS", "Vendor", "run_demo"]

ROOT = Path(__file__).resolve().parent.parent
FINAL = ("succeeded", "partially_succeeded", "failed", "cancelled")
KINDS = ("project", "section", "label", "task", "comment", "attachment")
AUDIENCE = "api://ferry-local"


def _seed(kind: str, *, source: bool, boards: int, cards: int, max_mb: int) -> Any:
    """The seed of ``kind``'s simulator (also used by ``bench/sim_server.py``)."""
    return DEMO_VENDORS[kind].seed(SeedSize(source, boards, cards, max_mb))


def _start_vendor(stack: ExitStack, kind: str, seed: Any) -> Vendor:
    """``kind``'s simulator started on a free port, and its connection."""
    return DEMO_VENDORS[kind].start(stack, seed)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            raise SystemExit(f"{method} {path} answered {r.status_code}: {r.text}")
        return r.json() if r.content else None


def _watch(
    api: Api, base: str, org: str, run_id: str, title: str, plan: dict[str, dict[str, int]] | None
) -> dict[str, Any]:
    """Live progress per kind and the log tail until the run ends."""
    from rich.console import Group
    from rich.live import Live
    from rich.panel import Panel
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("{task.description:>11}"),
        BarColumn(bar_width=36),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    bars = {}
    for kind in KINDS:
        total = sum((plan or {}).get(kind, {}).values()) or None
        bars[kind] = progress.add_task(kind, total=total, detail="")
    tail: list[str] = []
    cursor: str | None = None
    with Live(
        Group(Panel(progress, title=title), Panel("", title="log")), refresh_per_second=6, transient=False
    ) as live:
        while True:
            run = api.call("GET", f"{base}/runs/{run_id}")
            for kind in KINDS:
                counts = run["counts"].get(kind, {})
                done = sum(v for k, v in counts.items())
                detail = "  ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                progress.update(bars[kind], completed=done, detail=detail)
            params = {"after": cursor} if cursor else {}
            page = api.call("GET", f"/api/orgs/{org}/runs/{run_id}/logs", params={**params, "level": "info"})
            for line in page.get("items", []):
                ids = " ".join(
                    x
                    for x in (
                        line.get("kind"),
                        line.get("sourceId"),
                        "→" if line.get("destId") else None,
                        line.get("destId"),
                    )
                    if x
                )
                tail.append(
                    f"{line['time'][11:19]} {line['level']:<7} {line['event']:<22} {ids} {line.get('code') or ''}"
                )
            cursor = page.get("next") or page.get("cursor") or cursor
            tail = tail[-10:]
            live.update(
                Group(Panel(progress, title=f"{title} — {run['status']}"), Panel("\n".join(tail) or "…", title="log"))
            )
            if run["status"] in FINAL:
                return run
            time.sleep(0.4)


def run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tools.cli import local_values
    from tools.dev_issuer import DevIssuer
    from tools.devhost.process import runner_process
    from tools.stack import free_port, start_stack

    console = Console()
    if args.source == args.destination:
        console.print("[yellow]source and destination are the same vendor: moving between two simulated accounts")
    data = ROOT / ".ferry" / "demo"
    with ExitStack() as stack:
        console.print("[bold]Starting[/] Azurite, the Cosmos stand-in, the development issuer and the simulators…")
        local = start_stack(data / "stack", fresh=True)
        stack.callback(local.stop)
        issuer = DevIssuer(data / "dev-issuer")
        issuer_url = stack.enter_context(issuer.serve(0))
        src = _start_vendor(
            stack,
            args.source,
            _seed(args.source, source=True, boards=args.boards, cards=args.cards, max_mb=args.max_attachment_mb),
        )
        dst = _start_vendor(stack, args.destination, _seed(args.destination, source=False, boards=0, cards=0, max_mb=1))
        port = free_port()
        # Every port of the demo is a free one (stand-ins, issuer, simulators, runner): it runs beside
        # `ferry up`, the test suite and another checkout's demo.
        env = {
            **os.environ,
            **local_values(local.values(), loopback_connectors=True, issuer=issuer_url),
            "FERRY_SETTINGS_FILE": os.devnull,
            "FERRY_LOG_LEVEL": "WARNING",
        }
        stack.enter_context(runner_process(env, port, data / "runner.log", workers=args.workers))
        api = Api(f"http://127.0.0.1:{port}", issuer.mint("demo@ferry.example", "Demo User", audience=AUDIENCE))
        org = api.call("POST", "/api/orgs", json={"name": "Demo Org", "country": "DE"})["id"]
        console.print(f"Signed in as demo@ferry.example; organisation [cyan]{org}[/] (region eu)")
        s = api.call(
            "POST",
            f"/api/orgs/{org}/connectors",
            json={"name": f"{args.source} (source)", "connection": src.connection},
        )
        d = api.call(
            "POST",
            f"/api/orgs/{org}/connectors",
            json={"name": f"{args.destination} (destination)", "connection": dst.connection},
        )
        for c in (s, d):
            test = api.call("POST", f"/api/orgs/{org}/connectors/{c['id']}/test")
            console.print(
                f"Connector {c['name']}: {test['status']} as {(test.get('account') or {}).get('displayName')}"
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
                "name": f"{args.source} → {args.destination}",
                "sourceConnectorId": s["id"],
                "destinationConnectorId": d["id"],
                "scopes": [{"id": x["id"], "name": x["name"]} for x in scopes],
                "destinationWorkspace": targets[0]["id"] if targets else None,
            },
        )
        base = f"/api/orgs/{org}/migrations/{mig['id']}"
        console.print(f"Migration of {len(scopes)} containers: " + ", ".join(x["name"][:30] for x in scopes))
        dry = _watch(
            api, base, org, api.call("POST", f"{base}/runs", json={"mode": "dry_run"})["id"], "Plan (dry run)", None
        )
        plan = dry["counts"]
        started = time.monotonic()
        full = _watch(api, base, org, api.call("POST", f"{base}/runs", json={"mode": "full"})["id"], "Full run", plan)
        full_s = time.monotonic() - started
        created = [r for r in _report(api, base, full["id"]) if r["kind"] == "task" and r["action"] == "created"]
        edited = src.edit([r["sourceId"] for r in created[:5] if "/" not in r["sourceId"]][:5])
        console.print(f"Edited {edited} {args.source} items at the source; running a delta…")
        delta = _watch(
            api, base, org, api.call("POST", f"{base}/runs", json={"mode": "delta"})["id"], "Delta run", plan
        )
        _summary(console, api, base, full, delta, full_s, port)
        console.print("Verifying: reading both sides and comparing every migrated item (no writes)…")
        verify = _watch(
            api, base, org, api.call("POST", f"{base}/runs", json={"mode": "verify"})["id"], "Verify run", None
        )
        _verify_summary(console, api, base, verify)
        if args.keep:
            console.print(f"Console: http://127.0.0.1:{port}/console/orgs/{org} (sign in as demo@ferry.example)")
            console.print(f"API docs: http://127.0.0.1:{port}/api/docs — Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0 if delta["status"] in ("succeeded", "partially_succeeded") and verify["status"] == "succeeded" else 1


def _verify_summary(console: Any, api: Api, base: str, verify: dict[str, Any]) -> None:
    verdicts: dict[str, int] = {}
    for counts in verify["counts"].values():
        for verdict, n in counts.items():
            verdicts[verdict] = verdicts.get(verdict, 0) + n
    console.print(f"Verify: {verify['status']} — " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    for row in [r for r in _report(api, base, verify["id"]) if r["action"] not in ("ok", "skipped")][:10]:
        console.print(f"  {row['action']}: {row['kind']} {row['sourceId']} {row.get('reason') or ''}")


def _report(api: Api, base: str, run_id: str) -> list[dict[str, Any]]:
    return api.call("GET", f"{base}/runs/{run_id}/report")["items"]


def _summary(
    console: Any, api: Api, base: str, full: dict[str, Any], delta: dict[str, Any], seconds: float, port: int
) -> None:
    from rich.table import Table

    table = Table(title="Report summary")
    table.add_column("kind")
    for col in ("full run", "delta run"):
        table.add_column(col)
    for kind in KINDS:
        cells = []
        for run in (full, delta):
            counts = run["counts"].get(kind, {})
            cells.append(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "—")
        table.add_row(kind, *cells)
    console.print(table)
    rows = _report(api, base, delta["id"])
    created = sum(1 for r in rows if r["action"] == "created")
    updated = sum(1 for r in rows if r["action"] in ("updated", "reconciled"))
    console.print(
        f"Full run: {full['status']} in {seconds:.1f} s. Delta: {delta['status']} — "
        f"{created} created (duplicates: 0 expected), {updated} updated, the rest unchanged."
    )
    console.print(
        f"Per-item report: GET {base}/runs/{{runId}}/report?format=csv ; API docs at /api/docs "
        f"(run `./dev up` to keep the API running)"
    )
