"""Schemathesis hooks for tests/e2e/test_openapi_fuzz.py (loaded by `st` through its config).

Generated requests rarely get past the API's validation where the document cannot say all a
field must be: a connector's `connection` is a free object (its shape depends on the kind,
and the console's typed client builds it as one), a name must not hold control characters, a
scope id follows the record id grammar. A stateful chain that never creates a connector or a
migration never reaches what hangs below them. So some of the generated creates (a
Hypothesis draw, which the seed reproduces; only cases generated to be valid, so a case
meant to be refused stays as it was) are replaced by a valid one:

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
from schemathesis import GenerationMode

VENDOR_URL_ENV = "FERRY_FUZZ_VENDOR_URL"
IDEMPOTENCY_KEY = "Idempotency-Key"


def connections(vendor_url: str) -> list[dict[str, Any]]:
    """A valid Trello and Asana connection whose vendor is `vendor_url`."""
    return [
        {"kind": "trello", "auth": {"type": "api_key_token", "api_key": "k", "token": "t"}, "base_url": vendor_url},
        {"kind": "asana", "auth": {"type": "pat", "token": "t"}, "base_url": vendor_url},
    ]


def _positive(case: Any) -> bool:
    """A case generated to be valid: only those may be made valid by a hook (a negative case
    made valid would be accepted, and Schemathesis would rightly call that a failure)."""
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _with_body_at_times(case: Any, valid: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    if not _positive(case) or not isinstance(case.body, dict):
        return st.just(case)

    def apply(body: dict[str, Any] | None) -> Any:
        if body is not None:
            case.body = body
        return case

    return st.sampled_from([None, *valid]).map(apply)


@schemathesis.hook("flatmap_case").apply_to(method="POST", path="/api/orgs/{orgId}/connectors")
def valid_connection_at_times(context: Any, case: Any) -> st.SearchStrategy[Any]:
    vendor_url = os.environ.get(VENDOR_URL_ENV, "http://127.0.0.1:9")
    return _with_body_at_times(case, [{"name": "Linked", "connection": c} for c in connections(vendor_url)])


@schemathesis.hook("flatmap_case").apply_to(method="POST", path="/api/orgs/{orgId}/migrations")
def valid_migration_at_times(context: Any, case: Any) -> st.SearchStrategy[Any]:
    body = case.body if isinstance(case.body, dict) else {}
    valid = {
        "name": "Linked",
        "sourceConnectorId": body.get("sourceConnectorId", "con_none"),
        "destinationConnectorId": body.get("destinationConnectorId", "con_none"),
        "scopes": [{"id": "board-1"}],
        "destinationWorkspace": "linked-workspace",
    }
    return _with_body_at_times(case, [valid])


@schemathesis.hook("flatmap_case").apply_to(method="POST")
def without_idempotency_key_at_times(context: Any, case: Any) -> st.SearchStrategy[Any]:
    if not _positive(case) or not isinstance(case.headers, dict) or IDEMPOTENCY_KEY not in case.headers:
        return st.just(case)

    def apply(drop: bool) -> Any:
        if drop:
            case.headers = {k: v for k, v in case.headers.items() if k != IDEMPOTENCY_KEY}
        return case

    return st.booleans().map(apply)
