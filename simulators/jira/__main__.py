"""``python -m simulators.jira --port P [--seed N] [--projects N] [--issues N]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.jira.app import create_app
from simulators.jira.seed import DEFAULT_EMAIL, DEFAULT_TOKEN, SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.jira")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8040)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--issues", type=int, default=12, help="issues per project")
    args = parser.parse_args(argv)
    app = create_app(SeedConfig(seed=args.seed, projects=args.projects, issues_per_project=args.issues))
    print(
        f"Jira simulator on http://{args.host}:{args.port} (basic auth: {DEFAULT_EMAIL} / {DEFAULT_TOKEN})", flush=True
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
