"""``python -m simulators.trello --port 8081 [--seed 42 --boards 3 --cards 100]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.trello.app import create_app
from simulators.trello.seed import SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.trello")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workspaces", type=int, default=1)
    parser.add_argument("--boards", type=int, default=3)
    parser.add_argument("--cards", type=int, default=100)
    args = parser.parse_args(argv)
    config = SeedConfig(seed=args.seed, workspaces=args.workspaces, boards=args.boards,
                        cards_per_board=args.cards)
    app = create_app(config)
    summary = app.state.trello.summary
    print(f"Trello simulator on http://{args.host}:{args.port}/1  "
          f"key={summary['key']} token={summary['token']}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
