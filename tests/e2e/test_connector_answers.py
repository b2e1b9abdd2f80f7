"""A vendor that answers something its API does not document (a 302 with an empty body,
`{}`, a token answer without `access_token`): `/test` reports it, and `/containers` fails
with the matching problem and the same message, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.connections import service
from shared.errors import AuthRequiredError, FerryError, RemoteError, TransientError
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from simulators.common import serve

ACTOR = "user:mem_test"


@dataclass
class Script:
    """What the odd vendor answers to every request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def odd_vendor() -> Iterator[tuple[str, Script]]:
    script = Script()

    async def answer(request: Request) -> Response:
        return Response(
            script.body,
            status_code=script.status,
            headers=script.headers,
            media_type="application/json" if script.body else None,
        )

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    with serve(app) as base:
        yield base, script


def _trello(base: str) -> dict[str, Any]:
    return {
        "kind": "trello",
        "base_url": f"{base}/1",
        "auth": {"type": "api_key_token", "api_key": "odd-key-0123456789", "token": "odd-token-0123456789"},
    }


def _planner(base: str) -> dict[str, Any]:
    return {
        "kind": "planner",
        "base_url": f"{base}/v1.0",
        "auth": {
            "type": "client_credentials",
            "entra_tenant_id": "00000000-0000-0000-0000-000000000001",
            "client_id": "00000000-0000-0000-0000-000000000002",
            "client_secret": "odd-secret-0123456789",
        },
    }


EXPECTED: dict[str, type[FerryError]] = {
    "authentication_failed": AuthRequiredError,
    "unreachable": TransientError,
    "error": RemoteError,
}


@pytest.mark.parametrize(
    ("label", "connection", "script"),
    [
        ("302 with an empty body", _trello, Script(status=302)),
        ("an empty object", _trello, Script(body=b"{}")),
        ("a token answer without access_token", _planner, Script(body=b'{"token_type":"Bearer","expires_in":3599}')),
        ("not JSON at all", _trello, Script(body=b"<html>maintenance</html>")),
    ],
)
async def test_containers_fail_as_the_test_reports(
    stores: Any, odd_vendor: tuple[str, Script], label: str, connection: Any, script: Script
) -> None:
    base, current = odd_vendor
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    cid = (
        await service.create_connector(ctx, name=label, connection=connection(base), actor=ACTOR, allow_loopback=True)
    )["id"]
    current.status, current.body, current.headers = script.status, script.body, script.headers

    tested = await service.run_connection_test(ctx, cid, allow_loopback=True)
    assert tested["status"] != "ok" and tested["message"], tested
    with pytest.raises(FerryError) as caught:
        await service.list_containers(ctx, cid, allow_loopback=True)
    problem = caught.value
    assert type(problem) is EXPECTED[tested["status"]], (label, tested, repr(problem))
    assert 400 <= problem.status < 500 or problem.status in (502, 503), problem.status
    assert tested["message"] in problem.detail, (tested["message"], problem.detail)
