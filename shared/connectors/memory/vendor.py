"""An in-memory "vendor": the workspace state the reference connector reads and writes.

It plays the server side: every operation may be slowed (latency), throttled (a fixed
window limit answering like a 429 with Retry-After) or broken (scripted faults), and the
credential may be revoked. Attachment bodies are stored as bytes or as a (size, seed)
recipe generated on demand, so multi-GiB files cost no memory.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from shared.contract.clock import Clock, SystemClock
from shared.contract.model import Container, ContainerKind, Kind, Record, UserRef
from shared.errors import AuthRequiredError, NotFoundError, ThrottledError

WRITE_OPS = frozenset({"create", "update", "delete", "upload"})


@dataclass(frozen=True)
class SyntheticBlob:
    """``size`` deterministic bytes derived from ``seed`` (generated chunk by chunk)."""

    size: int
    seed: int = 0

    def iter_chunks(self, chunk: int) -> Iterator[bytes]:
        block = hashlib.sha256(str(self.seed).encode()).digest() * 2048  # 64 KiB pattern
        sent = 0
        while sent < self.size:
            n = min(chunk, self.size - sent)
            reps, rest = divmod(n, len(block))
            yield block * reps + block[:rest]
            sent += n


@dataclass
class Fault:
    op: str  # "read", "create", … or "*"
    error: Exception
    times: int = 1
    after: bool = False  # apply the operation, then raise (a crash after the write)
    when: Callable[[str, object], bool] | None = None  # (op, subject) → applies?


@dataclass
class VendorLimits:
    latency_s: float = 0.0  # added to every operation (through the clock)
    latency_jitter_s: float = 0.0  # extra uniform [0, jitter] when an rng is given
    requests_per_window: int | None = None  # fixed-window limit → ThrottledError
    window_s: float = 60.0
    send_retry_after: bool = True


@dataclass
class StoredAttachment:
    digest: str
    size: int
    max_chunk: int
    blob: bytes | SyntheticBlob | None = None


@dataclass
class MemoryVendor:
    """The state of one vendor account (source or destination)."""

    name: str = "memory"
    clock: Clock = field(default_factory=SystemClock)
    limits: VendorLimits = field(default_factory=VendorLimits)
    me: UserRef = field(
        default_factory=lambda: UserRef(email="owner@example.com", display_name="Owner", source_id="u0")
    )
    rng_jitter: Callable[[], float] | None = None
    #: child kinds whose every put, edit and removal gives the parent task a new version
    #: (as Asana's ``modified_at`` moves for attachments); the reader may skip those
    #: children under a task whose version has not moved (``MemoryReader.read_changed``)
    bumps_parent: frozenset[Kind] = frozenset()

    def __post_init__(self) -> None:
        self.workspaces: dict[str, Container] = {}
        self.items: dict[Kind, dict[str, Record]] = {k: {} for k in Kind}
        self.markers: dict[tuple[Kind, str], str] = {}
        self.blobs: dict[str, bytes | SyntheticBlob] = {}
        self.uploads: dict[str, StoredAttachment] = {}
        self.calls: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self.revoked = False
        self._ids = itertools.count(1)
        self._versions = itertools.count(1)
        self._window_start = self.clock.monotonic()
        self._window_count = 0
        self.throttled = 0
        self.mutations = 0  # bumped on every change (readers cache scoped listings on it)

    # -- state helpers (no faults, no latency: for seeding and assertions) -----------

    def new_id(self, prefix: str = "m") -> str:
        return f"{prefix}{next(self._ids)}"

    def new_version(self) -> str:
        return f"v{next(self._versions)}"

    def add_workspace(self, wid: str, name: str) -> Container:
        ws = Container(id=wid, name=name, kind=ContainerKind.WORKSPACE)
        self.workspaces[wid] = ws
        return ws

    def put(self, record: Record, blob: bytes | SyntheticBlob | None = None) -> Record:
        """Insert or replace a record as is (seeding)."""
        self.items[record.kind][record.source_id] = record
        self.mutations += 1
        if blob is not None:
            self.blobs[record.source_id] = blob
        self._touch_parent(record)
        return record

    def edit(self, kind: Kind, item_id: str, **changes: object) -> Record:
        """Change an item as a user would: new content, new version."""
        old = self.get(kind, item_id)
        new = old.model_copy(update={**changes, "version": self.new_version()})
        self.items[kind][item_id] = new
        self.mutations += 1
        self._touch_parent(new)
        return new

    def remove(self, kind: Kind, item_id: str) -> bool:
        """Delete an item (and its markers); True when it existed."""
        gone = self.items[kind].pop(item_id, None)
        existed = gone is not None
        self.mutations += 1
        if gone is not None:
            self._touch_parent(gone)
        for key in [k for k, v in self.markers.items() if v == item_id and k[0] == kind]:
            del self.markers[key]
        self.blobs.pop(item_id, None)
        self.uploads.pop(item_id, None)
        return existed

    def _touch_parent(self, record: Record) -> None:
        task_id = getattr(record, "task_id", None)
        task = self.items[Kind.TASK].get(task_id) if task_id and record.kind in self.bumps_parent else None
        if task is not None:
            self.items[Kind.TASK][task.source_id] = task.model_copy(update={"version": self.new_version()})

    def get(self, kind: Kind, item_id: str) -> Record:
        try:
            return self.items[kind][item_id]
        except KeyError as exc:
            raise NotFoundError(f"{kind} {item_id} not found") from exc

    def count(self, kind: Kind) -> int:
        return len(self.items[kind])

    @property
    def writes(self) -> int:
        """Number of write operations served (create, update, delete, upload)."""
        return sum(n for op, n in self.calls.items() if op in WRITE_OPS)

    # -- fault injection ---------------------------------------------------------------

    def fail_next(
        self,
        op: str,
        error: Exception,
        *,
        times: int = 1,
        after: bool = False,
        when: Callable[[str, object], bool] | None = None,
    ) -> None:
        """Make the next ``times`` matching ``op`` calls raise ``error`` (``after``: post-write)."""
        self.faults.append(Fault(op, error, times, after, when))

    def revoke(self) -> None:
        """Credentials refused from now on (every call raises AuthRequiredError)."""
        self.revoked = True

    def _take_fault(self, op: str, subject: object, after: bool) -> Exception | None:
        if not self.faults:
            return None
        for fault in self.faults:
            if fault.after != after or fault.op not in (op, "*"):
                continue
            if fault.when is not None and not fault.when(op, subject):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            return fault.error
        return None

    # -- the "server" side of every call ------------------------------------------------

    async def enter(self, op: str, subject: object = None) -> None:
        """Run before each operation: latency, credential, rate limit, scripted faults."""
        lim = self.limits
        delay = lim.latency_s + (
            self.rng_jitter() * lim.latency_jitter_s if self.rng_jitter and lim.latency_jitter_s else 0.0
        )
        if delay > 0:
            await self.clock.sleep(delay)
        if self.revoked:
            raise AuthRequiredError(f"{self.name}: token revoked")
        if lim.requests_per_window is not None:
            now = self.clock.monotonic()
            if now - self._window_start >= lim.window_s:
                elapsed_windows = int((now - self._window_start) // lim.window_s)
                self._window_start += elapsed_windows * lim.window_s
                self._window_count = 0
            if self._window_count >= lim.requests_per_window:
                self.throttled += 1
                self.calls["429"] += 1
                wait = self._window_start + lim.window_s - now
                raise ThrottledError(
                    f"{self.name}: rate limit exceeded", retry_after=wait if lim.send_retry_after else None
                )
            self._window_count += 1
        error = self._take_fault(op, subject, after=False)
        if error is not None:
            raise error
        self.calls[op] += 1

    def leave(self, op: str, subject: object = None) -> None:
        """Run after an operation was applied: a post-write fault simulates a crash."""
        error = self._take_fault(op, subject, after=True)
        if error is not None:
            raise error
