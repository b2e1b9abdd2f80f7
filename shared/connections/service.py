"""Connector documents: create, read, list, change, delete, test and browse.

A connector document (container `connectors`, partition = tenant id) holds:

    {"id": "con_…", "kind": "trello", "name": "Team board",
     "public": {<validated connection without its secrets: kind, auth.type, base_url, …>},
     "sealed": {"auth.token": "fv1.…", …},          # envelope strings, never clear text
     "createdAt", "createdBy", "updatedAt", "updatedBy", "version": 1}

Secrets are write-only: they are sealed by the region's vault (AAD = tenant + connector +
field + data-key version) before anything is stored, never returned (`public_connector`
shows which secret fields are set, not their values), never logged and never put in a queue
message (a message names the connector id; the worker opens the connection itself).
Changing a connector re-seals every secret under fresh nonces; deleting it deletes the
document and with it the ciphertext. A secret the vendor rotates (Jira's OAuth refresh
token) is sealed again by the runtime that received it (`rotation.StoredSecrets`, a
compare-and-set on the document's ETag; `secretsRotatedAt` is set, `version` is not moved).

The input mirrors the API body (`{"name", "connection": {…}}`), so every validation
error names its field as the client sent it (`connection.site_url`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx

from shared.connections.rotation import StoredSecrets
from shared.connectors.registry import ConnectorRuntime, open_runtime, probe_pacer
from shared.connectors.settings import ConnectionBase, parse_connection
from shared.contract.model import Container
from shared.contract.pacer import DeferChunk, Pacer
from shared.errors import (
    AuthenticationError,
    AuthRequiredError,
    FerryError,
    PermissionDeniedError,
    RemoteError,
    TransientError,
    UnsafeDestinationError,
    ValidationFailed,
)
from shared.logs.redaction import redact
from shared.net.guard import Resolver, parse_ip_literal, policy_for, system_resolver
from shared.store.repository import QueryPage, TenantRepository, iso, utcnow
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_id
from shared.tenancy.limits import ensure_room
from shared.vault.connections import open_connection as unseal_connection
from shared.vault.connections import seal_connection
from shared.vault.crypto import DecryptionError
from shared.vault.regional import vault_for

log = logging.getLogger("ferry.connectors")

CONNECTION_FIELD = "connection"
#: How long the create-time DNS check of a self-hosted URL may take.
RESOLVE_TIMEOUT_S = 3.0
#: Upper bound of a connection test, whatever the vendor does.
TEST_TIMEOUT_S = 25.0
MAX_MESSAGE = 300
#: Size limits of a connection body: a secret, key or URL of any vendor fits in 8 KiB (an
#: Entra client secret is 40 characters, a PEM certificate about 3 KiB).
MAX_FIELD_CHARS = 8192
MAX_CONNECTION_BYTES = 32 * 1024
MAX_DEPTH = 4

CheckStatus = Literal["ok", "authentication_failed", "unreachable", "error"]


class ConnectorsRepository(TenantRepository):
    container_name = "connectors"


# --- shapes ------------------------------------------------------------------------------


def public_connector(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the API shows of a connector: never a secret, only which secret fields are set."""
    return {
        "id": doc["id"],
        "kind": doc["kind"],
        "name": doc["name"],
        "connection": doc.get("public", {}),
        "secretFields": sorted(doc.get("sealed", {})),
        "createdAt": doc.get("createdAt"),
        "createdBy": doc.get("createdBy"),
        "updatedAt": doc.get("updatedAt"),
        "updatedBy": doc.get("updatedBy"),
        "version": doc.get("version"),
    }


def allow_loopback_for(ctx: TenantContext, override: bool | None) -> bool:
    return ctx.stores.settings.allow_loopback_connectors if override is None else override


def _prefixed(exc: ValidationFailed) -> ValidationFailed:
    """The same validation error with field names as the API body has them."""
    raw = exc.extra.get("errors")
    errors = [{**e, "field": f"{CONNECTION_FIELD}.{e['field']}"} for e in raw] if isinstance(raw, list) else []
    first = errors[0] if errors else {"field": CONNECTION_FIELD, "message": exc.detail}
    return ValidationFailed(f"{first['field']}: {first['message']}", errors=errors or [first])


