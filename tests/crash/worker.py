"""Entry of one crash-test worker process: `python -m tests.crash.worker <lease seconds>`.

Installs the crash hooks (tests/crash/inject.py), then serves the queue triggers of
tests/crash/app.py with the local runner's `QueuePoller` (tools/devhost), exactly as
`./dev up --workers N` runs a worker process.
"""
from __future__ import annotations

import sys

from tests.crash import inject
from tools.devhost.runner import worker_main


def main() -> None:
    lease_s = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    inject.install()
    worker_main("tests.crash.app:app", lease_s)


if __name__ == "__main__":
    main()
