"""Repositories bound to one tenant when built: no handler can forget the scope.

Every document carries `tenantId` and `pk`; every query names both in its WHERE clause
(the Cosmos stand-in ignores the partition-key argument of a query, and the explicit
filter is right in Azure too). Lists page with continuation tokens, never OFFSET/LIMIT; a
client's token is MAC'd and bound to its query (continuation.py).
State changes use ETags (optimistic concurrency) or conditional patches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from shared.errors import ConflictError, NotFoundError
from shared.store.continuation import query_scope
from shared.store.cosmos import CONTAINERS, CosmosRegion

T = TypeVar("T")
MAX_PAGE = 200
#: Operations per transactional batch (Cosmos DB's limit: 100 operations, 2 MB, one partition)
BATCH_MAX = 100


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class QueryPage(Generic[T]):
    items: list[T]
    continuation: str | None


def _http_status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


class TenantRepository:
    """Base of every tenant-owned repository.

    Subclasses name their container; synthetic-partition containers also take a
    `partition` (the migration id) so pk becomes `tenantId:partition`.
    """

    container_name: ClassVar[str]

    def __init__(self, region: CosmosRegion, tenant_id: str, partition: str | None = None) -> None:
        if not tenant_id:
            raise ValueError("a repository needs a tenant id")
        synthetic = CONTAINERS[self.container_name]
        if synthetic and not partition:
            raise ValueError(f"{self.container_name} is partitioned per migration; pass partition=")
        self.region = region
        self.tenant_id = tenant_id
        self.pk = f"{tenant_id}:{partition}" if synthetic else tenant_id
        self._container = region.container(self.container_name)

    # --- single documents -------------------------------------------------------------

    def _stamp(self, doc: dict[str, Any]) -> dict[str, Any]:
        owner = doc.get("tenantId")
        if owner is not None and owner != self.tenant_id:
            # A document claiming another tenant is a programming error, never data to store.
            raise PermissionError("document belongs to another tenant")
        return {**doc, "tenantId": self.tenant_id, "pk": self.pk}

    def _owned(self, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if doc is None or doc.get("tenantId") != self.tenant_id or doc.get("pk") != self.pk:
            return None
        return doc

    async def find(self, item_id: str) -> dict[str, Any] | None:
        try:
            doc = await self._container.read_item(item_id, partition_key=self.pk)
        except Exception as exc:
            if _http_status(exc) == 404:
                return None
            raise
        return self._owned(dict(doc))

    async def get(self, item_id: str) -> dict[str, Any]:
        doc = await self.find(item_id)
        if doc is None:
            name = self.container_name.removesuffix("s")
            raise NotFoundError(f"{name} {item_id} not found")
        return doc

    async def create(self, doc: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(await self._container.create_item(self._stamp(doc)))
        except Exception as exc:
            if _http_status(exc) == 409:
                raise ConflictError(f"{doc.get('id')} already exists") from exc
            raise

    async def upsert(self, doc: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._container.upsert_item(self._stamp(doc)))

    async def upsert_many(self, docs: Iterable[dict[str, Any]]) -> int:
        """Upsert documents of this repository's partition in transactional batches (one
        request per ``BATCH_MAX`` documents instead of one each). A batch either applies
        whole or raises; upserts are idempotent, so a caller retries it whole. Returns how
        many documents were written."""
        stamped = [self._stamp(doc) for doc in docs]
        for i in range(0, len(stamped), BATCH_MAX):
            ops = [("upsert", (doc,)) for doc in stamped[i : i + BATCH_MAX]]
            await self._container.execute_item_batch(ops, partition_key=self.pk)
        return len(stamped)

    async def patch_many(self, patches: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        """Patch documents of this repository's partition in transactional batches (one
        request per ``BATCH_MAX``). A batch applies whole or raises (in Cosmos one missing
        document fails its batch): the caller decides what to try again alone."""
        for i in range(0, len(patches), BATCH_MAX):
            ops = [("patch", (item_id, operations)) for item_id, operations in patches[i : i + BATCH_MAX]]
            await self._container.execute_item_batch(ops, partition_key=self.pk)

    async def replace(self, doc: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        """Replace a document; with an etag the write fails (ConflictError) if it changed."""
        from azure.core import MatchConditions

        kwargs: dict[str, Any] = {}
        if etag:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        body = {k: v for k, v in self._stamp(doc).items() if not k.startswith("_")}
        try:
            return dict(await self._container.replace_item(body["id"], body, **kwargs))
        except Exception as exc:
            status = _http_status(exc)
            if status == 412:
                raise ConflictError("the document changed meanwhile; reload and retry") from exc
            if status == 404:
                raise NotFoundError(f"{body['id']} not found") from exc
            raise

    async def patch(
        self, item_id: str, operations: list[dict[str, Any]], *, condition: str | None = None
    ) -> dict[str, Any]:
        """Atomic partial update (`incr` for counters). A false condition → ConflictError."""
        try:
            return dict(
                await self._container.patch_item(
                    item_id, partition_key=self.pk, patch_operations=operations, filter_predicate=condition
                )
            )
        except Exception as exc:
            status = _http_status(exc)
            if status == 412:
                raise ConflictError("precondition failed") from exc
            if status == 404:
                raise NotFoundError(f"{item_id} not found") from exc
            raise

    async def delete(self, item_id: str) -> bool:
        """Idempotent: deleting what is gone is not an error. True when something was deleted."""
        try:
            await self._container.delete_item(item_id, partition_key=self.pk)
            return True
        except Exception as exc:
            if _http_status(exc) == 404:
                return False
            raise

    # --- queries ----------------------------------------------------------------------

    def _scoped(self, where: str | None, params: dict[str, Any] | None) -> tuple[str, list[dict[str, Any]]]:
        clause = "c.tenantId = @__tenant AND c.pk = @__pk"
        if where:
            clause += f" AND ({where})"
        parameters = [{"name": "@__tenant", "value": self.tenant_id}, {"name": "@__pk", "value": self.pk}]
        parameters += [{"name": k if k.startswith("@") else f"@{k}", "value": v} for k, v in (params or {}).items()]
        return clause, parameters

    async def query_page(
        self,
        where: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        order_by: str | None = None,
        page_size: int = 50,
        continuation: str | None = None,
        select: str = "*",
    ) -> QueryPage[dict[str, Any]]:
        """One page of a scoped query; `continuation` is the opaque token of the previous page."""
        page_size = max(1, min(page_size, MAX_PAGE))
        clause, parameters = self._scoped(where, params)
        sql = f"SELECT {select} FROM c WHERE {clause}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        # Only a token Ferry issued for this very query reaches the SDK (continuation.py).
        codec = await self.region.continuation_codec()
        scope = query_scope(self.container_name, self.pk, sql, parameters)
        token = codec.decode(continuation, scope=scope)
        pager = self._container.query_items(
            sql, parameters=parameters, partition_key=self.pk, max_item_count=page_size
        ).by_page(token)
        items: list[dict[str, Any]] = []
        async for page in pager:
            async for item in page:
                items.append(dict(item))
            break
        following = pager.continuation_token
        if following and following == token:
            following = None  # a page that points at itself would make its client loop
        return QueryPage(items, codec.encode(following, scope=scope))

    async def query_all(
        self, where: str | None = None, params: dict[str, Any] | None = None, *, select: str = "*"
    ) -> list[Any]:
        """Every match; only for bounded sets (members of an org, a run's counters…)."""
        clause, parameters = self._scoped(where, params)
        result = self._container.query_items(
            f"SELECT {select} FROM c WHERE {clause}", parameters=parameters, partition_key=self.pk
        )
        return [dict(item) if isinstance(item, dict) else item async for item in result]

    async def count(self, where: str | None = None, params: dict[str, Any] | None = None) -> int:
        values = await self.query_all(where, params, select="VALUE COUNT(1)")
        return int(values[0]) if values else 0


def ids(docs: Iterable[dict[str, Any]]) -> list[str]:
    return [d["id"] for d in docs]
