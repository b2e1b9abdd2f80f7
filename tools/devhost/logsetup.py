"""Console logging for the local runner, with secret redaction on every handler."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("FERRY_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)-7s %(name)s [%(process)d] %(message)s",
    )
    for noisy in ("azure", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The runner's own lines alone, e.g. DEBUG: which worker process took which message.
    runner_level = os.environ.get("FERRY_RUNNER_LOG_LEVEL")
    if runner_level:
        logging.getLogger("ferry.runner").setLevel(runner_level.upper())
    from shared.logs.redaction import install_redaction

    install_redaction()
