"""``python -m simulators.asana --port P [--plan free|paid] [--seed N] [--tasks N]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.asana.app import create_app
from simulators.asana.seed import DEFAULT_TOKEN, SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.asana")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8030)
    parser.add_argument("--plan", choices=("free", "paid"), default="paid")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--projects", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=100, help="tasks per project")
    args = parser.parse_args(argv)
    app = create_app(SeedConfig(seed=args.seed, projects=args.projects, tasks_per_project=args.tasks), plan=args.plan)
    print(f"Asana simulator on http://{args.host}:{args.port}/api/1.0 (token: {DEFAULT_TOKEN})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
