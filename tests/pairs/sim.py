"""One running vendor simulator of the pair suite, and what each vendor's world module gives.

A vendor's world module (``tests/pairs/vendors/<kind>.py``) says how to start its simulator,
which source container each pair reads, who its people are, who its destination directory
knows, and how to edit a source task through the vendor's API (the delta test's edits). The
pair suite itself never names a vendor.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shared.connectors.registry import ConnectorRuntime, open_runtime, rate_limit_of
from shared.connectors.settings import ConnectionBase
from shared.contract.connector import SourceReader
from shared.contract.limits import RateLimit
from shared.contract.model import Task
from shared.contract.pacer import Pacer

#: Fast enough that pacing never shows; 8 in flight like the real limits.
FAST = RateLimit(requests=100_000, per_seconds=1, burst=10_000, concurrency=8)

#: the delta test's three edits at the source: (reader of the source, rename, complete, describe)
Editor = Callable[["Sim", SourceReader, Task, Task, Task], Awaitable[None]]


@dataclass(frozen=True)
class VendorWorld:
    """How the pair suite runs one vendor (see the module docstring)."""

    #: the seeded simulator app
    start: Callable[[], Any]
    #: (base URL, app) → the Sim, with its sources per destination vendor
    build: Callable[[str, Any], Sim]
    #: (name, e-mail) of the people its seed made, as other vendors would know them
    people: Callable[[Sim], list[tuple[str, str]]]
    #: make a person known in a destination container (None: the vendor cannot, e.g. Trello)
    enrol: Callable[[Sim, str, str, str], None] | None
    #: e-mails the destination can assign in a destination container (lower case)
    assignable: Callable[[Sim, str], set[str]]
    #: rename one task, complete another, re-describe a third, through the vendor's API
    edit: Editor


@dataclass
class Sim:
    """One running simulator: its app, base URL and the connection document to reach it."""

    vendor: str
    app: Any
    base: str
    connection: ConnectionBase
    world: VendorWorld | None = None
    #: per destination vendor: the source scope (project-level container) its pair reads
    sources: dict[str, str] = field(default_factory=dict)
    #: destination container (workspace / organisation / group / site) per source vendor
    dest_workspaces: dict[str, str] = field(default_factory=dict)

    async def runtime(self) -> ConnectorRuntime:
        """A fresh runtime (fresh reader caches) through the connector registry."""
        # fast, but with what the vendor's limit says about batches (their calls' cost)
        pacer = Pacer(FAST.model_copy(update={"batch": rate_limit_of(self.vendor).batch}), rng=random.Random(7))
        return await open_runtime(self.connection, allow_loopback=True, pacer=pacer)

    def people_emails(self, dest_container: str) -> set[str]:
        """E-mails the destination can assign in ``dest_container`` (lower case)."""
        assert self.world is not None
        return self.world.assignable(self, dest_container)
