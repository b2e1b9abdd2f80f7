"""``python -m simulators.trello --port 8081 [--seed 42 --boards 3 --cards 100]``.

``--port 0`` picks a free port; the line printed on start names the real one.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

from simulators.trello.app import create_app
from simulators.trello.seed import SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulators.trello")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workspaces", type=int, default=1)
    parser.add_argument("--boards", type=int, default=3)
    parser.add_argument("--cards", type=int, default=100)
    parser.add_argument(
        "--enterprise-managed", action="store_true", help="show every member's e-mail (managed Enterprise)"
    )
    args = parser.parse_args(argv)
    config = SeedConfig(
        seed=args.seed,
        workspaces=args.workspaces,
        boards=args.boards,
        cards_per_board=args.cards,
        enterprise_managed=args.enterprise_managed,
    )
    app = create_app(config)
    summary = app.state.trello.summary
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    print(f"Trello simulator on http://{args.host}:{port}/1  key={summary['key']} token={summary['token']}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
