"""Jira through an OAuth 2.0 (3LO) app: the conformance suite through the simulator's
``/ex/jira/<cloudId>`` gateway with bearer tokens from its rotating token endpoint (every
exchange validated against the official description), and the connection model.

Storing rotated tokens in the vault is tested against Cosmos in
``tests/integration/test_jira_oauth_rotation.py``; the grant itself in
``tests/unit/kit/test_rotation.py``."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator, Collection, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.jira import JiraClient, JiraReader, JiraWriter
from shared.connectors.jira.auth import OAUTH_TOKEN_URL, credential_for, token_url_for
from shared.connectors.jira.mapping import TASK_FIELDS, issue_to_task
from shared.connectors.registry import credential_key, open_runtime
from shared.connectors.settings import JiraConnection, parse_connection, split_secrets
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.limits import RateLimit
from shared.contract.model import Kind, Record, Task, UserRef
from shared.contract.pacer import Pacer
from shared.contract.runs import RunStatus
from shared.errors import ValidationFailed
from shared.net.http import build_client
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from simulators.jira import DEFAULT_EMAIL, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, SeedConfig, create_app
from simulators.jira.spec import load_spec
from tests.connectors.conformance import ConnectorConformance
from tests.connectors.test_jira import _project_id, _spec_hook
from tests.unit.engine.harness import Harness

pytestmark = [
    pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning"),  # openapi-core on OAuth 2.0
]

SITE = "https://ferry-sim.atlassian.net"
CLOUD_ID = "3f1b9c1e-5d0a-4c7e-9a11-0f0e5d7c2b10"
SEED = SeedConfig(
    projects=1, issues_per_project=7, subtasks_every=3, comments_per_issue=2, attachment_sizes=[2048, 300_000], links=1
)


class MemoryKeeper:
    """Stands in for the vault: the refresh token of one connection, and what was stored."""

    def __init__(self, token: str) -> None:
        self.value = token
        self.stored_values: list[str] = []

    async def stored(self, path: str) -> str | None:
        return self.value

    async def replace(self, path: str, previous: Collection[str], fresh: str) -> bool:
        if self.value not in previous and self.value != fresh:
            return False
        self.value = fresh
        self.stored_values.append(fresh)
        return True


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    load_spec()
    app = create_app(SEED, clock=SimClock(wall_start=1_770_000_000.0))
    with serve(app) as base:
        yield app, base


def mint(app: Any) -> str:
    """A refresh token of a fresh consent by the default user."""
    store = app.state.jira_store
    token = f"jira-sim-refresh-consent-{secrets.token_hex(8)}"
    with store.lock:
        store.refresh_tokens[token] = next(u.account_id for u in store.users.values() if u.email == DEFAULT_EMAIL)
    return token


def oauth_connection(base: str | None, token: str, cloud_id: str = CLOUD_ID) -> JiraConnection:
    conn = parse_connection(
        {
            "kind": "jira",
            "site_url": SITE,
            **({"base_url": base} if base else {}),
            "auth": {
                "type": "oauth_app",
                "client_id": OAUTH_CLIENT_ID,
                "client_secret": OAUTH_CLIENT_SECRET,
                "refresh_token": token,
                "cloud_id": cloud_id,
            },
        }
    )
    assert isinstance(conn, JiraConnection)
    return conn


def make_oauth_client(app: Any, base: str, keeper: MemoryKeeper | None = None) -> JiraClient:
    """A client as ``open_jira`` builds it for an OAuth app, with spec validation."""
    token = mint(app)
    conn = oauth_connection(base, token, app.state.jira_store.cloud_id)
    http = build_client("jira", allow_loopback=True, base_url=conn.effective_base_url())
    http.event_hooks["response"].append(_spec_hook)
    pacer = Pacer(RateLimit(requests=100_000, per_seconds=60, concurrency=8), clock=EngineClock(), rng=random.Random(7))
    return JiraClient(http, credential_for(conn, http, keeper=keeper or MemoryKeeper(token)), pacer=pacer, site=SITE)


class TestJiraOAuthConformance(ConnectorConformance):
    page_limit = 3

    @pytest.fixture
    async def reader(self, sim: tuple[Any, str]) -> AsyncIterator[JiraReader]:
        r = JiraReader(make_oauth_client(*sim))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: tuple[Any, str]) -> str:
        return _project_id(sim[0])

    @pytest.fixture
    async def writer(self, sim: tuple[Any, str]) -> AsyncIterator[JiraWriter]:
        w = JiraWriter(make_oauth_client(*sim))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self) -> str:
        return SITE.split("://", 1)[1]  # the site, not the gateway

    @pytest.fixture
    def read_back(self, sim: tuple[Any, str]):  # type: ignore[no-untyped-def]
        async def get(kind: Kind, dest_id: str) -> Record | None:
            client = make_oauth_client(*sim)
            try:
                raw = await client.get(f"/issue/{dest_id}", fields=TASK_FIELDS)
                return issue_to_task(raw, "p", 0)
            finally:
                await client.aclose()

        return get

    def sample_records(self, run: str) -> dict[Kind, Record]:
        recs = super().sample_records(run)
        task = recs[Kind.TASK]
        assert isinstance(task, Task)
        recs[Kind.TASK] = task.model_copy(
            update={"assignees": (UserRef(email="grace@example.com", display_name="Grace Hopper"),)}
        )
        return recs


async def test_the_runtime_goes_through_the_gateway_and_stores_each_rotation(sim: tuple[Any, str]) -> None:
    app, base = sim
    token = mint(app)
    keeper = MemoryKeeper(token)
    seen: list[str] = []

    conn = oauth_connection(base, token, app.state.jira_store.cloud_id)
    runtime = await open_runtime(conn, allow_loopback=True, secrets=keeper)
    try:
        assert runtime.reader is not None
        reader = runtime.reader
        assert isinstance(reader, JiraReader)
        reader.client.api.http.event_hooks["request"].append(lambda r: _note(seen, r))
        assert (await reader.whoami()).email == DEFAULT_EMAIL
        assert keeper.stored_values and keeper.value != token
        with app.state.jira_store.lock:
            app.state.jira_store.access_tokens.clear()  # expired: a 401, one refresh, stored
        containers = await reader.list_containers()
        assert containers[0].id == "ferry-sim.atlassian.net"
        assert len(keeper.stored_values) == 2 and keeper.value in app.state.jira_store.refresh_tokens
    finally:
        await runtime.aclose()
    api_paths = [p for p in seen if "/rest/api/3/" in p]
    assert api_paths and all(p.startswith(f"/ex/jira/{app.state.jira_store.cloud_id}/rest/api/3/") for p in api_paths)


async def _note(seen: list[str], request: httpx.Request) -> None:
    seen.append(request.url.path)


# --- the connection model -----------------------------------------------------------------------


def test_the_oauth_app_keeps_its_secrets_apart() -> None:
    conn = oauth_connection(None, "refresh-0123456789")
    public, secret_values = split_secrets(conn)
    assert set(secret_values) == {"auth.client_secret", "auth.refresh_token"}
    assert public["auth"] == {"type": "oauth_app", "client_id": OAUTH_CLIENT_ID, "cloud_id": CLOUD_ID}
    assert "refresh-0123456789" not in repr(conn) and OAUTH_CLIENT_SECRET not in repr(conn)


def test_the_api_root_is_atlassians_gateway_and_the_token_endpoint_atlassians() -> None:
    conn = oauth_connection(None, "refresh-0123456789")
    assert conn.effective_base_url() == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    assert token_url_for(conn) == OAUTH_TOKEN_URL == "https://auth.atlassian.com/oauth/token"
    local = oauth_connection("http://127.0.0.1:8123", "refresh-0123456789")
    assert local.effective_base_url() == f"http://127.0.0.1:8123/ex/jira/{CLOUD_ID}"
    assert token_url_for(local) == "http://127.0.0.1:8123/oauth/token"


def test_a_rotated_refresh_token_is_the_same_credential() -> None:
    """The pacer (and the shared request budget) of a credential must not change with every
    rotation; another client secret or cloud id is another credential."""
    before, after = oauth_connection(None, "refresh-a-0123456789"), oauth_connection(None, "refresh-b-0123456789")
    assert credential_key(before) == credential_key(after)
    other_site = oauth_connection(None, "refresh-a-0123456789", cloud_id="00000000-0000-4000-8000-000000000000")
    assert credential_key(other_site) != credential_key(before)


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"cloud_id": "not-a-cloud-id"}, "auth.cloud_id"),
        ({"refresh_token": ""}, "auth.refresh_token"),
        ({"client_secret": ""}, "auth.client_secret"),
    ],
)
def test_an_oauth_app_is_validated(auth: dict[str, str], field: str) -> None:
    body = {
        "kind": "jira",
        "site_url": SITE,
        "auth": {
            "type": "oauth_app",
            "client_id": OAUTH_CLIENT_ID,
            "client_secret": OAUTH_CLIENT_SECRET,
            "refresh_token": "refresh-0123456789",
            "cloud_id": CLOUD_ID,
            **auth,
        },
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_connection(body)
    errors = caught.value.extra["errors"]
    assert isinstance(errors, list) and [e["field"] for e in errors] == [field]
    assert "refresh-0123456789" not in str(caught.value.extra) and OAUTH_CLIENT_SECRET not in str(caught.value.extra)


async def test_a_refused_refresh_pauses_the_run_and_a_reconnection_resumes_it(sim: tuple[Any, str]) -> None:
    """Through the engine: a Jira source whose consent was revoked pauses the run with
    Atlassian's reason; the connector reconnected (a new refresh token), the run resumes."""
    app, base = sim
    scope = _project_id(app)
    h = Harness(scopes=(scope,))
    revoked = mint(app)
    with app.state.jira_store.lock:
        app.state.jira_store.refresh_tokens.pop(revoked)
    refused = JiraReader(_oauth_client_for(app, base, revoked))
    h.reader = refused  # type: ignore[assignment]
    try:
        run = await h.run()
    finally:
        await refused.aclose()
    assert h.status(run) is RunStatus.PAUSED
    reason = h.state.reasons[run.run_id] or ""
    assert "reconnect" in reason and "invalid_grant" in reason and revoked not in reason

    reconnected = JiraReader(_oauth_client_for(app, base, mint(app)))
    h.reader = reconnected  # type: ignore[assignment]
    try:
        await h.resume(run)
    finally:
        await reconnected.aclose()
    assert h.status(run) is RunStatus.SUCCEEDED
    issues = [i for i in app.state.jira_store.issues.values() if str(i.project_id) == scope]
    assert h.dst.count(Kind.TASK) == len(issues)


def _oauth_client_for(app: Any, base: str, token: str) -> JiraClient:
    conn = oauth_connection(base, token, app.state.jira_store.cloud_id)
    http = build_client("jira", allow_loopback=True, base_url=conn.effective_base_url())
    clock = EngineClock()  # the refused grant's wait for a concurrent winner passes in virtual time
    pacer = Pacer(RateLimit(requests=100_000, per_seconds=60, concurrency=8), clock=clock, rng=random.Random(7))
    return JiraClient(http, credential_for(conn, http, keeper=MemoryKeeper(token), clock=clock), pacer=pacer, site=SITE)
