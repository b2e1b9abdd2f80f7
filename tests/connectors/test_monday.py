"""monday.com connector: the conformance suite and monday-specific behaviour, against the
monday simulator served on a free loopback port. Every GraphQL operation the connector sends
is validated against monday's official SDL, and every answer it receives against the
operation's selection on that SDL (``simulators.monday.spec``).

Time: the simulator runs on a fake clock that the pacer's sleeps advance (``LinkedClock``),
so waiting for the complexity budget to reset costs no real time.
"""
from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.monday import MONDAY_RATE_LIMIT, MondayClient, MondayReader, MondayWriter
from shared.connectors.monday import operations as ops
from shared.connectors.monday.auth import api_token
from shared.connectors.monday.mapping import Columns, item_to_task
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.model import Kind, Record, Task
from shared.contract.pacer import Pacer, PacerSettings
from shared.net.http import build_client
from simulators.common import FakeClock as SimFakeClock
from simulators.common import serve
from simulators.monday import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.monday.spec import check_request, check_response
from tests.connectors.conformance import ConnectorConformance, ReadBack

SEED = SeedConfig(seed=7, boards=2, items_per_board=12, groups_per_board=3, many_updates=7,
                  file_sizes=(2_048, 300_000))


class LinkedClock(EngineClock):
    """The pacer's fake clock; its sleeps also move the simulator's clock."""

    def __init__(self, sim_clock: SimFakeClock) -> None:
        super().__init__()
        self.sim_clock = sim_clock

    async def sleep(self, seconds: float) -> None:
        self.sim_clock.advance(max(0.0, seconds))
        await super().sleep(seconds)


class Sim:
    def __init__(self, base: str, app: Any, clock: SimFakeClock) -> None:
        self.base, self.app, self.clock = base, app, clock
        self.store = app.state.monday_store

    def boards(self) -> list[str]:
        return [b.id for b in self.store.boards.values() if b.type == "board"
                and b.state == "active" and b.name.startswith("Board")]

    def workspace(self) -> str:
        return next(iter(self.store.workspaces))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            r = http.post(path, json=body)
            assert r.status_code == 200, r.text
            out: dict[str, Any] = r.json()
            return out


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    clock = SimFakeClock()
    app = create_app(SEED, clock=clock)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with serve(app) as base:
            yield Sim(base, app, clock)
    finally:
        sys.setswitchinterval(interval)


async def _validate(response: httpx.Response) -> None:
    """Every operation and answer checked against the official SDL."""
    path = response.request.url.path
    if not path.startswith("/v2") or response.status_code != 200:
        return
    await response.aread()
    body = response.json()
    if path == "/v2/file":
        check_response(ops.OPERATIONS["add_file"], body)
        return
    sent = json.loads(response.request.content)
    check_request(sent["query"])
    check_response(sent["query"], body)


def make_client(sim: Sim, *, token: str = DEFAULT_TOKEN,
                settings: PacerSettings | None = None) -> MondayClient:
    http = build_client("monday", allow_loopback=True, base_url=f"{sim.base}/v2",
                        event_hooks={"response": [_validate]})
    clock = LinkedClock(sim.clock)
    pacer = Pacer(MONDAY_RATE_LIMIT, clock=clock, settings=settings)
    return MondayClient(http, api_token(token), pacer=pacer, clock=clock)


async def read_task(client: MondayClient, item: str) -> Task | None:
    rows = (await client.run("items_by_id", {"ids": [item]}))["items"] or []
    if not rows:
        return None
    row = rows[0]
    md = ""
    if row.get("description"):
        got = await client.run("docs_markdown", {"d0": row["description"]["id"]},
                               query=ops.docs_markdown(1))
        md = got["d0"]["markdown"] or ""
    parent = (row.get("parent_item") or {}).get("id")
    return item_to_task(row, str(row["board"]["id"]), Columns.of(row["board"]["columns"]), {},
                        {}, description=md, position=0, parent_id=parent)


class TestMondayConformance(ConnectorConformance):
    @pytest.fixture
    async def reader(self, sim: Sim) -> AsyncIterator[MondayReader]:
        r = MondayReader(make_client(sim))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: Sim) -> str:
        return sim.boards()[0]

    @pytest.fixture
    async def writer(self, sim: Sim) -> AsyncIterator[MondayWriter]:
        w = MondayWriter(make_client(sim))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: Sim) -> str:
        return sim.workspace()

    @pytest.fixture
    def read_back(self, writer: MondayWriter) -> ReadBack:
        async def back(kind: Kind, dest_id: str) -> Record | None:
            assert kind is Kind.TASK
            return await read_task(writer.client, dest_id)
        return back
