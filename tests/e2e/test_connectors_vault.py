"""Connector service + regional vault + runtime registry in this process, against the
Cosmos stand-in, local key files and the Trello simulator: key rotation keeps every
connector usable, and the SSRF guard as production runs it (loopback not allowed)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import SecretStr

from shared.connections import service
from shared.connectors import settings
from shared.connectors.registry import available_kinds
from shared.errors import AuthRequiredError, NotFoundError, ValidationFailed
from shared.net import guard
from shared.store.stores import Stores
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from shared.vault.factory import local_key_dir
from shared.vault.keys import LocalKeyWrapper
from shared.vault.regional import forget_vaults, vault_for
from simulators.common import serve
from simulators.trello import SeedConfig, create_app
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import create_org

KEY, TOKEN = "rotation-key-0123456789", "rotation-token-0123456789"
ACTOR = "user:mem_test"


@pytest.fixture(scope="module")
def trello() -> Iterator[str]:
    app = create_app(
        SeedConfig(
            boards=1,
            cards_per_board=2,
            many_comments=1,
            members=1,
            attachment_sizes=(1024,),
            api_key=KEY,
            extra_tokens={TOKEN: "rotor"},
        )
    )
    with serve(app) as base:
        yield base


@pytest.fixture
async def own_stores(settings: Any, tmp_path: Path) -> AsyncIterator[Stores]:
    """Stores whose local key files live in a folder of this test only."""
    stores = Stores(dataclasses.replace(settings, local_data_dir=tmp_path))
    await stores.start()
    try:
        yield stores
    finally:
        forget_vaults()
        await stores.close()


def _conn(base: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "trello",
        "base_url": f"{base}/1",
        "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN},
        **overrides,
    }


async def _status(ctx: TenantContext, connector_id: str, **kw: Any) -> dict[str, Any]:
    return await service.run_connection_test(ctx, connector_id, **kw)


async def test_key_rotation_keeps_every_connector_usable(own_stores: Stores, trello: str) -> None:
    ctx = TenantContext.for_org(own_stores, new_org_id("eu"))
    ids = [
        (await service.create_connector(ctx, name=f"c{i}", connection=_conn(trello), actor=ACTOR))["id"]
        for i in range(2)
    ]
    assert [(await _status(ctx, i))["status"] for i in ids] == ["ok", "ok"]

    # Rotate the key-encryption key, re-wrap the org's data keys, destroy the old version.
    wrapper = LocalKeyWrapper(local_key_dir(own_stores.settings, "eu"), own_stores.settings.keyvault_key_name)
    old_kid, new_kid = await wrapper.current_kid(), await wrapper.rotate()
    assert old_kid != new_kid
    assert await vault_for(ctx).rotate(ctx.tenant_id) == new_kid
    (
        Path(local_key_dir(own_stores.settings, "eu"))
        / own_stores.settings.keyvault_key_name
        / f"{old_kid.rsplit('/', 1)[1]}.pem"
    ).unlink()
    forget_vaults()  # as a fresh process: nothing unwrapped is cached any more

    # A new data-key version for new secrets; the old one still opens the old secrets.
    assert await vault_for(ctx).rotate_data_key(ctx.tenant_id) == 2
    ids.append((await service.create_connector(ctx, name="after", connection=_conn(trello), actor=ACTOR))["id"])
    assert [(await _status(ctx, i))["status"] for i in ids] == ["ok", "ok", "ok"]
    sealed = (await service.get_connector(ctx, ids[0]))["sealed"]["auth.token"]
    assert sealed.startswith("fv1.1.")
    assert (await service.get_connector(ctx, ids[2]))["sealed"]["auth.token"].startswith("fv1.2.")
    # Changing a connector re-seals it under the current data key.
    await service.update_connector(ctx, ids[0], actor=ACTOR, connection={"auth": {"token": TOKEN}})
    assert (await service.get_connector(ctx, ids[0]))["sealed"]["auth.token"].startswith("fv1.2.")
    assert (await _status(ctx, ids[0]))["status"] == "ok"


async def test_shredded_keys_make_the_test_say_so(own_stores: Stores, trello: str) -> None:
    ctx = TenantContext.for_org(own_stores, new_org_id("eu"))
    cid = (await service.create_connector(ctx, name="c", connection=_conn(trello), actor=ACTOR))["id"]
    await vault_for(ctx).shred(ctx.tenant_id)
    result = await _status(ctx, cid)
    assert result["status"] == "authentication_failed" and "decrypted" in result["message"]
    with pytest.raises(AuthRequiredError):  # what the worker gets: the run pauses for new secrets
        await service.open_connector(ctx, cid)
    # Sending the secrets again makes it usable (under a new data key).
    await service.update_connector(ctx, cid, actor=ACTOR, connection={"auth": _conn(trello)["auth"]})
    assert (await _status(ctx, cid))["status"] == "ok"


async def test_guard_without_loopback_refuses_at_create_and_at_connect(stores: Any, trello: str) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))

    async def create(connection: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return await service.create_connector(
            ctx, name="g", connection=connection, actor=ACTOR, allow_loopback=False, **kw
        )

    jira = {"kind": "jira", "auth": {"type": "api_token", "email": "a@b.example", "api_token": "t0ken-value"}}
    refused = {
        "connection.base_url": _conn(trello),
        "connection.site_url": {**jira, "site_url": "https://localhost:8443"},
    }
    for field, connection in refused.items():
        with pytest.raises(ValidationFailed) as info:
            await create(connection)
        assert info.value.extra["errors"][0]["field"] == field

    async def private(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]  # one private address fails them all

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    async def unresolvable(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(ValidationFailed) as info:
        await create({**jira, "site_url": "https://jira.corp.example"}, resolver=private)
    assert info.value.extra["errors"][0]["field"] == "connection.site_url"
    assert "non-public" in info.value.detail
    assert (await create({**jira, "site_url": "https://jira.corp.example"}, resolver=public))["kind"] == "jira"
    assert (await create({**jira, "site_url": "https://jira.corp.example"}, resolver=unresolvable))["kind"] == "jira"

    async def never(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host}: a vendor's own host is not resolved at create time")

    vendor = {"kind": "trello", "auth": {"type": "api_key_token", "api_key": KEY, "token": TOKEN}}
    assert (await create(vendor, resolver=never))["kind"] == "trello"

    # Stored while loopback was allowed, used where it is not: the guard refuses the call.
    cid = (await service.create_connector(ctx, name="l", connection=_conn(trello), actor=ACTOR, allow_loopback=True))[
        "id"
    ]
    assert (await _status(ctx, cid, allow_loopback=True))["status"] == "ok"
    result = await _status(ctx, cid, allow_loopback=False)
    assert result["status"] == "unreachable" and "not allowed" in result["message"]


class _NotYetAuth(settings.AuthBase):
    type: Literal["api_token"]
    api_token: SecretStr


class _NotYetConnection(settings.ConnectionBase):
    """A kind whose connection model is registered but whose connector is not built (every
    vendor Ferry names has one now, so the test brings its own)."""

    kind: Literal["notyet"]
    auth: _NotYetAuth
    vendor_base_url: ClassVar[str | None] = "https://api.notyet.example"
    vendor_hosts: ClassVar[tuple[str, ...]] = ("api.notyet.example",)


@pytest.fixture
def notyet_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(settings._REGISTRY, "notyet", _NotYetConnection)
    monkeypatch.setitem(guard.VENDOR_HOSTS, "notyet", _NotYetConnection.vendor_hosts)
    settings._adapter.cache_clear()
    yield
    monkeypatch.undo()
    settings._adapter.cache_clear()


async def test_kinds_without_runtime_cannot_be_tested(stores: Any, notyet_kind: None) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    notyet = {"kind": "notyet", "auth": {"type": "api_token", "api_token": "n0tyet-token"}}
    cid = (await service.create_connector(ctx, name="m", connection=notyet, actor=ACTOR))["id"]
    with pytest.raises(ValidationFailed):
        await service.run_connection_test(ctx, cid)
    with pytest.raises(NotFoundError):
        await service.run_connection_test(ctx, "con_missing")
    assert "notyet" not in available_kinds()


async def test_rotation_under_the_running_app(
    running_app: RunningApp, dev_issuer: Any, settings: Any, stores: Any, trello: str
) -> None:
    """The runner's own key files: rotate the key, re-wrap the org's data keys from here,
    then the API still opens the connector."""
    org = create_org(running_app, dev_issuer, country="DE")
    with running_app.client(org.admin_token) as c:
        cid = c.post(f"/api/orgs/{org.id}/connectors", json={"name": "r", "connection": _conn(trello)}).json()["id"]
        assert c.post(f"/api/orgs/{org.id}/connectors/{cid}/test").json()["status"] == "ok"
    ctx = TenantContext.for_org(stores, org.id)
    new_kid = await LocalKeyWrapper(local_key_dir(settings, "eu"), settings.keyvault_key_name).rotate()
    assert await vault_for(ctx).rotate(org.id) == new_kid
    raw = await stores.cosmos("eu").container("dataKeys").read_item(f"datakey-{org.id}", partition_key=org.id)
    assert {k["kid"] for k in raw["keys"]} == {new_kid}
    with running_app.client(org.admin_token) as c:
        assert c.post(f"/api/orgs/{org.id}/connectors/{cid}/test").json()["status"] == "ok"
        patched = c.patch(f"/api/orgs/{org.id}/connectors/{cid}", json={"name": "after rotation"})
        assert patched.status_code == 200
