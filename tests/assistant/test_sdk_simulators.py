"""The production backends — `azure-search-documents` and `openai` (Azure OpenAI) —
against small simulators of their REST APIs: index schema, idempotent upserts, the hybrid
query with the tenant filter sent to the service, purging, embeddings, answers and
streaming; faults before and after a write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.assistant.azure_backends import OPENAI_API_VERSION, AzureOpenAIEmbedder, AzureSearchIndex
from shared.assistant.backends import Backends, OpenAICompatibleChat
from shared.assistant.indexer import index_lines
from shared.assistant.query import TenantFilter
from shared.assistant.service import Assistant
from shared.identity.access import Action
from simulators.azure_search.app import SearchStore, parse_filter
from simulators.azure_search.app import create_app as search_app
from simulators.common import serve
from simulators.openai.app import create_app as openai_app
from tests.assistant.seed import ORG_A, ORG_B, run_lines


@pytest.fixture(scope="module")
def search_sim() -> Iterator[tuple[str, SearchStore]]:
    store = SearchStore()
    with serve(search_app(store)) as url:
        yield url, store


@pytest.fixture(scope="module")
def openai_sim() -> Iterator[tuple[str, Any]]:
    app = openai_app()
    with serve(app) as url:
        yield url, app


def _openai_client(url: str) -> Any:
    from openai import AsyncAzureOpenAI

    return AsyncAzureOpenAI(azure_endpoint=url, api_key="sim-key", api_version=OPENAI_API_VERSION, max_retries=0)


def _backends(search_url: str, openai_url: str, index_name: str) -> Backends:
    from azure.core.credentials import AzureKeyCredential

    client = _openai_client(openai_url)
    index = AzureSearchIndex(
        search_url, AzureKeyCredential("sim-key"), index_name=index_name, dimensions=384, retry_total=0
    )
    return Backends(
        region="eu",
        index=index,
        embedder=AzureOpenAIEmbedder(client, "embedding"),
        chat=OpenAICompatibleChat(client, "chat"),
    )


def test_the_filter_parser_reads_what_ferry_writes() -> None:
    predicate = parse_filter(TenantFilter(ORG_A, ("public", "logs.read")).odata())
    assert predicate({"tenantId": ORG_A, "requires": "logs.read"})
    assert predicate({"tenantId": "_ferry", "requires": "public"})
    assert not predicate({"tenantId": ORG_B, "requires": "logs.read"})
    assert not predicate({"tenantId": ORG_A, "requires": "members.read"})


async def test_index_query_and_purge_through_the_search_sdk(search_sim, openai_sim) -> None:  # type: ignore[no-untyped-def]
    (search_url, store), (openai_url, _) = search_sim, openai_sim
    backends = _backends(search_url, openai_url, "ferry-assistant-a")
    for org, tag in ((ORG_A, "a"), (ORG_B, "b")):
        await index_lines(backends, org, f"run_{tag}_full01", run_lines(tag)[f"run_{tag}_full01"])
    assert store.indexes["ferry-assistant-a"]["fields"][0]["key"] is True
    count_a = await backends.index.count(ORG_A)
    assert count_a == len(await backends.index.ids(ORG_A)) > 0

    answer = await Assistant(backends).ask(ORG_A, set(Action), "which attachments were skipped? batt0 batt1")
    sent = store.queries[-1]
    assert sent["filter"] == TenantFilter.for_caller(ORG_A, set(Action)).odata()  # trimmed by the service
    assert sent["vectorQueries"][0]["kind"] == "vector" and len(sent["vectorQueries"][0]["vector"]) == 384
    assert sent["search"]  # hybrid: keywords as well as the vector
    assert answer.model == "chat" and answer.citations and answer.citations[0]["ref"] == 1
    assert all(c["runId"] == "run_a_full01" for c in answer.citations if c["type"] != "doc")

    assert await backends.index.delete_tenant(ORG_A) == count_a
    assert await backends.index.count(ORG_A) == 0
    assert await backends.index.count(ORG_B) > 0
    await backends.index.close()


async def test_streamed_answer_through_the_openai_sdk(search_sim, openai_sim) -> None:  # type: ignore[no-untyped-def]
    (search_url, _), (openai_url, app) = search_sim, openai_sim
    backends = _backends(search_url, openai_url, "ferry-assistant-b")
    await index_lines(backends, ORG_A, "run_a_full01", run_lines("a")["run_a_full01"])
    events = [e async for e in Assistant(backends).ask_stream(ORG_A, set(Action), "why did acard99 fail?")]
    text = "".join(data for name, data in events if name == "delta")
    assert text.startswith("According to the records:") and text.rstrip().endswith("[1]")
    [citations] = [data for name, data in events if name == "citations"]
    assert [c["ref"] for c in citations] == [1]
    chat_request = app.state.requests[-1]
    assert chat_request["path"] == "/openai/deployments/chat/chat/completions" and chat_request["stream"] is True
    assert chat_request["messages"][0]["role"] == "system"
    await backends.index.close()


async def test_a_failed_write_is_retried_whole_and_leaves_the_same_documents(search_sim, openai_sim) -> None:  # type: ignore[no-untyped-def]
    (search_url, store), (openai_url, _) = search_sim, openai_sim
    backends = _backends(search_url, openai_url, "ferry-assistant-c")
    lines = run_lines("a")["run_a_full01"]
    await backends.index.upsert([])  # creates the index
    for kind in ("status", "apply_then_status"):  # refused before the write, lost after it
        async with httpx.AsyncClient() as control:
            await control.post(
                f"{search_url}/_sim/faults",
                json={
                    "faults": [
                        {"kind": kind, "status": 503, "method": "POST", "path": "/docs/search.index", "count": 1}
                    ]
                },
            )
        with pytest.raises(Exception) as failed:
            await index_lines(backends, ORG_A, "run_a_full01", lines)
        assert "503" in str(failed.value) or "Service Unavailable" in str(failed.value)
        await index_lines(backends, ORG_A, "run_a_full01", lines)  # the queue's redelivery
    ids = await backends.index.ids(ORG_A)
    assert len(ids) == len(store.docs["ferry-assistant-c"]) == await backends.index.count(ORG_A)
    await backends.index.close()


async def test_embeddings_of_the_simulator_match_the_local_model(openai_sim, embedder) -> None:  # type: ignore[no-untyped-def]
    url, _ = openai_sim
    remote = await AzureOpenAIEmbedder(_openai_client(url), "embedding").embed(["start date in description"])
    local = await embedder.embed(["start date in description"])
    assert len(remote[0]) == 384
    assert max(abs(a - b) for a, b in zip(remote[0], local[0], strict=True)) < 1e-5
