"""Azure AI Search and Azure OpenAI backends of the assistant (production).

Imported only when a backend is built, so `azure.search.documents` (≈ 0.13 s) and
`openai` (≈ 0.5 s) never slow the function app's cold start.

Identity (infra/bicep/modules/assistant.bicep): answering uses the assistant's own
user-assigned identity, which may only query the index (Search Index Data Reader) and
call the deployments (Cognitive Services OpenAI User); indexing and purging use the stamp
identity (Search Index Data Contributor, Search Service Contributor for the index schema).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.assistant.backends import INDEX_NAME, Backends, OpenAICompatibleChat, Role
from shared.assistant.index import Hit
from shared.assistant.query import TenantFilter
from shared.assistant.records import SearchRecord
from shared.config import RegionSettings, Settings
from shared.errors import ConfigError

OPENAI_API_VERSION = "2024-10-21"
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
EMBEDDING_DIMENSIONS = 1536  # text-embedding-3-small (infra/bicep/modules/openai.bicep)
_SELECT = [
    "id",
    "tenantId",
    "requires",
    "type",
    "content",
    "runId",
    "kind",
    "sourceId",
    "sourceIds",
    "event",
    "code",
    "level",
    "time",
    "section",
]
_PAGE = 1000  # the most documents one search page or one index batch may hold


def index_definition(name: str, dimensions: int) -> Any:
    """The index schema: filterable tenantId/requires, searchable content, a vector field."""
    from azure.search.documents.indexes.models import (
        HnswAlgorithmConfiguration,
        SearchableField,
        SearchField,
        SearchIndex,
        SimpleField,
        VectorSearch,
        VectorSearchProfile,
    )

    text = "Edm.String"
    fields = [
        SimpleField(name="id", type=text, key=True, filterable=True),
        SimpleField(name="tenantId", type=text, filterable=True),
        SimpleField(name="requires", type=text, filterable=True),
        SimpleField(name="type", type=text, filterable=True),
        SearchableField(name="content", type=text, analyzer_name="en.microsoft"),
        SimpleField(name="runId", type=text, filterable=True),
        SimpleField(name="kind", type=text, filterable=True),
        SearchableField(name="sourceId", type=text, filterable=True),
        SearchableField(name="sourceIds", type=text),
        SearchableField(name="event", type=text, filterable=True),
        SearchableField(name="code", type=text, filterable=True),
        SimpleField(name="level", type=text, filterable=True),
        SimpleField(name="time", type=text, sortable=True),
        SearchableField(name="section", type=text),
        SearchField(
            name="vector",
            type="Collection(Edm.Single)",
            searchable=True,
            vector_search_dimensions=dimensions,
            vector_search_profile_name="default",
        ),
    ]
    vector_search = VectorSearch(
        algorithms=[HnswAlgorithmConfiguration(name="hnsw")],
        profiles=[VectorSearchProfile(name="default", algorithm_configuration_name="hnsw")],
    )
    return SearchIndex(name=name, fields=fields, vector_search=vector_search)


class AzureSearchIndex:
    """`SearchIndex` on Azure AI Search (hybrid query: `search_text` + a vector query,
    fused by the service with RRF; the tenant trim is the query's `filter`)."""

    def __init__(
        self,
        endpoint: str,
        credential: Any,
        *,
        index_name: str = INDEX_NAME,
        dimensions: int = EMBEDDING_DIMENSIONS,
        **client_options: Any,
    ) -> None:
        from azure.search.documents.aio import SearchClient

        self.endpoint = endpoint
        self.index_name = index_name
        self.dimensions = dimensions
        self._credential = credential
        self._options = client_options
        self._client = SearchClient(endpoint, index_name, credential, **client_options)
        self._ensured = False

    async def ensure_index(self) -> None:
        """Create or update the index schema (writer identity only)."""
        if self._ensured:
            return
        from azure.search.documents.indexes.aio import SearchIndexClient

        async with SearchIndexClient(self.endpoint, self._credential, **self._options) as admin:
            await admin.create_or_update_index(index_definition(self.index_name, self.dimensions))
        self._ensured = True

    async def upsert(self, records: Sequence[SearchRecord]) -> int:
        await self.ensure_index()
        written = 0
        docs = [r.to_doc() for r in records]
        for start in range(0, len(docs), _PAGE):
            results = await self._client.merge_or_upload_documents(documents=docs[start : start + _PAGE])
            failed = [r.key for r in results if not r.succeeded]
            if failed:
                # A partial batch is retried whole by the queue's redelivery: upserts are idempotent.
                raise RuntimeError(f"{len(failed)} assistant records were not indexed")
            written += len(results)
        return written

    async def search(self, text: str, vector: Sequence[float], trim: TenantFilter, *, top: int) -> list[Hit]:
        from azure.search.documents.models import VectorizedQuery

        vector_queries: list[Any] = [VectorizedQuery(vector=list(vector), k_nearest_neighbors=top * 5, fields="vector")]
        results = await self._client.search(
            search_text=text, vector_queries=vector_queries, filter=trim.odata(), top=top, select=_SELECT
        )
        hits: list[Hit] = []
        async for doc in results:
            hits.append(Hit(SearchRecord.from_doc(doc), float(doc.get("@search.score") or 0.0)))
        return hits

    async def _ids(self, odata: str) -> list[str]:
        results = await self._client.search(search_text="*", filter=odata, select=["id"], top=_PAGE)
        return [doc["id"] async for doc in results]

    async def ids(self, tenant_id: str) -> set[str]:
        return set(await self._ids(_tenant_eq(tenant_id)))

    async def delete_tenant(self, tenant_id: str) -> int:
        """Pages of ids by the tenant filter, deleted until a page comes back empty."""
        from azure.core.exceptions import ResourceNotFoundError

        total = 0
        try:
            while True:
                ids = await self._ids(_tenant_eq(tenant_id))
                if not ids:
                    return total
                total += await self.delete_ids(ids)
        except ResourceNotFoundError:
            return total  # no index yet: nothing of the org was ever indexed

    async def delete_ids(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        results = await self._client.delete_documents(documents=[{"id": i} for i in ids])
        return sum(1 for r in results if r.succeeded)

    async def close(self) -> None:
        await self._client.close()

    async def count(self, tenant_id: str) -> int:
        results = await self._client.search(
            search_text="*", filter=_tenant_eq(tenant_id), include_total_count=True, top=0
        )
        return int(await results.get_count() or 0)


def _tenant_eq(tenant_id: str) -> str:
    TenantFilter(tenant_id, ("public",))  # validates the id grammar before it enters a filter
    return f"tenantId eq '{tenant_id}'"


class AzureOpenAIEmbedder:
    """Embeddings of the region's Azure OpenAI embedding deployment."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self, client: Any, deployment: str) -> None:
        self._client = client
        self._deployment = deployment

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), 256):  # the service takes at most 2048 inputs a call
            reply = await self._client.embeddings.create(model=self._deployment, input=list(texts[start : start + 256]))
            out.extend(list(d.embedding) for d in sorted(reply.data, key=lambda d: d.index))
        return out


def azure_openai_client(endpoint: str, credential: Any, **options: Any) -> Any:
    from azure.identity.aio import get_bearer_token_provider
    from openai import AsyncAzureOpenAI

    return AsyncAzureOpenAI(
        azure_endpoint=endpoint,
        api_version=OPENAI_API_VERSION,
        azure_ad_token_provider=get_bearer_token_provider(credential, COGNITIVE_SCOPE),
        **options,
    )


def _credential(settings: Settings, role: Role) -> Any:
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if role is Role.ANSWER:
        if not settings.assistant_client_id:
            raise ConfigError("setting FERRY_ASSISTANT_CLIENT_ID is missing (the assistant's own identity)")
        return ManagedIdentityCredential(client_id=settings.assistant_client_id)
    return DefaultAzureCredential()


def azure_backends(settings: Settings, region: RegionSettings, role: Role) -> Backends:
    if not region.search_endpoint or not region.openai_endpoint:
        raise ConfigError(
            f"settings FERRY_SEARCH_ENDPOINT_{region.name.upper()} and "
            f"FERRY_OPENAI_ENDPOINT_{region.name.upper()} are needed by the assistant"
        )
    if not settings.openai_embedding_deployment or not settings.openai_chat_deployment:
        raise ConfigError("settings FERRY_OPENAI_CHAT_DEPLOYMENT and FERRY_OPENAI_EMBEDDING_DEPLOYMENT are needed")
    credential = _credential(settings, role)
    openai = azure_openai_client(region.openai_endpoint, credential)
    return Backends(
        region=region.name,
        index=AzureSearchIndex(region.search_endpoint, credential),
        embedder=AzureOpenAIEmbedder(openai, settings.openai_embedding_deployment),
        chat=OpenAICompatibleChat(openai, settings.openai_chat_deployment),
    )
