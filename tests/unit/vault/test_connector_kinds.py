"""Connector kinds: per-kind/per-auth validation (422 naming the field) and secret split."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from shared.connectors import settings as kinds
from shared.connectors.settings import (
    AuthBase,
    ConnectionBase,
    join_secrets,
    parse_connection,
    register_kind,
    registered_kinds,
    secret_paths,
    split_secrets,
)
from shared.errors import ValidationFailed

CANARY = "Cn4ry-kinds-7Zq"
GUID = "8f1c2d3e-4b5a-4c6d-8e7f-901234567890"

VALID: list[tuple[dict[str, Any], set[str]]] = [
    (
        {"kind": "trello", "auth": {"type": "api_key_token", "api_key": "k" * 32, "token": CANARY}},
        {"auth.api_key", "auth.token"},
    ),
    ({"kind": "asana", "auth": {"type": "pat", "token": CANARY}}, {"auth.token"}),
    (
        {
            "kind": "asana",
            "auth": {
                "type": "oauth_app",
                "client_id": "120000",
                "client_secret": CANARY,
                "redirect_uri": "https://ferry.example/oauth/asana",
            },
        },
        {"auth.client_secret"},
    ),
    (
        {
            "kind": "asana",
            "auth": {
                "type": "oauth_app",
                "client_id": "120000",
                "client_secret": CANARY,
                "refresh_token": "rt-" + CANARY,
            },
        },
        {"auth.client_secret", "auth.refresh_token"},
    ),
    (
        {
            "kind": "planner",
            "auth": {"type": "client_credentials", "entra_tenant_id": GUID, "client_id": GUID, "client_secret": CANARY},
        },
        {"auth.client_secret"},
    ),
    (
        {
            "kind": "planner",
            "auth": {
                "type": "username_password",
                "entra_tenant_id": "contoso.com",
                "client_id": GUID,
                "username": "ann@contoso.com",
                "password": CANARY,
            },
        },
        {"auth.password"},
    ),
    (
        {
            "kind": "jira",
            "site_url": "https://acme.atlassian.net/",
            "auth": {"type": "api_token", "email": "ann@acme.com", "api_token": CANARY},
        },
        {"auth.api_token"},
    ),
    (
        {
            "kind": "azure_devops",
            "organization_url": "https://dev.azure.com/acme",
            "auth": {"type": "pat", "pat": CANARY},
        },
        {"auth.pat"},
    ),
    (
        {"kind": "monday", "auth": {"type": "api_token", "api_token": CANARY}, "base_url": "http://127.0.0.1:9100/v2"},
        {"auth.api_token"},
    ),
]


@pytest.mark.parametrize(("data", "secret_fields"), VALID)
def test_valid_connections_split_and_join(data: dict[str, Any], secret_fields: set[str]) -> None:
    model = parse_connection(data)
    assert CANARY not in repr(model) and CANARY not in str(model.model_dump(mode="json"))
    public, secrets = split_secrets(model)
    assert set(secrets) == secret_fields == set(secret_paths(model))
    assert CANARY not in repr(public) and "**********" not in repr(public)
    assert public["kind"] == data["kind"] and public["auth"]["type"] == data["auth"]["type"]
    assert join_secrets(public, secrets) == model


def test_urls_are_normalised_and_effective_base_url() -> None:
    jira = parse_connection(VALID[6][0])
    assert jira.site_url == "https://acme.atlassian.net"  # type: ignore[attr-defined]
    assert jira.effective_base_url() == "https://acme.atlassian.net"
    assert parse_connection(VALID[0][0]).effective_base_url() == "https://api.trello.com/1"
    assert parse_connection(VALID[8][0]).effective_base_url() == "http://127.0.0.1:9100/v2"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "asana", "auth": {"type": "pat"}}, "auth.token"),
        ({"kind": "asana", "auth": {"type": "oauth_app", "client_id": "1"}}, "auth.client_secret"),
        ({"kind": "asana", "auth": {"type": "nope", "token": CANARY}}, "auth.type"),
        ({"kind": "trello", "auth": {"type": "api_key_token", "api_key": CANARY}}, "auth.token"),
        ({"kind": "trello", "auth": {"type": "api_key_token", "api_key": "k", "token": ""}}, "auth.token"),
        (
            {
                "kind": "planner",
                "auth": {
                    "type": "client_credentials",
                    "entra_tenant_id": GUID,
                    "client_id": "not-a-guid",
                    "client_secret": CANARY,
                },
            },
            "auth.client_id",
        ),
        (
            {
                "kind": "planner",
                "auth": {
                    "type": "username_password",
                    "entra_tenant_id": "bad tenant",
                    "client_id": GUID,
                    "username": "ann",
                    "password": CANARY,
                },
            },
            "auth.entra_tenant_id",
        ),
        (
            {
                "kind": "jira",
                "site_url": "http://acme.atlassian.net",
                "auth": {"type": "api_token", "email": "a@b.co", "api_token": CANARY},
            },
            "site_url",
        ),
        (
            {
                "kind": "jira",
                "site_url": "https://acme.atlassian.net",
                "auth": {"type": "api_token", "email": "not-an-email", "api_token": CANARY},
            },
            "auth.email",
        ),
        ({"kind": "azure_devops", "auth": {"type": "pat", "pat": CANARY}}, "organization_url"),
        (
            {"kind": "monday", "auth": {"type": "api_token", "api_token": CANARY}, "base_url": "file:///etc/passwd"},
            "base_url",
        ),
        ({"kind": "monday", "auth": {"type": "api_token", "api_token": CANARY}, "extra_field": CANARY}, "extra_field"),
        ({"kind": "monday"}, "auth"),
        ({"kind": "dropbox"}, "kind"),
        ({}, "kind"),
    ],
)
def test_invalid_connections_name_the_field_and_never_echo_secrets(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_connection(data)
    error = info.value
    assert error.status == 422
    assert error.detail.startswith(f"{field}:")
    assert field in [e["field"] for e in error.extra["errors"]]  # type: ignore[union-attr]
    assert CANARY not in repr(error.extra) and CANARY not in error.detail


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = dict(kinds._REGISTRY)
    yield
    kinds._REGISTRY.clear()
    kinds._REGISTRY.update(saved)
    kinds._adapter.cache_clear()


def test_later_connectors_extend_the_registry(restore_registry: None) -> None:
    class ClickUpToken(AuthBase):
        type: Literal["api_token"]
        api_token: SecretStr

    @register_kind
    class ClickUpConnection(ConnectionBase):
        kind: Literal["clickup"]
        auth: ClickUpToken

    assert "clickup" in registered_kinds()
    model = parse_connection({"kind": "clickup", "auth": {"type": "api_token", "api_token": CANARY}})
    assert split_secrets(model)[1] == {"auth.api_token": CANARY}
    with pytest.raises(TypeError):
        register_kind(ConnectionBase)  # kind is not a Literal
