"""The vendors `ferry demo` can simulate: per vendor, how to seed it (as the source, or as an
empty destination), start its simulator and reach it as a connector, and edit a few source
items for the delta run. ``DEMO_VENDORS`` is the table; the CLI offers the kinds that are
both in it and in the connector registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Vendor:
    """A running simulator and how to reach it as a connector."""

    kind: str
    url: str
    connection: dict[str, Any]
    app: Any

    def edit(self, item_ids: list[str]) -> int:
        """Rename ``item_ids`` at the source through the vendor's API; how many were edited."""
        return DEMO_VENDORS[self.kind].edit(self, item_ids)


@dataclass(frozen=True)
class SeedSize:
    """What the demo asks for: as the source, ``boards`` containers of ``cards`` items with
    files up to ``max_mb``; as the destination, an empty account."""

    source: bool
    boards: int
    cards: int
    max_mb: int

    def sizes(self) -> list[int]:
        big = max(1, self.max_mb) * 1024 * 1024
        return [2_048, 150_000, 1_500_000, big] if self.source else [1_024]


@dataclass(frozen=True)
class DemoVendor:
    seed: Callable[[SeedSize], Any]
    start: Callable[[ExitStack, Any], Vendor]
    edit: Callable[[Vendor, list[str]], int]


def _serve(stack: ExitStack, app: Any) -> str:
    from simulators.common import serve

    return stack.enter_context(serve(app))


# --- Trello -----------------------------------------------------------------------------------


def _trello_seed(size: SeedSize) -> Any:
    from simulators.trello import SeedConfig

    return SeedConfig(
        boards=size.boards if size.source else 0,
        cards_per_board=size.cards if size.source else 0,
        attachment_sizes=tuple(size.sizes()),
        many_comments=30 if size.source else 0,
    )


def _trello_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.trello import create_app
    from simulators.trello.seed import owner_token

    app = create_app(seed)
    url = _serve(stack, app)
    conn = {
        "kind": "trello",
        "base_url": f"{url}/1",
        "auth": {"type": "api_key_token", "api_key": seed.api_key, "token": owner_token(seed)},
    }
    return Vendor("trello", url, conn, app)


def _trello_edit(v: Vendor, ids: list[str]) -> int:
    auth = v.connection["auth"]
    for n, card in enumerate(ids):
        httpx.put(
            f"{v.url}/1/cards/{card}",
            params={"key": auth["api_key"], "token": auth["token"], "name": f"Edited in the demo #{n}"},
        ).raise_for_status()
    return len(ids)


# --- Asana ------------------------------------------------------------------------------------


def _asana_seed(size: SeedSize) -> Any:
    from simulators.asana import SeedConfig

    return SeedConfig(
        projects=size.boards if size.source else 0,
        tasks_per_project=size.cards if size.source else 0,
        attachment_sizes=size.sizes(),
        deleted_per_project=2 if size.source else 0,
        archived_projects=1 if size.source else 0,
    )


def _asana_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.asana import DEFAULT_TOKEN, create_app

    app = create_app(seed)
    url = _serve(stack, app)
    conn = {"kind": "asana", "base_url": f"{url}/api/1.0", "auth": {"type": "pat", "token": DEFAULT_TOKEN}}
    return Vendor("asana", url, conn, app)


def _asana_edit(v: Vendor, ids: list[str]) -> int:
    headers = {"Authorization": f"Bearer {v.connection['auth']['token']}"}
    for n, gid in enumerate(ids):
        httpx.put(
            f"{v.url}/api/1.0/tasks/{gid}", headers=headers, json={"data": {"name": f"Edited in the demo #{n}"}}
        ).raise_for_status()
    return len(ids)


# --- Microsoft Planner ------------------------------------------------------------------------


def _planner_seed(size: SeedSize) -> Any:
    from simulators.planner import SeedConfig

    # Planner's own limit on a file reference's size in the simulator
    return SeedConfig(
        plans_per_group=size.boards if size.source else 0,
        tasks_per_plan=size.cards if size.source else 0,
        attachment_sizes=[min(s, 5 * 1024 * 1024) for s in size.sizes()],
    )


def _planner_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.planner import create_app

    app = create_app(seed)
    url = _serve(stack, app)
    conn = {
        "kind": "planner",
        "base_url": f"{url}/v1.0",
        "auth": {
            "type": "client_credentials",
            "entra_tenant_id": app.state.planner.store.tenant_id,
            "client_id": seed.client_id,
            "client_secret": seed.client_secret,
        },
    }
    return Vendor("planner", url, conn, app)


