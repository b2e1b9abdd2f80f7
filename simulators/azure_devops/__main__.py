"""``python -m simulators.azure_devops --port 8084 [--seed 7 --projects 2 --items 10]``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.azure_devops.app import create_app
from simulators.azure_devops.seed import SeedConfig


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m simulators.azure_devops")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8084)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--items", type=int, default=10)
    args = parser.parse_args(argv)
    config = SeedConfig(seed=args.seed, projects=args.projects, items_per_project=args.items)
    app = create_app(config)
    origin = f"http://{args.host}:{args.port}"
    print(
        f"Azure DevOps simulator: organization_url {origin}/{config.organization}  "
        f"PAT {config.pat}  Entra {origin}/{config.tenant_id}/oauth2/v2.0/token "
        f"client_id={config.client_id} client_secret={config.client_secret}",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
