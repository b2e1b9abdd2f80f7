"""Vectors of Ferry's documentation passages, computed once per machine and reused.

The local model (all-MiniLM-L6-v2 in numpy) spends 15–25 s of CPU on the ~130 passages of
the shared documentation part, and every test session and every local runner (`ferry up`,
the demo, the e2e and console runners) used to spend them again. A passage's vector
depends on the model and the passage's text only, so they are kept on disk, keyed by the
model's identity (minilm.model_identity: weights, tokenizer, computation) and the SHA-256
of the text, and shared by every process of the checkout.

* **Where**: `<checkout>/.ferry/assistant/embeddings.sqlite3`, the checkout's own data dir.
  Not `FERRY_LOCAL_DATA_DIR`: the demo and the test runners point that at a folder they
  wipe or create per run, which would defeat the reuse.
* **What**: documentation only, which is tenant-free. An organisation's records are never
  cached here: they are its data and must go when it goes (retention, deletion), so they
  live in its index only.
* **Two processes at once**: every write is one SQLite transaction (atomic: both writers'
  vectors end up there, never a torn file), and a lock file (`flock`) makes a process
  that needs vectors another one is computing wait for them instead of computing them too.
* **Faults**: a cache that cannot be read or written (a read-only checkout, a damaged
  file, a lock that never comes) costs the reuse, never the embeddings: they are computed,
  and a damaged file is replaced by an empty cache.

In Azure none of this runs: the indexer embeds only passages the search index lacks
(indexer.sync_docs), with the Azure OpenAI deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.assistant.backends import Embedder

log = logging.getLogger("ferry.assistant")

CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = CHECKOUT / ".ferry" / "assistant" / "embeddings.sqlite3"
#: Vectors not used for this long are dropped when new ones are written (old passages).
KEEP_DAYS = 30
#: How long a process waits for another one computing vectors before it computes its own.
LOCK_WAIT_S = 900.0
_LOCK_POLL_S = 0.25
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, digest TEXT NOT NULL, "
    "vector BLOB NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (model, digest))"
)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _today() -> int:
    return int(time.time() // 86400)


class EmbeddingCache:
    """Vectors of one model on disk, by text digest (see the module docstring)."""

    def __init__(self, path: Path, model: str, dimensions: int) -> None:
        self.path = path
        self.model = model
        self.dimensions = dimensions

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, unreadable, read-only: not damage, and not ours to replace
            log.warning("assistant embedding cache %s is damaged (%s): replaced by an empty one", self.path, exc)
            self._replace_damaged()
            return self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute(_SCHEMA)  # a file that is not a database fails here
        except BaseException:
            db.close()
            raise
        return db

    def _replace_damaged(self) -> None:
        """An empty database moved over the damaged file in one rename: a process that still
        has the old file open keeps reading it; no process ever sees half of either."""
        fd, name = tempfile.mkstemp(prefix=".embeddings-", suffix=".sqlite3", dir=self.path.parent)
        os.close(fd)
        try:
            with contextlib.closing(sqlite3.connect(name, isolation_level=None)) as fresh:
                fresh.execute(_SCHEMA)
            os.replace(name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise

    def get(self, digests: Sequence[str]) -> dict[str, list[float]]:
        """The cached vectors of `digests` (those present and whole)."""
        import numpy as np

        wanted = list(dict.fromkeys(digests))
        if not wanted:
            return {}
        found: dict[str, list[float]] = {}
        stale: list[str] = []
        with contextlib.closing(self._connect()) as db:
            for start in range(0, len(wanted), 500):  # under SQLite's bound-parameter limit
                part = wanted[start : start + 500]
                marks = ",".join("?" for _ in part)
                rows = db.execute(
                    f"SELECT digest, vector, used FROM vectors WHERE model = ? AND digest IN ({marks})",
                    [self.model, *part],
                ).fetchall()
                for digest, blob, used in rows:
                    if len(blob) == self.dimensions * 4:  # a short blob is treated as missing
                        found[digest] = np.frombuffer(blob, dtype=np.float32).tolist()
                        if used < _today():
                            stale.append(digest)
            if stale:  # mark them used, at most once a day per vector; a read-only cache stays as it is
                with contextlib.suppress(sqlite3.Error):
                    db.executemany(
                        "UPDATE vectors SET used = ? WHERE model = ? AND digest = ?",
                        [(_today(), self.model, d) for d in stale],
                    )
        return found

    def put(self, vectors: Mapping[str, Sequence[float]]) -> None:
        """Store vectors by digest in one transaction; drop vectors unused for KEEP_DAYS."""
        import numpy as np

        rows = []
        for digest, vector in vectors.items():
            blob = np.asarray(vector, dtype=np.float32).tobytes()
            if len(blob) != self.dimensions * 4:
                raise ValueError(f"a vector of {len(vector)} floats in a cache of {self.dimensions}")
            rows.append((self.model, digest, blob, _today()))
        if not rows:
            return
        with contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO vectors (model, digest, vector, used) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (model, digest) DO UPDATE SET vector = excluded.vector, used = excluded.used",
                    rows,
                )
                db.execute("DELETE FROM vectors WHERE used < ?", (_today() - KEEP_DAYS,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def computing(self, wait_s: float = LOCK_WAIT_S) -> Iterator[bool]:
        """Hold the cache's lock file while computing vectors to store (True if held).

        A process that finds it held waits (polling: no wait is ever unbounded), then
        reads what the holder stored; without `fcntl` (Windows) there is no lock."""
        try:
            import fcntl
        except ImportError:
            yield False
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("assistant embedding cache lock %s unavailable: %s", lock_path, exc)
            yield False
            return
        held = False
        try:
            deadline = time.monotonic() + wait_s
            waiting = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                    break
                except BlockingIOError:
                    if not waiting:
                        log.info("assistant: waiting for another process computing documentation vectors")
                        waiting = True
                    if time.monotonic() > deadline:
                        log.warning("assistant: gave up waiting for %s; computing the vectors here", lock_path)
                        break
                    time.sleep(_LOCK_POLL_S)
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class DiskCachedEmbedder:
    """An embedder whose vectors are kept in an `EmbeddingCache` (documentation only: see the
    module docstring). Without `cache`, the cache of the local MiniLM model at `path`, built
    on first use: naming the model's identity reads the model package's metadata, which a
    process that never embeds should not do."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None = None, *, path: Path = DEFAULT_PATH) -> None:
        self.inner = inner
        self.dimensions = inner.dimensions
        self._cache = cache
        self._path = path

    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            from shared.assistant.minilm import model_identity

            self._cache = EmbeddingCache(self._path, model_identity(), self.dimensions)
        return self._cache

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        digests = [text_digest(t) for t in texts]
        by_digest = dict(zip(digests, texts, strict=True))
        cache = await asyncio.to_thread(self.cache)
        found = await asyncio.to_thread(self._read, cache, digests)
        if len(found) < len(by_digest):
            lock = contextlib.ExitStack()
            await asyncio.to_thread(lock.enter_context, cache.computing())
            try:
                # Another process may have stored them while this one waited for the lock.
                found.update(await asyncio.to_thread(self._read, cache, [d for d in by_digest if d not in found]))
                missing = [d for d in by_digest if d not in found]
                if missing:
                    vectors = await self.inner.embed([by_digest[d] for d in missing])
                    computed = dict(zip(missing, vectors, strict=True))
                    found.update(computed)
                    await asyncio.to_thread(self._write, cache, computed)
            finally:
                await asyncio.to_thread(lock.close)
        return [found[d] for d in digests]

    @staticmethod
    def _read(cache: EmbeddingCache, digests: Sequence[str]) -> dict[str, list[float]]:
        try:
            return cache.get(digests)
        except (sqlite3.Error, OSError) as exc:
            log.warning("assistant embedding cache unreadable (%s): computing the vectors", exc)
            return {}

    @staticmethod
    def _write(cache: EmbeddingCache, vectors: Mapping[str, Sequence[float]]) -> None:
        try:
            cache.put(vectors)
        except (sqlite3.Error, OSError) as exc:
            log.warning("assistant embedding cache not written (%s): the vectors are used, not kept", exc)