def _planner_edit(v: Vendor, ids: list[str]) -> int:
    auth = v.connection["auth"]
    token = httpx.post(
        f"{v.url}/{auth['entra_tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": auth["client_id"],
            "client_secret": auth["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for n, tid in enumerate(ids):
        task = httpx.get(f"{v.url}/v1.0/planner/tasks/{tid}", headers=headers).json()
        httpx.patch(
            f"{v.url}/v1.0/planner/tasks/{tid}",
            json={"title": f"Edited in the demo #{n}"},
            headers={**headers, "If-Match": task["@odata.etag"]},
        ).raise_for_status()
    return len(ids)


# --- Jira Cloud -------------------------------------------------------------------------------


def _jira_seed(size: SeedSize) -> Any:
    from simulators.jira import SeedConfig

    return SeedConfig(
        projects=size.boards if size.source else 0,
        issues_per_project=size.cards if size.source else 0,
        attachment_sizes=size.sizes() if size.source else [],
        links=2 if size.source else 0,
    )


def _jira_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.jira import DEFAULT_EMAIL, DEFAULT_TOKEN, create_app

    app = create_app(seed)
    url = _serve(stack, app)
    # site_url names the Atlassian site; base_url points the connector at the simulator
    conn = {
        "kind": "jira",
        "site_url": "https://ferry-demo.atlassian.net",
        "base_url": url,
        "auth": {"type": "api_token", "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN},
    }
    return Vendor("jira", url, conn, app)


def _jira_edit(v: Vendor, ids: list[str]) -> int:
    auth = v.connection["auth"]
    for n, issue in enumerate(ids):
        httpx.put(
            f"{v.url}/rest/api/3/issue/{issue}",
            auth=(auth["email"], auth["api_token"]),
            json={"fields": {"summary": f"Edited in the demo #{n}"}},
        ).raise_for_status()
    return len(ids)


# --- monday.com -------------------------------------------------------------------------------


def _monday_seed(size: SeedSize) -> Any:
    from simulators.monday import SeedConfig

    return SeedConfig(
        boards=size.boards if size.source else 0,
        items_per_board=size.cards if size.source else 0,
        file_sizes=tuple(size.sizes()) if size.source else (),
        many_updates=30 if size.source else 0,
    )


def _monday_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.monday import DEFAULT_TOKEN, create_app

    app = create_app(seed)
    url = _serve(stack, app)
    conn = {"kind": "monday", "base_url": f"{url}/v2", "auth": {"type": "api_token", "api_token": DEFAULT_TOKEN}}
    return Vendor("monday", url, conn, app)


def _monday_edit(v: Vendor, ids: list[str]) -> int:
    items = v.app.state.monday_store.items
    query = (
        "mutation($board: ID!, $item: ID, $values: JSON!) { change_multiple_column_values("
        "board_id: $board, item_id: $item, column_values: $values) { id } }"
    )
    for n, item in enumerate(ids):
        values = json.dumps({"name": f"Edited in the demo #{n}"})
        r = httpx.post(
            f"{v.url}/v2",
            headers={"Authorization": v.connection["auth"]["api_token"]},
            json={"query": query, "variables": {"board": str(items[item].board_id), "item": item, "values": values}},
        )
        r.raise_for_status()
        if r.json().get("errors"):
            raise RuntimeError(f"monday.com refused the edit: {r.json()['errors']}")
    return len(ids)


# --- Azure DevOps -----------------------------------------------------------------------------


def _azure_devops_seed(size: SeedSize) -> Any:
    from simulators.azure_devops import SeedConfig

    return SeedConfig(
        projects=size.boards if size.source else 0,
        items_per_project=size.cards if size.source else 0,
        attachment_sizes=tuple(size.sizes()) if size.source else (),
    )


def _azure_devops_start(stack: ExitStack, seed: Any) -> Vendor:
    from simulators.azure_devops import create_app

    app = create_app(seed)
    url = _serve(stack, app)
    org = app.state.ado.store.organization
    # organization_url names the organization; base_url points the connector at the simulator
    conn = {
        "kind": "azure_devops",
        "organization_url": f"https://dev.azure.com/{org}",
        "base_url": f"{url}/{org}",
        "auth": {"type": "pat", "pat": seed.pat},
    }
    return Vendor("azure_devops", url, conn, app)


def _azure_devops_edit(v: Vendor, ids: list[str]) -> int:
    store = v.app.state.ado.store
    for n, wid in enumerate(ids):
        patch = [{"op": "add", "path": "/fields/System.Title", "value": f"Edited in the demo #{n}"}]
        project = store.work_items[int(wid)].project_id  # updates go through the project
        httpx.patch(
            f"{v.url}/{store.organization}/{project}/_apis/wit/workitems/{wid}",
            params={"api-version": "7.1"},
            auth=("", v.connection["auth"]["pat"]),
            content=json.dumps(patch).encode(),
            headers={"Content-Type": "application/json-patch+json"},
        ).raise_for_status()
    return len(ids)


#: the vendors the demo can simulate (seed, start, edit); the CLI offers those the registry has
DEMO_VENDORS: dict[str, DemoVendor] = {
    "trello": DemoVendor(_trello_seed, _trello_start, _trello_edit),
    "asana": DemoVendor(_asana_seed, _asana_start, _asana_edit),
    "planner": DemoVendor(_planner_seed, _planner_start, _planner_edit),
    "jira": DemoVendor(_jira_seed, _jira_start, _jira_edit),
    "monday": DemoVendor(_monday_seed, _monday_start, _monday_edit),
    "azure_devops": DemoVendor(_azure_devops_seed, _azure_devops_start, _azure_devops_edit),
}