def _too_large(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message, "type": "too_large"}])


def check_sizes(data: Mapping[str, Any]) -> None:
    """Refuse (422 naming the field) a connection no vendor needs and Cosmos cannot hold well:
    a string over MAX_FIELD_CHARS (a token, a key, a URL), nesting deeper than MAX_DEPTH, or
    more than MAX_CONNECTION_BYTES of JSON in all. Checked before anything is sealed."""

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _too_large(path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise _too_large(path, f"longer than {MAX_FIELD_CHARS} characters")
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}", depth + 1)

    walk(data, CONNECTION_FIELD, 0)
    if len(json.dumps(data, default=str)) > MAX_CONNECTION_BYTES:
        raise _too_large(CONNECTION_FIELD, f"more than {MAX_CONNECTION_BYTES} bytes in all")


def validate_connection(data: Mapping[str, Any]) -> ConnectionBase:
    """Validate a connection body; ValidationFailed names `connection.<field>`."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            "connection: must be an object", errors=[{"field": CONNECTION_FIELD, "message": "must be an object"}]
        )
    check_sizes(data)
    try:
        return parse_connection(data)
    except ValidationFailed as exc:
        raise _prefixed(exc) from None


def _url_field(connection: ConnectionBase) -> str:
    """The body field the connection's API root comes from."""
    if connection.base_url:
        return "base_url"
    for name in ("site_url", "organization_url"):
        if getattr(connection, name, None) == connection.effective_base_url():
            return name
    return "base_url"


async def check_destination(
    connection: ConnectionBase, *, allow_loopback: bool, resolver: Resolver | None = None
) -> None:
    """Refuse now (422 naming the field) an API root the SSRF guard would refuse later.

    Checks scheme, host and port against the kind's policy and, for a host name, the
    addresses it resolves to. A name that does not resolve right now is accepted: the
    guard checks every address again at each connection.
    """
    field = f"{CONNECTION_FIELD}.{_url_field(connection)}"
    base = connection.effective_base_url()
    try:
        policy = policy_for(connection.kind, allow_loopback=allow_loopback, base_url=base)
        url = httpx.URL(base)
        host = url.host.lower().rstrip(".")
        loopback_name = allow_loopback and host == "localhost"
        vendor_host = any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in policy.vendor_hosts)
        # Vendor hosts are the vendor's public service; a self-hosted name is resolved now.
        if parse_ip_literal(host) is None and not loopback_name and not vendor_host:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                addresses = await asyncio.wait_for((resolver or system_resolver)(host, port), RESOLVE_TIMEOUT_S)
            except (OSError, TimeoutError):
                addresses = []
            if addresses:
                policy.check_addresses(host, addresses)
    except UnsafeDestinationError as exc:
        raise ValidationFailed(
            f"{field}: {exc.detail}", errors=[{"field": field, "message": exc.detail, "type": "unsafe_destination"}]
        ) from exc


# --- CRUD --------------------------------------------------------------------------------


async def create_connector(
    ctx: TenantContext,
    *,
    name: str,
    connection: Mapping[str, Any],
    actor: str,
    request: RequestInfo | None = None,
    allow_loopback: bool | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Any]:
    """Validate, check the destination, seal the secrets and store a new connector."""
    model = validate_connection(connection)
    await ensure_room(ctx.repo(ConnectorsRepository), "connectors")
    await check_destination(model, allow_loopback=allow_loopback_for(ctx, allow_loopback), resolver=resolver)
    connector_id = new_id("con")
    public, sealed = await seal_connection(vault_for(ctx), ctx.tenant_id, connector_id, model)
    now = iso(utcnow())
    doc = await ctx.repo(ConnectorsRepository).create(
        {
            "id": connector_id,
            "kind": model.kind,
            "name": name,
            "public": public,
            "sealed": sealed,
            "createdAt": now,
            "createdBy": actor,
            "updatedAt": now,
            "updatedBy": actor,
            "version": 1,
        }
    )
    await audit.record(
        ctx,
        "connector.created",
        actor=actor,
        target=connector_id,
        request=request,
        detail={"kind": model.kind, "name": name},
    )
    return doc


