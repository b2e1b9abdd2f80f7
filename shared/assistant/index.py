"""The assistant's search index: a protocol, and the local implementation.

`SearchIndex` is what the indexer and the answering service use. In Azure it is
`AzureSearchIndex` (azure_backends.py); locally and in tests `LocalSearchIndex`, a SQLite
file per region holding the records and their vectors, searched the way Azure's hybrid
query is: a keyword ranking (BM25) and a vector ranking (cosine), fused by reciprocal
rank (RRF, k = 60). The tenant filter is the SQL WHERE clause of the one query that reads
candidates, so another org's rows never leave SQLite.

SQLite because the local runner serves HTTP and queue triggers in different processes:
the queue worker writes, the HTTP process reads, both see the same file.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.assistant.query import TenantFilter
from shared.assistant.records import SearchRecord

RRF_K = 60
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Hit:
    record: SearchRecord
    score: float


class SearchIndex(Protocol):
    """One region's assistant index."""

    async def upsert(self, records: Sequence[SearchRecord]) -> int:
        """Merge-or-upload by record id; returns how many were written."""
        ...

    async def search(self, text: str, vector: Sequence[float], trim: TenantFilter, *, top: int) -> list[Hit]:
        """Hybrid search (keyword + vector) restricted by `trim` inside the query."""
        ...

    async def delete_tenant(self, tenant_id: str) -> int:
        """Delete every record of `tenant_id`; idempotent; returns how many went."""
        ...

    async def count(self, tenant_id: str) -> int: ...

    async def ids(self, tenant_id: str) -> set[str]: ...

    async def delete_ids(self, ids: Sequence[str]) -> int: ...


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rrf(*rankings: Sequence[str]) -> dict[str, float]:
    """Reciprocal rank fusion of id rankings (best first)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return scores


def bm25(query: Sequence[str], docs: dict[str, list[str]], *, k1: float = 1.2, b: float = 0.75) -> dict[str, float]:
    """BM25 scores of `docs` (id → tokens) for `query`; only documents that match."""
    if not docs:
        return {}
    n = len(docs)
    avg = sum(len(t) for t in docs.values()) / n or 1.0
    df: Counter[str] = Counter()
    for toks in docs.values():
        df.update(set(toks))
    scores: dict[str, float] = {}
    wanted = set(query)
    for key, toks in docs.items():
        tf = Counter(t for t in toks if t in wanted)
        if not tf:
            continue
        score = 0.0
        for term, f in tf.items():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(toks) / avg))
        scores[key] = score
    return scores


class LocalSearchIndex:
    """The local stand-in of the Azure index (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
                "requires TEXT NOT NULL, doc TEXT NOT NULL, vector BLOB NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS records_tenant ON records (tenant_id, requires)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    async def upsert(self, records: Sequence[SearchRecord]) -> int:
        return await asyncio.to_thread(self._upsert, list(records))

    def _upsert(self, records: list[SearchRecord]) -> int:
        import numpy as np

        rows = []
        for r in records:
            doc = r.to_doc()
            vector = np.asarray(doc.pop("vector"), dtype=np.float32).tobytes()
            rows.append((r.id, r.tenantId, r.requires, json.dumps(doc, ensure_ascii=False), vector))
        with self._lock, self._connect() as db:
            db.executemany(
                "INSERT INTO records (id, tenant_id, requires, doc, vector) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET tenant_id = excluded.tenant_id, "
                "requires = excluded.requires, doc = excluded.doc, vector = excluded.vector",
                rows,
            )
        return len(rows)

    async def search(self, text: str, vector: Sequence[float], trim: TenantFilter, *, top: int) -> list[Hit]:
        return await asyncio.to_thread(self._search, text, list(vector), trim, top)

    def _search(self, text: str, vector: list[float], trim: TenantFilter, top: int) -> list[Hit]:
        import numpy as np

        where, params = trim.sql()
        with self._connect() as db:
            rows = db.execute(f"SELECT id, doc, vector FROM records WHERE {where}", params).fetchall()
        if not rows:
            return []
        docs = {row[0]: json.loads(row[1]) for row in rows}
        keyword = bm25(tokens(text), {k: tokens(d["content"]) for k, d in docs.items()})
        by_keyword = sorted(keyword, key=lambda k: -keyword[k])[: top * 5]
        by_vector: list[str] = []
        if vector:
            matrix = np.frombuffer(b"".join(row[2] for row in rows), dtype=np.float32).reshape(len(rows), -1)
            similarity = matrix @ np.asarray(vector, dtype=np.float32)
            order = np.argsort(-similarity)[: top * 5]
            by_vector = [rows[i][0] for i in order]
        fused = rrf(by_keyword, by_vector)
        best = sorted(fused, key=lambda k: -fused[k])[:top]
        return [Hit(SearchRecord.from_doc(docs[k]), fused[k]) for k in best]

    async def delete_tenant(self, tenant_id: str) -> int:
        def run() -> int:
            with self._lock, self._connect() as db:
                return db.execute("DELETE FROM records WHERE tenant_id = ?", (tenant_id,)).rowcount

        return await asyncio.to_thread(run)

    async def count(self, tenant_id: str) -> int:
        def run() -> int:
            with self._connect() as db:
                return int(db.execute("SELECT COUNT(*) FROM records WHERE tenant_id = ?", (tenant_id,)).fetchone()[0])

        return await asyncio.to_thread(run)

    async def ids(self, tenant_id: str) -> set[str]:
        def run() -> set[str]:
            with self._connect() as db:
                return {r[0] for r in db.execute("SELECT id FROM records WHERE tenant_id = ?", (tenant_id,))}

        return await asyncio.to_thread(run)

    async def delete_ids(self, ids: Sequence[str]) -> int:
        def run() -> int:
            with self._lock, self._connect() as db:
                return sum(db.execute("DELETE FROM records WHERE id = ?", (i,)).rowcount for i in ids)

        return await asyncio.to_thread(run)
