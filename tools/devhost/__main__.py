"""`python -m tools.devhost --app function_app:app`: serve a function app with the settings
already in the environment (or in local.settings.json, loaded like the host does)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from shared.config import load_local_settings
from tools.devhost.logsetup import configure_logging
from tools.devhost.runner import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.devhost")
    parser.add_argument("--app", default="function_app:app")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--lease-seconds", type=float, default=None)
    args = parser.parse_args()
    configure_logging()
    load_local_settings(Path(os.environ.get("FERRY_SETTINGS_FILE", "local.settings.json")))
    asyncio.run(serve(args.app, port=args.port, workers=args.workers, lease_s=args.lease_seconds))


if __name__ == "__main__":
    main()
