"""Connectors the e2e tests make through the API to their own simulators."""

from __future__ import annotations

import httpx

from simulators.asana import DEFAULT_TOKEN as ASANA_TOKEN


def post_trello_and_asana(
    c: httpx.Client, org_id: str, *, trello: str, asana: str, trello_key: str, trello_token: str
) -> tuple[httpx.Response, httpx.Response]:
    """POST a Trello connector (simulator at ``trello``) and an Asana one (at ``asana``); the
    answers, for the caller to check."""
    src = c.post(
        f"/api/orgs/{org_id}/connectors",
        json={
            "name": "Trello",
            "connection": {
                "kind": "trello",
                "base_url": f"{trello}/1",
                "auth": {"type": "api_key_token", "api_key": trello_key, "token": trello_token},
            },
        },
    )
    dst = c.post(
        f"/api/orgs/{org_id}/connectors",
        json={
            "name": "Asana",
            "connection": {
                "kind": "asana",
                "base_url": f"{asana}/api/1.0",
                "auth": {"type": "pat", "token": ASANA_TOKEN},
            },
        },
    )
    return src, dst
