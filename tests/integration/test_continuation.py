"""Continuation tokens against the Cosmos stand-in: only a token Ferry issued for the same
query of the same tenant reaches the SDK; anything else is a 422 at once."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.store.continuation import ContinuationCodec, query_scope
from shared.store.cosmos import open_region
from shared.store.repository import TenantRepository


class Widgets(TenantRepository):
    container_name = "connectors"


async def _filled(stores: Any, n: int = 12) -> Widgets:
    repo = Widgets(stores.cosmos("eu"), f"t-{uuid.uuid4().hex[:8]}")
    for i in range(n):
        await repo.create({"id": f"w{i:02d}", "n": i})
    return repo


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "TRUE",
        _b64(json.dumps({"token": "+RID:~abc", "range": {"min": "", "max": "FF"}})),  # base64 of other JSON
        "c1." + _b64('{"token":"+RID:~abc"}') + ".AAAAAAAAAAAAAAAAAAAAAA",  # right shape, wrong MAC
        "c1..",
        "c1." + "A" * 9000 + ".x",
    ],
)
async def test_tokens_ferry_did_not_issue_are_refused(stores: Any, token: str) -> None:
    repo = await _filled(stores, 3)
    with pytest.raises(ValidationFailed) as caught:
        await repo.query_page(order_by="c.n", page_size=2, continuation=token)
    assert caught.value.extra["field"] == "continuation"


async def test_a_genuine_token_of_another_tenant_or_list_is_refused(stores: Any) -> None:
    mine, theirs = await _filled(stores), await _filled(stores)
    token = (await mine.query_page(order_by="c.n", page_size=5)).continuation
    assert token
    with pytest.raises(ValidationFailed):
        await theirs.query_page(order_by="c.n", page_size=5, continuation=token)
    with pytest.raises(ValidationFailed):  # same tenant, another query
        await mine.query_page("c.n > @n", {"n": 3}, order_by="c.n", page_size=5, continuation=token)
    second = await mine.query_page(order_by="c.n", page_size=5, continuation=token)
    assert [d["n"] for d in second.items] == [5, 6, 7, 8, 9] and second.continuation != token


async def test_every_instance_of_a_region_accepts_the_tokens_of_the_others(stores: Any, settings: Any) -> None:
    repo = await _filled(stores)
    token = (await repo.query_page(order_by="c.n", page_size=4)).continuation
    other_instance = open_region(settings, settings.region("eu"))  # a second process's client
    try:
        page = await Widgets(other_instance, repo.tenant_id).query_page(order_by="c.n", page_size=4, continuation=token)
    finally:
        await other_instance.close()
    assert [d["n"] for d in page.items] == [4, 5, 6, 7]


def test_the_mac_binds_body_and_scope() -> None:
    codec = ContinuationCodec(b"k" * 32)
    scope = query_scope("connectors", "t1", "SELECT * FROM c", [])
    token = codec.encode('{"token":"x"}', scope=scope)
    assert token and codec.decode(token, scope=scope) == '{"token":"x"}'
    version, body, mac = token.split(".")
    swapped = _b64('{"token":"y"}')
    with pytest.raises(ValidationFailed):
        codec.decode(f"{version}.{swapped}.{mac}", scope=scope)
    with pytest.raises(ValidationFailed):
        codec.decode(token, scope=query_scope("connectors", "t2", "SELECT * FROM c", []))
    with pytest.raises(ValidationFailed):
        ContinuationCodec(b"z" * 32).decode(token, scope=scope)
    assert codec.encode(None, scope=scope) is None and codec.decode(None, scope=scope) is None
