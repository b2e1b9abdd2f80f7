"""The parts of host.json the local runner honours, with the host's documented defaults.

https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


def timespan_seconds(value: str | int | float | None, default: float) -> float:
    """host.json TimeSpans are `hh:mm:ss[.fff]` (or `d.hh:mm:ss`)."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    days = 0
    text = value
    if "." in text.split(":")[0]:
        d, text = text.split(".", 1)
        days = int(d)
    h, m, s = text.split(":")
    return days * 86400 + int(h) * 3600 + int(m) * 60 + float(s)


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int | None = None  # host default: batchSize / 2
    max_dequeue_count: int = 5
    visibility_timeout_s: float = 0.0  # delay before a failed message is visible again
    max_polling_interval_s: float = 60.0
    message_encoding: str = "base64"

    @property
    def threshold(self) -> int:
        return self.new_batch_threshold if self.new_batch_threshold is not None else self.batch_size // 2


@dataclass(frozen=True)
class HostConfig:
    queues: QueueOptions
    function_timeout_s: float
    route_prefix: str = "api"  # extensions.http.routePrefix; "" serves routes from the root


def load_host_config(path: Path) -> HostConfig:
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    q = data.get("extensions", {}).get("queues", {})
    batch = int(q.get("batchSize", 16))
    if not 1 <= batch <= 32:
        raise ValueError("host.json extensions.queues.batchSize must be 1..32")
    options = QueueOptions(
        batch_size=batch,
        new_batch_threshold=int(q["newBatchThreshold"]) if "newBatchThreshold" in q else None,
        max_dequeue_count=int(q.get("maxDequeueCount", 5)),
        visibility_timeout_s=timespan_seconds(q.get("visibilityTimeout"), 0.0),
        max_polling_interval_s=timespan_seconds(q.get("maxPollingInterval"), 60.0),
        message_encoding=str(q.get("messageEncoding", "base64")).lower(),
    )
    prefix = str(data.get("extensions", {}).get("http", {}).get("routePrefix", "api")).strip("/")
    return HostConfig(options, timespan_seconds(data.get("functionTimeout"), 600.0), prefix)
