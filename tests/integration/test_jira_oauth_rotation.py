"""Jira OAuth 2.0 (3LO) connectors whose refresh tokens rotate, end to end in this process:
the connector service and the region's vault on the Cosmos stand-in, the Jira simulator's
token endpoint (single-use refresh tokens) and its ``/ex/jira/<cloudId>`` gateway.

A "worker" is a runtime opened the way the migration worker opens one
(``service.open_connector``); "another process" has its own ``Stores`` (its own Cosmos
client and vault cache), so it knows only what is stored."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx
import pytest

from shared.connections import service
from shared.connections.rotation import StoredSecrets
from shared.connectors.registry import ConnectorRuntime, open_runtime
from shared.contract.clock import FakeClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer
from shared.errors import AuthRequiredError
from shared.store.repository import TenantRepository
from shared.store.stores import Stores
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from shared.vault.regional import vault_for
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from simulators.jira import DEFAULT_EMAIL, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, SeedConfig, create_app
from tests.conftest import project_root

ROOT = project_root()

ACTOR = "user:mem_test"
PATH = "auth.refresh_token"
SEED = SeedConfig(
    projects=1, issues_per_project=2, subtasks_every=0, comments_per_issue=0, attachment_sizes=[], links=0
)


class Jira:
    """The simulator and what a test reads or changes in its state."""

    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base
        self.store = app.state.jira_store
        self.account = next(u.account_id for u in self.store.users.values() if u.email == DEFAULT_EMAIL)
        self.seeded = set(self.store.refresh_tokens)

    def mint(self) -> str:
        """A refresh token of a fresh consent (as the authorization-code flow would give)."""
        token = f"jira-sim-refresh-consent-{secrets.token_hex(8)}"
        with self.store.lock:
            self.store.refresh_tokens[token] = self.account
        return token

    def live(self) -> set[str]:
        """The refresh tokens the token endpoint would still take, minted by the tests."""
        with self.store.lock:
            return {t for t, a in self.store.refresh_tokens.items() if a == self.account} - self.seeded

    def revoke(self, token: str) -> None:
        with self.store.lock:
            self.store.refresh_tokens.pop(token, None)

    def expire_access_tokens(self) -> None:
        with self.store.lock:
            self.store.access_tokens.clear()

    def connection(self, refresh_token: str) -> dict[str, Any]:
        return {
            "kind": "jira",
            "site_url": "https://ferry-sim.atlassian.net",
            "base_url": self.base,
            "auth": {
                "type": "oauth_app",
                "client_id": OAUTH_CLIENT_ID,
                "client_secret": OAUTH_CLIENT_SECRET,
                "refresh_token": refresh_token,
                "cloud_id": self.store.cloud_id,
            },
        }


@pytest.fixture
def jira() -> Iterator[Jira]:
    app = create_app(SEED, clock=SimClock(wall_start=1_770_000_000.0))
    with serve(app) as base:
        yield Jira(app, base)


@pytest.fixture
async def other_process(settings: Any) -> AsyncIterator[Stores]:
    """Stores of another worker process: its own Cosmos client and vault cache."""
    stores = Stores(settings)
    await stores.start()
    try:
        yield stores
    finally:
        await stores.close()


async def _stored(ctx: TenantContext, cid: str) -> str:
    doc = await service.get_connector(ctx, cid)
    return (await vault_for(ctx).decrypt_fields(ctx.tenant_id, cid, {PATH: doc["sealed"][PATH]}))[PATH]


async def _create(ctx: TenantContext, jira: Jira, token: str) -> str:
    doc = await service.create_connector(ctx, name="Jira OAuth", connection=jira.connection(token), actor=ACTOR)
    return str(doc["id"])


async def _whoami(runtime: ConnectorRuntime) -> str:
    assert runtime.reader is not None
    return (await runtime.reader.whoami()).email or ""


def _quick_pacer() -> Pacer:
    """A pacer whose retry backoff passes in virtual time."""
    return Pacer(RateLimit(requests=1000, per_seconds=1, burst=1000), clock=FakeClock())


async def test_a_rotated_token_is_sealed_before_use_and_the_next_process_takes_it(
    stores: Any, other_process: Stores, jira: Jira, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    first = jira.mint()
    cid = await _create(ctx, jira, first)

    # The connection test refreshes too: its rotated token is stored, or the connector
    # would be dead after a test.
    assert (await service.run_connection_test(ctx, cid))["status"] == "ok"
    after_test = await _stored(ctx, cid)
    assert after_test != first and jira.live() == {after_test}

    worker = await service.open_connector(ctx, cid)
    try:
        assert await _whoami(worker) == DEFAULT_EMAIL
        rotated = await _stored(ctx, cid)
        assert rotated != after_test and jira.live() == {rotated}
        assert worker.reader is not None
        containers = await worker.reader.list_containers()
        assert containers[0].id == "ferry-sim.atlassian.net"  # the site, not the gateway

        # Another process opens the connector from what is stored, and rotates it again.
        ctx2 = TenantContext.for_org(other_process, ctx.tenant_id)
        worker2 = await service.open_connector(ctx2, cid)
        try:
            assert await _whoami(worker2) == DEFAULT_EMAIL
            again = await _stored(ctx2, cid)
            assert again != rotated and jira.live() == {again}

            # The first worker's refresh token died with that rotation. When its access token
            # expires it is refused, reads the stored one and goes on with it.
            jira.expire_access_tokens()
            assert await _whoami(worker) == DEFAULT_EMAIL
            latest = await _stored(ctx, cid)
            assert latest != again and jira.live() == {latest}
        finally:
            await worker2.aclose()
    finally:
        await worker.aclose()

    # The document holds ciphertext only, and its user-visible version did not move.
    doc = await service.get_connector(ctx, cid)
    raw = json.dumps(doc)
    assert doc["sealed"][PATH].startswith("fv1.") and doc["sealed"]["auth.client_secret"].startswith("fv1.")
    assert doc["version"] == 1 and doc.get("secretsRotatedAt")
    shown = json.dumps(service.public_connector(doc))
    for secret in (first, after_test, rotated, again, latest, OAUTH_CLIENT_SECRET):
        assert secret not in raw and secret not in shown and secret not in caplog.text


async def test_two_workers_refreshing_at_once_keep_the_one_live_token(
    stores: Any, other_process: Stores, jira: Jira
) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = await _create(ctx, jira, jira.mint())
    ctx2 = TenantContext.for_org(other_process, ctx.tenant_id)
    a = await service.open_connector(ctx, cid)
    b = await service.open_connector(ctx2, cid)
    try:
        for _round in range(3):
            # both hold the same stored refresh token and need an access token now: the
            # vendor takes it once, the refused one reads the winner's and retries once
            assert list(await asyncio.gather(_whoami(a), _whoami(b))) == [DEFAULT_EMAIL, DEFAULT_EMAIL]
            stored = await _stored(ctx, cid)
            assert jira.live() == {stored}
            jira.expire_access_tokens()
    finally:
        await a.aclose()
        await b.aclose()
    third = await service.open_connector(ctx, cid)  # a later run starts from the store
    try:
        assert await _whoami(third) == DEFAULT_EMAIL
    finally:
        await third.aclose()


class _Interfering:
    """The connectors repository, with something done just before the first replace (and a
    failure before or after it applies)."""

    def __init__(self, inner: TenantRepository, before_first: Any = None, fail: str | None = None) -> None:
        self.inner, self.tenant_id = inner, inner.tenant_id
        self.before_first, self.fail, self.replaces = before_first, fail, 0

    async def find(self, item_id: str) -> dict[str, Any] | None:
        return await self.inner.find(item_id)

    async def replace(self, doc: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        self.replaces += 1
        if self.replaces == 1 and self.before_first is not None:
            await self.before_first()
        if self.replaces == 1 and self.fail == "before":
            raise ConnectionError("connection reset before the write")
        saved = await self.inner.replace(doc, etag=etag)
        if self.replaces == 1 and self.fail == "after":
            raise ConnectionError("connection reset after the write")
        return saved


async def _runtime_with(ctx: TenantContext, cid: str, repo: _Interfering) -> ConnectorRuntime:
    connection = await service.load_connection(ctx, cid)
    keeper = StoredSecrets(cast(TenantRepository, repo), vault_for(ctx), cid)
    return await open_runtime(connection, allow_loopback=True, pacer=_quick_pacer(), secrets=keeper)


async def test_a_rename_while_the_token_is_stored_keeps_both(stores: Any, jira: Jira) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = await _create(ctx, jira, jira.mint())

    async def rename() -> None:
        await service.update_connector(ctx, cid, actor=ACTOR, name="Renamed meanwhile")

    repo = _Interfering(ctx.repo(service.ConnectorsRepository), before_first=rename)
    runtime = await _runtime_with(ctx, cid, repo)
    try:
        assert await _whoami(runtime) == DEFAULT_EMAIL
    finally:
        await runtime.aclose()
    assert repo.replaces == 2  # the ETag refused the first write; the second one re-read
    doc = await service.get_connector(ctx, cid)
    assert doc["name"] == "Renamed meanwhile" and jira.live() == {await _stored(ctx, cid)}


async def test_a_reconnection_meanwhile_is_not_overwritten(stores: Any, jira: Jira) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = await _create(ctx, jira, jira.mint())
    reconnected = jira.mint()

    async def reconnect() -> None:
        await service.update_connector(ctx, cid, actor=ACTOR, connection={"auth": {"refresh_token": reconnected}})

    repo = _Interfering(ctx.repo(service.ConnectorsRepository), before_first=reconnect)
    runtime = await _runtime_with(ctx, cid, repo)
    try:
        assert await _whoami(runtime) == DEFAULT_EMAIL  # this run goes on with its own token
    finally:
        await runtime.aclose()
    assert await _stored(ctx, cid) == reconnected  # the user's token stays


@pytest.mark.parametrize("fail", ["before", "after"])
async def test_a_store_fault_never_loses_the_live_token(stores: Any, jira: Jira, fail: str) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = await _create(ctx, jira, jira.mint())
    runtime = await _runtime_with(ctx, cid, _Interfering(ctx.repo(service.ConnectorsRepository), fail=fail))
    try:
        # the first rotation's write fails (applied or not): that access token is not used,
        # the call is retried and the next rotation is stored over either value
        assert await _whoami(runtime) == DEFAULT_EMAIL
    finally:
        await runtime.aclose()
    stored = await _stored(ctx, cid)
    assert jira.live() == {stored}
    fresh = await service.open_connector(ctx, cid)
    try:
        assert await _whoami(fresh) == DEFAULT_EMAIL
    finally:
        await fresh.aclose()


async def test_a_refused_refresh_pauses_the_run_with_a_clear_reason(stores: Any, jira: Jira) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    token = jira.mint()
    cid = await _create(ctx, jira, token)
    jira.revoke(token)  # the user revoked the app's access at Atlassian
    runtime = await service.open_connector(ctx, cid)
    try:
        with pytest.raises(AuthRequiredError) as caught:  # what pauses a run
            await _whoami(runtime)
    finally:
        await runtime.aclose()
    assert "Jira refused the token request" in caught.value.detail and "invalid_grant" in caught.value.detail
    assert "reconnect" in caught.value.detail and token not in caught.value.detail
    result = await service.run_connection_test(ctx, cid)
    assert result["status"] == "authentication_failed" and "invalid_grant" in result["message"]
    assert await _stored(ctx, cid) == token  # nothing was stored over it


async def test_a_rotation_whose_answer_is_lost_pauses_with_the_reason(stores: Any, jira: Jira) -> None:
    """The one case no store can save: Atlassian rotated the token but its answer never
    arrived, so the new token was never seen and the old one is dead."""
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    token = jira.mint()
    cid = await _create(ctx, jira, token)
    async with httpx.AsyncClient(base_url=jira.base) as http:
        resp = await http.post(
            "/_sim/faults", json={"faults": [{"kind": "apply_then_drop", "method": "POST", "path": "/oauth/token"}]}
        )
        resp.raise_for_status()
    connection = await service.load_connection(ctx, cid)
    runtime = await open_runtime(
        connection, allow_loopback=True, pacer=_quick_pacer(), secrets=service.stored_secrets(ctx, cid)
    )
    try:
        with pytest.raises(AuthRequiredError, match="invalid_grant"):
            await _whoami(runtime)
    finally:
        await runtime.aclose()
    assert await _stored(ctx, cid) == token and token not in jira.live()


async def _worker_process(local_env: dict[str, str], org_id: str, cid: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.oauth_worker_process",
        org_id,
        cid,
        env={**os.environ, **local_env},
        cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode().strip().splitlines()[-1] if out.strip() else err.decode()[-2000:]


async def test_worker_processes_take_the_stored_token_even_when_they_refresh_at_once(
    stores: Any, local_env: dict[str, str], jira: Jira
) -> None:
    """Real processes: each knows only what is stored. Two start at once (both refresh the
    same stored token); then this process's runtime, whose token died meanwhile, goes on."""
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = await _create(ctx, jira, jira.mint())
    here = await service.open_connector(ctx, cid)
    try:
        assert await _whoami(here) == DEFAULT_EMAIL
        results = await asyncio.gather(*(_worker_process(local_env, ctx.tenant_id, cid) for _ in range(2)))
        assert results == [(0, DEFAULT_EMAIL), (0, DEFAULT_EMAIL)], results
        stored = await _stored(ctx, cid)
        assert jira.live() == {stored}
        jira.expire_access_tokens()
        assert await _whoami(here) == DEFAULT_EMAIL  # refused, follows the stored one
    finally:
        await here.aclose()
    assert jira.live() == {await _stored(ctx, cid)}


async def test_an_oauth_connector_reaches_only_atlassians_hosts(stores: Any, jira: Jira) -> None:
    """Without a base URL the API root is Atlassian's gateway: a vendor host, not resolved at
    create time; the site URL is not contacted at all (any value is only the workspace)."""
    ctx = TenantContext.for_org(stores, new_org_id("eu"))

    async def never(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host}: nothing is resolved for Atlassian's own hosts")

    body = {**jira.connection("refresh-0123456789"), "base_url": None}
    doc = await service.create_connector(
        ctx, name="c", connection=body, actor=ACTOR, allow_loopback=False, resolver=never
    )
    assert doc["public"]["auth"] == {"type": "oauth_app", "client_id": OAUTH_CLIENT_ID, "cloud_id": jira.store.cloud_id}
    assert sorted(doc["sealed"]) == ["auth.client_secret", "auth.refresh_token"]
