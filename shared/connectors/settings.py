"""Connector kinds and their auth types: one validated model per kind (a discriminated union).

A connection document is `{"kind": ..., "auth": {"type": ..., ...}, <kind fields>,
"base_url": null}`. Secret fields are typed `SecretStr`: `split_secrets` separates them
(for the vault) from the public fields (stored and shown as they are); `join_secrets`
puts them back. `SecretStr` renders as `**********`, so a model never echoes a secret.

Later connectors add a kind with `@register_kind` on a `ConnectionBase` subclass whose
`kind` is a `Literal[...]`; `parse_connection` validates against every registered kind.
"""

from __future__ import annotations

import copy
import functools
import operator
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from shared.errors import ValidationFailed
from shared.net.guard import register_vendor_hosts

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def _http_url(value: str, *, https_only: bool) -> str:
    try:
        url = httpx.URL(value.strip())
    except Exception as exc:  # httpx.InvalidURL and friends
        raise ValueError("must be a valid URL") from exc
    allowed = ("https",) if https_only else ("http", "https")
    if url.scheme not in allowed or not url.host:
        raise ValueError("must be an https URL" if https_only else "must be an http(s) URL")
    if url.userinfo:
        raise ValueError("must not contain credentials")
    if url.query or url.fragment:
        raise ValueError("must not contain a query or fragment")
    return str(url).rstrip("/")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class AuthBase(_Strict):
    """Base of every auth-type model; `type` is the discriminator."""

    type: str

    #: secret fields the vendor replaces on use (a rotating refresh token): stored again by
    #: the runtime, and left out of what names the credential (`credential_identity`)
    rotating_secrets: ClassVar[tuple[str, ...]] = ()


class ConnectionBase(_Strict):
    """Base of every kind. `base_url` overrides the vendor URL, for local simulators only
    (outside local mode the SSRF guard refuses any non-vendor host anyway)."""

    kind: str
    auth: AuthBase
    base_url: str | None = None

    #: the vendor's public API root (None when the URL is a per-connection field)
    vendor_base_url: ClassVar[str | None] = None
    #: the hosts the SSRF guard lets this kind reach ("*.x.com": any subdomain of x.com)
    vendor_hosts: ClassVar[tuple[str, ...]] = ()
    #: whether the configured URL may name a self-hosted server (Jira DC, Azure DevOps Server)
    self_hosted: ClassVar[bool] = False

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, https_only=False)

    def effective_base_url(self) -> str:
        """The API root this connection talks to: the override, else the vendor's."""
        if self.base_url:
            return self.base_url
        if self.vendor_base_url is None:
            raise NotImplementedError(f"{type(self).__name__} must define its base URL")
        return self.vendor_base_url


# --- Trello: https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/


class TrelloKeyToken(AuthBase):
    type: Literal["api_key_token"]
    api_key: SecretStr = Field(min_length=1)
    token: SecretStr = Field(min_length=1)


class TrelloConnection(ConnectionBase):
    kind: Literal["trello"]
    auth: TrelloKeyToken
    vendor_base_url: ClassVar[str | None] = "https://api.trello.com/1"
    vendor_hosts: ClassVar[tuple[str, ...]] = ("api.trello.com",)


# --- Asana: https://developers.asana.com/docs/authentication


class AsanaPersonalAccessToken(AuthBase):
    type: Literal["pat"]
    token: SecretStr = Field(min_length=1)


class AsanaOAuthApp(AuthBase):
    type: Literal["oauth_app"]
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1)
    redirect_uri: str | None = None
    #: obtained by the OAuth code exchange; absent until the user has consented
    refresh_token: SecretStr | None = None

    @field_validator("redirect_uri")
    @classmethod
    def _check_redirect(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, https_only=False)


class AsanaConnection(ConnectionBase):
    kind: Literal["asana"]
    auth: Annotated[AsanaPersonalAccessToken | AsanaOAuthApp, Field(discriminator="type")]
    vendor_base_url: ClassVar[str | None] = "https://app.asana.com/api/1.0"
    vendor_hosts: ClassVar[tuple[str, ...]] = ("app.asana.com",)


# --- Planner / Microsoft 365 (Graph): an Entra application (client credentials) or
# delegated username + password (ROPC, which still needs the app's client id).


class _EntraApp(AuthBase):
    entra_tenant_id: str = Field(min_length=1, max_length=253)
    client_id: str = Field(pattern=f"^{_GUID}$")

    @field_validator("entra_tenant_id")
    @classmethod
    def _check_tenant(cls, value: str) -> str:
        if re.fullmatch(_GUID, value) or _DOMAIN.fullmatch(value) or value == "organizations":
            return value
        raise ValueError("must be a directory (tenant) GUID or a verified domain name")


