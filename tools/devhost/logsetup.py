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
    from shared.logs.redaction import install_redaction

    install_redaction()
