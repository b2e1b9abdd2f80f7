"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded by `st` through its config).

Generated requests rarely get past the API's validation where the document cannot say all a
field must be: a connector's `connection` is a free object (its shape depends on the kind,
and the console's typed client builds it as one), a name must not hold control characters, a
scope id follows the record id grammar. A stateful chain that never creates a connector or a
migration never reaches what hangs below them. So some of the generated creates (a
Hypothesis draw, which the seed reproduces) are replaced by a valid one:

* a connector with a valid Trello or Asana connection whose vendor is the unreachable URL the
  test passes in FERRY_FUZZ_VENDOR_URL (every vendor call fails at once);
* a migration with a plain name and one scope, keeping the connector ids the link put in;
* a create without its generated `Idempotency-Key` (short generated keys repeat, and a key
  reused with another body is rightly a 409), so chains are not cut by key collisions.

Everything else stays as generated.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

VENDOR_URL_ENV = "FERRY_FUZZ_VENDOR_URL"
IDEMPOTENCY_KEY = "Idempotency-Key"


def connections(vendor_url: str) -> list[dict[str, Any]]:
    """A valid Trello and Asana connection whose vendor is `vendor_url`."""
    return [
        {"kind": "trello", "auth": {"type": "api_key_token", "api_key": "k", "token": "t"}, "base_url": vendor_url},
        {"kind": "asana", "auth": {"type": "pat", "token": "t"}, "base_url": vendor_url},
    ]


def _as_generated_or(body: Any, valid: list[Any]) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, *valid])


@schemathesis.hook("flatmap_body").apply_to(method="POST", path="/api/orgs/{orgId}/connectors")
def valid_connection_at_times(context: Any, body: Any) -> st.SearchStrategy[Any]:
    vendor_url = os.environ.get(VENDOR_URL_ENV, "http://127.0.0.1:9")
    if not isinstance(body, dict):
        return st.just(body)
    return _as_generated_or(body, [{"name": "Linked", "connection": c} for c in connections(vendor_url)])


@schemathesis.hook("flatmap_body").apply_to(method="POST", path="/api/orgs/{orgId}/migrations")
def valid_migration_at_times(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict):
        return st.just(body)
    valid = {
        "name": "Linked",
        "sourceConnectorId": body.get("sourceConnectorId", "con_none"),
        "destinationConnectorId": body.get("destinationConnectorId", "con_none"),
        "scopes": [{"id": "board-1"}],
        "destinationWorkspace": "linked-workspace",
    }
    return _as_generated_or(body, [valid])


@schemathesis.hook("flatmap_headers").apply_to(method="POST")
def without_idempotency_key_at_times(context: Any, headers: Any) -> st.SearchStrategy[Any]:
    if not isinstance(headers, dict) or IDEMPOTENCY_KEY not in headers:
        return st.just(headers)
    return st.sampled_from([headers, {k: v for k, v in headers.items() if k != IDEMPOTENCY_KEY}])