class PlannerClientCredentials(_EntraApp):
    type: Literal["client_credentials"]
    client_secret: SecretStr = Field(min_length=1)


class PlannerUsernamePassword(_EntraApp):
    type: Literal["username_password"]
    username: str = Field(min_length=3, max_length=320)
    password: SecretStr = Field(min_length=1)


class PlannerConnection(ConnectionBase):
    kind: Literal["planner"]
    auth: Annotated[PlannerClientCredentials | PlannerUsernamePassword, Field(discriminator="type")]
    vendor_base_url: ClassVar[str | None] = "https://graph.microsoft.com/v1.0"
    #: downloads redirect to, and upload sessions live on, the tenant's SharePoint host
    vendor_hosts: ClassVar[tuple[str, ...]] = ("graph.microsoft.com", "login.microsoftonline.com", "*.sharepoint.com")


# --- Jira: https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/ and
# https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/


class JiraApiToken(AuthBase):
    type: Literal["api_token"]
    email: str = Field(max_length=320)
    api_token: SecretStr = Field(min_length=1)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value):
            raise ValueError("must be an email address")
        return value


class JiraOAuthApp(AuthBase):
    """An OAuth 2.0 (3LO) app the user consented to: its refresh token (rotating: each refresh
    answers a new one and the old one stops working) and the site's cloud id, under which
    the API is reached (`https://api.atlassian.com/ex/jira/<cloud_id>`)."""

    type: Literal["oauth_app"]
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1)
    refresh_token: SecretStr = Field(min_length=1)
    cloud_id: str = Field(pattern=f"^{_GUID}$")

    rotating_secrets: ClassVar[tuple[str, ...]] = ("refresh_token",)


class JiraConnection(ConnectionBase):
    kind: Literal["jira"]
    vendor_hosts: ClassVar[tuple[str, ...]] = ("*.atlassian.net", "api.atlassian.com", "auth.atlassian.com")
    self_hosted: ClassVar[bool] = True
    #: the OAuth 2.0 (3LO) gateway of Jira Cloud sites
    oauth_api_root: ClassVar[str] = "https://api.atlassian.com"
    #: https://<site>.atlassian.net, or a self-hosted Jira (must resolve to public IPs)
    site_url: str
    auth: Annotated[JiraApiToken | JiraOAuthApp, Field(discriminator="type")]

    @field_validator("site_url")
    @classmethod
    def _check_site(cls, value: str) -> str:
        return _http_url(value, https_only=True)

    def effective_base_url(self) -> str:
        """The site (API token), or the 3LO gateway of the site's cloud id (OAuth app);
        `base_url` stands for the site, or for the gateway's origin, locally."""
        if isinstance(self.auth, JiraOAuthApp):
            return f"{self.base_url or self.oauth_api_root}/ex/jira/{self.auth.cloud_id}"
        return self.base_url or self.site_url


# --- Azure DevOps: https://learn.microsoft.com/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate


class AzureDevOpsPat(AuthBase):
    type: Literal["pat"]
    pat: SecretStr = Field(min_length=1)


class AzureDevOpsEntraApp(_EntraApp):
    """A Microsoft Entra service principal added to the Azure DevOps organisation (client
    credentials grant; https://learn.microsoft.com/azure/devops/integrate/get-started/authentication/service-principal-managed-identity)."""

    type: Literal["client_credentials"]
    client_secret: SecretStr = Field(min_length=1)


class AzureDevOpsConnection(ConnectionBase):
    kind: Literal["azure_devops"]
    vendor_hosts: ClassVar[tuple[str, ...]] = ("dev.azure.com", "*.visualstudio.com", "login.microsoftonline.com")
    self_hosted: ClassVar[bool] = True
    #: https://dev.azure.com/<org>, or an Azure DevOps Server collection URL
    organization_url: str
    auth: Annotated[AzureDevOpsPat | AzureDevOpsEntraApp, Field(discriminator="type")]

    @field_validator("organization_url")
    @classmethod
    def _check_org(cls, value: str) -> str:
        return _http_url(value, https_only=True)

    def effective_base_url(self) -> str:
        return self.base_url or self.organization_url


# --- monday.com: https://developer.monday.com/api-reference/docs/authentication


class MondayApiToken(AuthBase):
    type: Literal["api_token"]
    api_token: SecretStr = Field(min_length=1)


class MondayConnection(ConnectionBase):
    kind: Literal["monday"]
    auth: MondayApiToken
    vendor_base_url: ClassVar[str | None] = "https://api.monday.com/v2"
    vendor_hosts: ClassVar[tuple[str, ...]] = ("api.monday.com",)


# --- registry -------------------------------------------------------------------------

_REGISTRY: dict[str, type[ConnectionBase]] = {}


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter[Any]:
    union: Any = functools.reduce(operator.or_, _REGISTRY.values())
    return TypeAdapter(Annotated[union, Field(discriminator="kind")])


