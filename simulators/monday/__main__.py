"""``python -m simulators.monday --port P [--plan free|paid] [--seed N] [--boards N] [--items N]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.monday.app import create_app
from simulators.monday.seed import DEFAULT_TOKEN, SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.monday")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--plan", choices=("free", "paid"), default="paid")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--boards", type=int, default=2)
    parser.add_argument("--items", type=int, default=20, help="items per board")
    args = parser.parse_args(argv)
    app = create_app(SeedConfig(seed=args.seed, boards=args.boards, items_per_board=args.items), plan=args.plan)
    print(f"monday.com simulator on http://{args.host}:{args.port}/v2 (token: {DEFAULT_TOKEN})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
