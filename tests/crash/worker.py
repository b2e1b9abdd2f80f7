"""Entry of one crash-test worker process.

`serve(env, log_path, lease_s)` runs in a process forked from a fork server that has
already imported Ferry, the local runner and the crash hooks, so a restart after a planned
crash costs milliseconds instead of a second of imports. It installs the crash hooks
(tests/crash/inject.py), then serves the queue triggers of tests/crash/app.py with the
local runner's `QueuePoller` (tools/devhost), exactly as `./dev up --workers N` runs a
worker process. `python -m tests.crash.worker <lease seconds>` does the same from a shell.
"""

from __future__ import annotations

import os
import sys

# Imported here so that the fork server holds them before any worker forks.
import azure.functions
import azure.storage.queue.aio  # noqa: F401

import shared.connectors.asana.runtime
import shared.connectors.trello.runtime
import shared.migrations.worker  # noqa: F401
from tests.crash import app as _app  # noqa: F401
from tests.crash import inject
from tools.devhost.runner import worker_main


def serve(env: dict[str, str], log_path: str, lease_s: float) -> None:
    """Body of a forked worker: its own settings, log file, hooks, then the pollers."""
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    inject.install()
    worker_main("tests.crash.app:app", lease_s)


def main() -> None:
    lease_s = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    inject.install()
    worker_main("tests.crash.app:app", lease_s)


if __name__ == "__main__":
    main()
