"""``python -m simulators.planner --port 8083 [--seed 42 --plans 2 --tasks 20]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.planner.app import create_app
from simulators.planner.seed import SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.planner")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--plans", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args(argv)
    config = SeedConfig(seed=args.seed, groups=args.groups, plans_per_group=args.plans, tasks_per_plan=args.tasks)
    app = create_app(config)
    store = app.state.planner.store
    origin = f"http://{args.host}:{args.port}"
    print(
        f"Planner simulator: graph {origin}/v1.0  login {origin}/{store.tenant_id}/oauth2/v2.0/token"
        f"  client_id={config.client_id} client_secret={config.client_secret}"
        f"  users=*@{config.tenant_domain} password={config.user_password}",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
