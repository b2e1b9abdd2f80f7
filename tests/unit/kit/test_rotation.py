"""The kit's rotating refresh-token grant on its own: a vendor token endpoint that rotates
(``httpx.MockTransport``, single-use refresh tokens) and an in-memory ``SecretKeeper`` whose
faults are chosen per test. The connections layer's keeper is tested against Cosmos in
``tests/integration/test_jira_oauth_rotation.py``."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Collection

import httpx
import pytest

from shared.connectors.kit.auth import TokenSource
from shared.connectors.kit.errors import ErrorTable
from shared.connectors.kit.http import ApiClient
from shared.connectors.kit.rotation import REFRESH_TOKEN_PATH, RotatingRefreshGrant
from shared.contract.clock import FakeClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import DeferChunk, Pacer
from shared.errors import AuthRequiredError, TransientError

TOKEN_URL = "https://auth.example.com/oauth/token"
SECRET = "client-secret-value"


class Vendor:
    """A token endpoint with single-use refresh tokens (the old one dies on use) and an API
    that takes the access tokens it issued."""

    def __init__(self, first: str = "r0") -> None:
        self.live: set[str] = {first}
        self.access: set[str] = set()
        self.grants: list[str] = []  # refresh tokens presented, in order
        self.bodies: list[dict[str, str]] = []
        self._n = itertools.count(1)
        self.on_api: list[str] = []  # what the keeper held when each API call arrived
        self.keeper: MemoryKeeper | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url == httpx.URL(TOKEN_URL):
            body = json.loads(request.content)
            self.bodies.append(body)
            presented = body["refresh_token"]
            self.grants.append(presented)
            if presented not in self.live:
                return httpx.Response(403, json={"error": "invalid_grant", "error_description": "Unknown token."})
            self.live.discard(presented)
            n = next(self._n)
            self.live.add(f"r{n}")
            self.access.add(f"a{n}")
            return httpx.Response(200, json={"access_token": f"a{n}", "expires_in": 3600, "refresh_token": f"r{n}"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.keeper is not None:
            self.on_api.append(self.keeper.values.get(REFRESH_TOKEN_PATH, ""))
        if token not in self.access:
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})


class MemoryKeeper:
    """A ``SecretKeeper`` in memory; ``fail`` = how the next writes fail ("before" or "after"
    they apply), ``successor`` = what another holder stores while this one is refused."""

    def __init__(self, value: str = "r0") -> None:
        self.values = {REFRESH_TOKEN_PATH: value}
        self.fail: list[str] = []
        self.replaces: list[tuple[frozenset[str], str]] = []
        self.reads = 0
        self.successor: str | None = None
        self.successor_after_reads = 0

    async def stored(self, path: str) -> str | None:
        self.reads += 1
        if self.successor is not None and self.reads > self.successor_after_reads:
            self.values[path] = self.successor
        return self.values.get(path)

    async def replace(self, path: str, previous: Collection[str], fresh: str) -> bool:
        self.replaces.append((frozenset(previous), fresh))
        mode = self.fail.pop(0) if self.fail else None
        if mode == "before":
            raise ConnectionError("store unreachable")
        current = self.values.get(path)
        if current != fresh and current not in previous:
            return False
        self.values[path] = fresh
        if mode == "after":
            raise ConnectionError("answer lost")
        return True


def _setup(keeper: MemoryKeeper | None, vendor: Vendor) -> tuple[ApiClient, FakeClock]:
    vendor.keeper = keeper
    clock = FakeClock()
    transport = httpx.MockTransport(vendor.handler)
    token_http = httpx.AsyncClient(transport=transport)
    form = {"grant_type": "refresh_token", "client_id": "c", "client_secret": SECRET, "refresh_token": "r0"}
    grant = RotatingRefreshGrant(
        token_http, TOKEN_URL, form, vendor="Vendor", keeper=keeper, json_body=True, clock=clock
    )
    api = ApiClient(
        httpx.AsyncClient(transport=transport, base_url="https://api.example.com"),
        pacer=Pacer(RateLimit(requests=1000, per_seconds=1, burst=1000), clock=clock),
        errors=ErrorTable("Vendor"),
        credential=TokenSource(grant, clock=clock),
    )
    return api, clock


async def test_the_rotated_token_is_stored_before_its_access_token_is_used() -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    api, _ = _setup(keeper, vendor)
    assert await api.get("/me") == {"ok": True}
    # the API call arrived when the keeper already held the new refresh token
    assert vendor.on_api == ["r1"] and keeper.values[REFRESH_TOKEN_PATH] == "r1"
    assert keeper.replaces == [(frozenset({"r0"}), "r1")]
    assert vendor.bodies[0] == {
        "grant_type": "refresh_token",
        "client_id": "c",
        "client_secret": SECRET,
        "refresh_token": "r0",
    }  # JSON, as Atlassian documents


async def test_a_401_refreshes_from_the_stored_successor() -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    api, _ = _setup(keeper, vendor)
    await api.get("/me")
    vendor.access.clear()  # the access token was revoked: 401, refresh once with r1
    assert await api.get("/me") == {"ok": True}
    assert vendor.grants == ["r0", "r1"] and keeper.values[REFRESH_TOKEN_PATH] == "r2"
    assert keeper.replaces[-1] == (frozenset({"r1"}), "r2")


@pytest.mark.parametrize("mode", ["before", "after"])
async def test_a_failed_store_is_retried_and_never_loses_the_live_token(mode: str) -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    keeper.fail = [mode]
    api, _ = _setup(keeper, vendor)
    # The first grant's token could not be confirmed stored: its access token is not used;
    # the pacer retries, the next grant starts from r1 (in memory) and stores r2 over r0 or r1.
    assert await api.get("/me") == {"ok": True}
    assert vendor.grants == ["r0", "r1"]
    assert keeper.replaces[1] == (frozenset({"r0", "r1"}), "r2")
    assert keeper.values[REFRESH_TOKEN_PATH] == "r2" and "r2" in vendor.live
    assert vendor.on_api == ["r2"]


async def test_a_store_that_keeps_failing_fails_the_call_for_a_later_retry() -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    keeper.fail = ["before"] * 50
    api, _ = _setup(keeper, vendor)
    # the pacer's retries run out (transient) or its jittered backoff grows past the
    # deferral threshold (the chunk comes back later): both leave it to a later attempt
    with pytest.raises((TransientError, DeferChunk), match="could not be stored"):
        await api.get("/me")
    assert vendor.on_api == []  # no access token was used while its refresh token was unsaved


async def test_the_refused_loser_retries_once_with_the_token_another_holder_stored() -> None:
    vendor, keeper = Vendor("r-other"), MemoryKeeper("r0")
    # r0 was used by another holder, which rotated it to r-other and stores it after two
    # of our reads (it is still writing when we are refused)
    keeper.successor, keeper.successor_after_reads = "r-other", 2
    api, clock = _setup(keeper, vendor)
    assert await api.get("/me") == {"ok": True}
    assert vendor.grants == ["r0", "r-other"]
    assert keeper.values[REFRESH_TOKEN_PATH] == "r1"
    assert keeper.replaces == [(frozenset({"r-other"}), "r1")]
    assert clock.sleeps  # it waited for the winner (virtual time)


async def test_a_refusal_nobody_explains_pauses_the_run_with_the_vendors_reason() -> None:
    vendor, keeper = Vendor("r-unrelated"), MemoryKeeper("r0")  # r0 revoked, nothing stored since
    api, _ = _setup(keeper, vendor)
    with pytest.raises(AuthRequiredError) as caught:
        await api.get("/me")
    assert "invalid_grant" in caught.value.detail and "reconnect" in caught.value.detail
    assert "r0" not in caught.value.detail and SECRET not in caught.value.detail
    assert vendor.grants == ["r0"] and keeper.reads == 5 and keeper.replaces == []


async def test_a_refused_successor_is_final() -> None:
    vendor, keeper = Vendor("r-live"), MemoryKeeper("r0")
    keeper.successor = "r-dead"  # stored by someone, but revoked too
    api, _ = _setup(keeper, vendor)
    with pytest.raises(AuthRequiredError):
        await api.get("/me")
    assert vendor.grants == ["r0", "r-dead"]  # retried once, not a loop


async def test_a_value_stored_by_a_reconnection_is_not_overwritten() -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    api, _ = _setup(keeper, vendor)
    await api.get("/me")
    keeper.values[REFRESH_TOKEN_PATH] = "r-user"  # the user reconnected the connector
    vendor.access.clear()
    assert await api.get("/me") == {"ok": True}  # this runtime goes on with its own token
    assert keeper.values[REFRESH_TOKEN_PATH] == "r-user"
    assert keeper.replaces[-1] == (frozenset({"r1"}), "r2")


async def test_concurrent_callers_of_one_runtime_make_one_grant() -> None:
    vendor, keeper = Vendor(), MemoryKeeper()
    api, _ = _setup(keeper, vendor)
    results = await asyncio.gather(*(api.get("/me") for _ in range(5)))
    assert results == [{"ok": True}] * 5 and vendor.grants == ["r0"]


async def test_without_a_keeper_the_rotation_lives_in_memory() -> None:
    vendor = Vendor()
    api, _ = _setup(None, vendor)
    await api.get("/me")
    vendor.access.clear()
    assert await api.get("/me") == {"ok": True}
    assert vendor.grants == ["r0", "r1"]


async def test_a_successor_used_up_meanwhile_leads_to_the_next_stored_one() -> None:
    class Chain(MemoryKeeper):
        """r0 was rotated to r-mid by one holder and r-mid to r-last by another before we
        could present r-mid: each read shows the next value stored."""

        def __init__(self) -> None:
            super().__init__("r0")
            self.chain = ["r0", "r-mid", "r-last"]

        async def stored(self, path: str) -> str | None:
            self.reads += 1
            self.values[path] = self.chain[min(self.reads, len(self.chain) - 1)]
            return self.values[path]

    vendor, keeper = Vendor("r-last"), Chain()
    api, _ = _setup(keeper, vendor)
    assert await api.get("/me") == {"ok": True}
    assert vendor.grants == ["r0", "r-mid", "r-last"]
    assert keeper.values[REFRESH_TOKEN_PATH] == "r1"