async def get_connector(ctx: TenantContext, connector_id: str) -> dict[str, Any]:
    """The stored document (NotFoundError when it is not this org's)."""
    return await ctx.repo(ConnectorsRepository).get(connector_id)


async def list_connectors(
    ctx: TenantContext, *, page_size: int = 50, continuation: str | None = None
) -> QueryPage[dict[str, Any]]:
    """One page of the org's connectors, by name."""
    return await ctx.repo(ConnectorsRepository).query_page(
        order_by="c.name", page_size=page_size, continuation=continuation
    )


def _merge(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`patch` over `current`; `auth` merges field by field unless its type changes."""
    out = dict(current)
    for key, value in patch.items():
        if (
            key == "auth"
            and isinstance(value, Mapping)
            and isinstance(current.get("auth"), Mapping)
            and value.get("type", current["auth"].get("type")) == current["auth"].get("type")
        ):
            out["auth"] = {**current["auth"], **value}
        else:
            out[key] = value
    return out


async def update_connector(
    ctx: TenantContext,
    connector_id: str,
    *,
    actor: str,
    name: str | None = None,
    connection: Mapping[str, Any] | None = None,
    request: RequestInfo | None = None,
    allow_loopback: bool | None = None,
    resolver: Resolver | None = None,
) -> dict[str, Any]:
    """Rename and/or change the connection. Secret fields not sent keep their value (while
    the auth type stays the same); sent ones replace it. The kind cannot change."""
    repo = ctx.repo(ConnectorsRepository)
    doc = await repo.get(connector_id)
    changed: list[str] = []
    new = dict(doc)
    if name is not None and name != doc["name"]:
        new["name"] = name
        changed.append("name")
    if connection is not None:
        if not isinstance(connection, Mapping):
            raise ValidationFailed(
                "connection: must be an object", errors=[{"field": CONNECTION_FIELD, "message": "must be an object"}]
            )
        if connection.get("kind", doc["kind"]) != doc["kind"]:
            field = f"{CONNECTION_FIELD}.kind"
            raise ValidationFailed(
                f"{field}: a connector's kind cannot change; create a new connector",
                errors=[{"field": field, "message": "cannot change"}],
            )
        vault = vault_for(ctx)
        try:
            secrets = await vault.decrypt_fields(ctx.tenant_id, connector_id, doc.get("sealed", {}))
        except DecryptionError:
            # The old secrets are unreadable (keys destroyed): the patch must supply them.
            secrets = {}
        current = _joined_dict(doc.get("public", {}), secrets)
        model = validate_connection(_merge(current, {**connection, "kind": doc["kind"]}))
        await check_destination(model, allow_loopback=allow_loopback_for(ctx, allow_loopback), resolver=resolver)
        _require_secrets_for_new_host(doc, current, model, connection)
        public, sealed = await seal_connection(vault, ctx.tenant_id, connector_id, model)
        new["public"], new["sealed"] = public, sealed
        changed += sorted({k for k in connection if k != "kind"})
    if not changed:
        return doc
    new.update(updatedAt=iso(utcnow()), updatedBy=actor, version=int(doc.get("version", 1)) + 1)
    saved = await repo.replace(new, etag=doc["_etag"])
    await audit.record(
        ctx,
        "connector.updated",
        actor=actor,
        target=connector_id,
        request=request,
        detail={"kind": doc["kind"], "changed": changed},
    )
    return saved


def _sent(connection: Mapping[str, Any], path: str) -> bool:
    target: Any = connection
    for part in path.split("."):
        if not isinstance(target, Mapping) or part not in target:
            return False
        target = target[part]
    return True


def _require_secrets_for_new_host(
    doc: Mapping[str, Any], current: Mapping[str, Any], model: ConnectionBase, connection: Mapping[str, Any]
) -> None:
    """A connection moved to another API root must carry its secrets again: the stored ones
    were given for the old host and must never be sent to a new one (`/test` would)."""
    try:
        before = validate_connection(current).effective_base_url()
    except ValidationFailed:
        return  # the stored connection no longer validates: the patch replaces it wholesale
    if httpx.URL(before).netloc == httpx.URL(model.effective_base_url()).netloc:
        return
    missing = [path for path in sorted(doc.get("sealed", {})) if not _sent(connection, path)]
    if missing:
        errors = [
            {"field": f"{CONNECTION_FIELD}.{path}", "message": "required again when the host changes"}
            for path in missing
        ]
        raise ValidationFailed(f"{errors[0]['field']}: send the secrets again with a new host", errors=errors)


def _joined_dict(public: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """The full connection as a plain dict (secrets in clear; only ever kept in memory)."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in public.items()}
    for path, value in secrets.items():
        target = out
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return out


async def delete_connector(
    ctx: TenantContext, connector_id: str, *, actor: str, request: RequestInfo | None = None
) -> None:
    """Delete the connector and its sealed secrets (NotFoundError when there is none)."""
    repo = ctx.repo(ConnectorsRepository)
    doc = await repo.get(connector_id)
    await repo.delete(connector_id)
    await audit.record(
        ctx,
        "connector.deleted",
        actor=actor,
        target=connector_id,
        request=request,
        detail={"kind": doc["kind"], "name": doc["name"]},
    )


# --- using a connector -------------------------------------------------------------------


UNREADABLE_SECRETS = "the stored secrets cannot be decrypted; enter them again"


async def connection_of(ctx: TenantContext, doc: Mapping[str, Any]) -> ConnectionBase:
    try:
        return await unseal_connection(
            vault_for(ctx), ctx.tenant_id, doc["id"], doc.get("public", {}), doc.get("sealed", {})
        )
    except DecryptionError as exc:
        # Keys destroyed or ciphertext damaged: like refused credentials, a person must
        # enter them again (a run pauses with a "reconnect" reason).
        raise AuthRequiredError(UNREADABLE_SECRETS) from exc


async def load_connection(ctx: TenantContext, connector_id: str) -> ConnectionBase:
    """The validated connection with its secrets decrypted (in memory only).

    NotFoundError when the org has no such connector; AuthRequiredError when its secrets
    cannot be decrypted any more.
    """
    return await connection_of(ctx, await get_connector(ctx, connector_id))


async def open_connector(
    ctx: TenantContext,
    connector_id: str,
    *,
    allow_loopback: bool | None = None,
    pacer_for: Callable[[ConnectionBase], Awaitable[Pacer]] | None = None,
) -> ConnectorRuntime:
    """A live reader/writer of a stored connector (the worker's entry point). ``pacer_for``
    picks the pacer of its credential (the worker's draws on the credential's shared budget);
    without it the registry's process-wide pacer is used."""
    connection = await load_connection(ctx, connector_id)
    pacer = await pacer_for(connection) if pacer_for is not None else None
    return await open_runtime(
        connection,
        allow_loopback=allow_loopback_for(ctx, allow_loopback),
        pacer=pacer,
        secrets=stored_secrets(ctx, connector_id),
    )


def stored_secrets(ctx: TenantContext, connector_id: str) -> StoredSecrets:
    """Where a runtime of this connector stores the secrets its vendor rotates (a rotating
    refresh token is sealed again before it is used: the next worker and run need it)."""
    return StoredSecrets(ctx.repo(ConnectorsRepository), vault_for(ctx), connector_id)


def _message(exc: BaseException) -> str:
    text = exc.detail if isinstance(exc, FerryError) else (str(exc) or type(exc).__name__)
    return redact(text)[:MAX_MESSAGE]


def classify_failure(exc: BaseException) -> CheckStatus:
    """What a failed identity call means to the person testing the connector."""
    if isinstance(exc, (AuthRequiredError, AuthenticationError, PermissionDeniedError)):
        return "authentication_failed"
    if isinstance(
        exc, (UnsafeDestinationError, TransientError, DeferChunk, httpx.TransportError, OSError, TimeoutError)
    ):
        return "unreachable"
    return "error"


def describe_failure(exc: BaseException) -> tuple[CheckStatus, str]:
    """The status and message of a failed vendor call, the same for `/test` and `/containers`.

    An error Ferry did not classify (a 302 with an empty body, `{}` where a list or a token
    was due, a token answer without `access_token`…) is the vendor answering something
    unexpected; its message names that, never the parser's internals."""
    status = classify_failure(exc)
    if status == "error" and not isinstance(exc, FerryError):
        return status, f"the vendor's answer was not what its API documents ({type(exc).__name__})"
    return status, _message(exc)


def failure_problem(exc: BaseException) -> FerryError:
    """The API problem of a failed vendor call (`/containers`): 424 credentials refused,
    502 unreachable or an unexpected answer, with the message `/test` would show."""
    status, message = describe_failure(exc)
    if status == "authentication_failed":
        return AuthRequiredError(message)
    if status == "unreachable":
        return TransientError(f"the vendor could not be reached: {message}")
    return RemoteError(message)


async def run_connection_test(
    ctx: TenantContext, connector_id: str, *, allow_loopback: bool | None = None
) -> dict[str, Any]:
    """Call the vendor's identity endpoint through the connector (`whoami`).

    Answers `{"status": ok | authentication_failed | unreachable | error, "message",
    "account", "testedAt"}`; the message is the vendor's (or the network's), redacted.
    A connector of another org, or none, is NotFoundError; a kind without runtime is
    ValidationFailed.
    """
    doc = await get_connector(ctx, connector_id)
    runtime: ConnectorRuntime | None = None
    try:
        connection = await connection_of(ctx, doc)
        runtime = await open_runtime(
            connection,
            allow_loopback=allow_loopback_for(ctx, allow_loopback),
            pacer=probe_pacer(connection),
            secrets=stored_secrets(ctx, connector_id),
        )
        side = runtime.reader or runtime.writer
        assert side is not None, "a runtime has a reader or a writer"
        who = await asyncio.wait_for(side.whoami(), TEST_TIMEOUT_S)
    except ValidationFailed:
        raise  # a kind that cannot be opened yet: the request is at fault
    except Exception as exc:
        status, message = describe_failure(exc)
        if status == "error":
            log.warning("connector test failed unexpectedly: %s: %s", type(exc).__name__, message)
        return {"status": status, "message": message, "account": None, "testedAt": iso(utcnow())}
    finally:
        if runtime is not None:
            await runtime.aclose()
    account = {"displayName": who.display_name, "email": who.email, "id": who.source_id}
    return {"status": "ok", "message": None, "account": account, "testedAt": iso(utcnow())}


async def list_containers(
    ctx: TenantContext, connector_id: str, *, allow_loopback: bool | None = None
) -> list[Container]:
    """The workspaces and project-level containers the connector's source can read.

    Fails as `/test` reports (`failure_problem`): credentials refused → AuthRequiredError
    (424); vendor or network trouble → TransientError (502); an answer the connector did
    not expect → RemoteError (502); all with redacted messages.
    """
    doc = await get_connector(ctx, connector_id)
    runtime: ConnectorRuntime | None = None
    try:
        connection = await connection_of(ctx, doc)
        runtime = await open_runtime(
            connection,
            allow_loopback=allow_loopback_for(ctx, allow_loopback),
            pacer=probe_pacer(connection),
            secrets=stored_secrets(ctx, connector_id),
        )  # a person is waiting: fail fast
        if runtime.reader is None:
            raise ValidationFailed(
                "this connector cannot be a source",
                field="connectorId",
                errors=[{"field": "connectorId", "message": "not a source"}],
            )
        return await asyncio.wait_for(runtime.reader.list_containers(), TEST_TIMEOUT_S)
    except ValidationFailed:
        raise  # the request is at fault
    except Exception as exc:
        status, message = describe_failure(exc)
        if status == "error":
            log.warning("listing containers failed unexpectedly: %s: %s", type(exc).__name__, message)
        raise failure_problem(exc) from exc
    finally:
        if runtime is not None:
            await runtime.aclose()