def register_kind(model: type[ConnectionBase]) -> type[ConnectionBase]:
    """Add a connection model (usable as a class decorator); its `kind` must be a Literal."""
    kind_field = model.model_fields["kind"].annotation
    tags: tuple[object, ...] = getattr(kind_field, "__args__", ())
    if len(tags) != 1 or not isinstance(tags[0], str):
        raise TypeError(f"{model.__name__}.kind must be Literal['<one kind>']")
    _REGISTRY[tags[0]] = model
    register_vendor_hosts(tags[0], model.vendor_hosts, self_hosted=model.self_hosted)
    _adapter.cache_clear()
    return model


for _model in (
    TrelloConnection,
    AsanaConnection,
    PlannerConnection,
    JiraConnection,
    AzureDevOpsConnection,
    MondayConnection,
):
    register_kind(_model)


def registered_kinds() -> tuple[str, ...]:
    """Every registered connector kind."""
    return tuple(_REGISTRY)


def connection_model(kind: str) -> type[ConnectionBase]:
    """The model class of one kind; raises ValidationFailed for an unknown kind."""
    try:
        return _REGISTRY[kind]
    except KeyError as exc:
        raise ValidationFailed(
            f"kind: unknown connector kind {kind!r}", errors=[{"field": "kind", "message": "unknown connector kind"}]
        ) from exc


def parse_connection(data: Mapping[str, Any]) -> ConnectionBase:
    """Validate a connection; on failure raise ValidationFailed (422) naming the fields.

    The error never contains the submitted values (they may be secrets).
    """
    try:
        model: ConnectionBase = _adapter().validate_python(dict(data))
        return model
    except ValidationError as exc:
        errors = [
            {"field": _field_path(err["loc"], data), "message": err["msg"], "type": err["type"]}
            for err in exc.errors(include_input=False, include_url=False)
        ]
        first = errors[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", errors=errors) from None


def _field_path(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """Dotted field path without the union tags pydantic puts in `loc`."""
    parts = list(loc)
    if not parts:
        return "kind"
    if parts[0] == data.get("kind"):
        parts = parts[1:]
    auth = data.get("auth")
    if len(parts) >= 2 and parts[0] == "auth" and isinstance(auth, Mapping) and parts[1] == auth.get("type"):
        del parts[1]
    if parts == ["auth"] and isinstance(auth, Mapping):
        return "auth.type"
    return ".".join(str(p) for p in parts) or "kind"


def split_secrets(model: ConnectionBase) -> tuple[dict[str, Any], dict[str, str]]:
    """(public fields as JSON-ready dict, {dotted secret path: secret value}).

    Secret fields that are None are left out of both.
    """
    secrets: dict[str, str] = {}
    _collect_secrets(model, "", secrets)
    public = model.model_dump(mode="json")
    _remove_paths(public, (p for p in secrets))
    _remove_none_secrets(model, public)
    return public, secrets


def join_secrets(public: Mapping[str, Any], secrets: Mapping[str, str]) -> ConnectionBase:
    """Rebuild and re-validate a connection from `split_secrets` output."""
    data: dict[str, Any] = copy.deepcopy(dict(public))
    for path, value in secrets.items():
        target = data
        *parents, leaf = path.split(".")
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
    return parse_connection(data)


def credential_identity(model: ConnectionBase) -> tuple[dict[str, Any], dict[str, str]]:
    """`split_secrets` without the secrets the vendor rotates: what names one credential
    (for its pacer and request budget) before and after a rotation alike."""
    public, secrets = split_secrets(model)
    rotating = {f"auth.{name}" for name in model.auth.rotating_secrets}
    return public, {path: value for path, value in secrets.items() if path not in rotating}


def secret_paths(model: ConnectionBase) -> tuple[str, ...]:
    """Dotted paths of the secret fields this connection has set."""
    found: dict[str, str] = {}
    _collect_secrets(model, "", found)
    return tuple(found)


def _collect_secrets(model: BaseModel, prefix: str, out: dict[str, str]) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, SecretStr):
            out[path] = value.get_secret_value()
        elif isinstance(value, BaseModel):
            _collect_secrets(value, f"{path}.", out)


def _remove_paths(doc: dict[str, Any], paths: Any) -> None:
    for path in paths:
        target: Any = doc
        *parents, leaf = path.split(".")
        for name in parents:
            target = target[name]
        target.pop(leaf, None)


def _remove_none_secrets(model: BaseModel, public: dict[str, Any]) -> None:
    """Drop optional secret fields that are unset (they would dump as null)."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None and "SecretStr" in repr(info.annotation):
            public.pop(name, None)
        elif isinstance(value, BaseModel) and isinstance(public.get(name), dict):
            _remove_none_secrets(value, public[name])
