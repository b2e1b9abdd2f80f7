"""Asana simulator: custom fields — definitions in a workspace (names unique, as documented),
enum options, settings on projects, and text/number/enum/date values on tasks. Every request
and response on an API path is validated against asana_oas.yaml."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.asana.spec import is_vendor_path, load_spec, validate_request, validate_response
from simulators.common import FakeClock

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")
API = "/api/1.0"


@pytest.fixture(scope="module", autouse=True)
def _spec_once() -> None:
    load_spec()


async def _validate(response: httpx.Response) -> None:
    if is_vendor_path(response.request.url.path):
        if response.status_code < 300:
            validate_request(response.request)
        validate_response(response)


@pytest.fixture
async def client(
    asgi_client: Callable[..., httpx.AsyncClient], fake_clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SeedConfig(projects=1, tasks_per_project=2, attachment_sizes=[]), clock=fake_clock)
    async with asgi_client(app, base_url="http://sim", on_response=_validate) as c:
        c.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        yield c


async def _ws_project(client: httpx.AsyncClient) -> tuple[str, str]:
    ws = (await client.get(f"{API}/workspaces")).json()["data"][0]["gid"]
    project = (await client.get(f"{API}/projects", params={"workspace": ws})).json()["data"][0]["gid"]
    return ws, project


async def _create(client: httpx.AsyncClient, ws: str, name: str, subtype: str, **extra: Any) -> httpx.Response:
    return await client.post(
        f"{API}/custom_fields", json={"data": {"workspace": ws, "name": name, "resource_subtype": subtype, **extra}}
    )


async def test_define_list_and_enable_on_a_project(client: httpx.AsyncClient) -> None:
    ws, project = await _ws_project(client)
    made = await _create(client, ws, "Stage", "enum", enum_options=[{"name": "Doing", "color": "blue"}])
    assert made.status_code == 201, made.text
    field = made.json()["data"]
    assert field["resource_subtype"] == "enum" and [o["name"] for o in field["enum_options"]] == ["Doing"]
    again = await _create(client, ws, "stage", "text")
    assert again.status_code == 400 and "already exists" in again.json()["errors"][0]["message"]
    listed = (await client.get(f"{API}/workspaces/{ws}/custom_fields", params={"limit": 100})).json()["data"]
    assert field["gid"] in {f["gid"] for f in listed}

    option = await client.post(
        f"{API}/custom_fields/{field['gid']}/enum_options", json={"data": {"name": "Done", "color": "green"}}
    )
    assert option.status_code == 201 and option.json()["data"]["name"] == "Done"
    got = (await client.get(f"{API}/custom_fields/{field['gid']}")).json()["data"]
    assert [o["name"] for o in got["enum_options"]] == ["Doing", "Done"]

    setting = await client.post(
        f"{API}/projects/{project}/addCustomFieldSetting", json={"data": {"custom_field": field["gid"]}}
    )
    assert setting.status_code == 200, setting.text
    assert setting.json()["data"]["custom_field"]["gid"] == field["gid"]
    twice = await client.post(
        f"{API}/projects/{project}/addCustomFieldSetting", json={"data": {"custom_field": field["gid"]}}
    )
    assert twice.status_code == 400
    settings = (
        await client.get(f"{API}/projects/{project}/custom_field_settings", params={"opt_fields": "custom_field.name"})
    ).json()["data"]
    assert [s["custom_field"]["name"] for s in settings] == ["Stage"]


async def test_values_of_each_type_on_a_task(client: httpx.AsyncClient) -> None:
    ws, project = await _ws_project(client)
    fields = {}
    for name, subtype in (("Note", "text"), ("Size", "number"), ("When", "date")):
        fields[subtype] = (await _create(client, ws, name, subtype)).json()["data"]["gid"]
    enum = (await _create(client, ws, "Level", "enum", enum_options=[{"name": "High"}])).json()["data"]
    fields["enum"] = enum["gid"]
    task = (await client.post(f"{API}/tasks", json={"data": {"name": "t", "projects": [project]}})).json()["data"]
    values = {
        fields["text"]: "T-1",
        fields["number"]: 2.5,
        fields["date"]: {"date": "2030-01-15"},
        fields["enum"]: enum["enum_options"][0]["gid"],
    }
    put = await client.put(f"{API}/tasks/{task['gid']}", json={"data": {"custom_fields": values}})
    assert put.status_code == 200, put.text
    got = (
        await client.get(
            f"{API}/tasks/{task['gid']}",
            params={
                "opt_fields": (
                    "custom_fields.name,custom_fields.display_value,custom_fields.number_value,"
                    "custom_fields.date_value,custom_fields.enum_value.name"
                )
            },
        )
    ).json()["data"]["custom_fields"]
    by_name = {cf["name"]: cf for cf in got}
    assert by_name["When"]["date_value"]["date"] == "2030-01-15" and by_name["When"]["display_value"] == "2030-01-15"
    assert by_name["Size"]["number_value"] == 2.5 and by_name["Level"]["enum_value"]["name"] == "High"
    bad = await client.put(f"{API}/tasks/{task['gid']}", json={"data": {"custom_fields": {fields["date"]: "tomorrow"}}})
    assert bad.status_code == 400


async def test_unsupported_types_and_bad_options_are_refused(client: httpx.AsyncClient) -> None:
    ws, _ = await _ws_project(client)
    assert (await _create(client, ws, "People", "people")).status_code == 400
    text = (await _create(client, ws, "Plain", "text")).json()["data"]["gid"]
    r = await client.post(f"{API}/custom_fields/{text}/enum_options", json={"data": {"name": "x"}})
    assert r.status_code == 400
