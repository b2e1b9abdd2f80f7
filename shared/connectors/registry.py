"""Runtime registry: from a validated connection to a live reader and writer.

Each vendor package registers a factory in its `runtime.py`
(`register_runtime("trello", open_trello, rate_limit=TRELLO_RATE_LIMIT)`); the registry
imports `shared.connectors.<kind>.runtime` on first use, so the function app's cold start
does not pay for connectors it does not use.

A factory receives the connection and `RuntimeOptions` (loopback policy, the pacer and, for
credentials that rotate, the `SecretKeeper` that stores a rotated secret) and
builds its vendor client with `shared.net.http.build_client(kind, allow_loopback=...,
base_url=connection.effective_base_url())`: every remote call goes through the SSRF guard
and the pacer. Reader and writer of one runtime share the client and the pacer.

Pacers: one per credential in this process (`PacerRegistry`), keyed by a keyed hash of the
connection's secrets (HMAC with a per-process random key: the key names the credential
without holding it, and is useless outside this process). The connection test uses a
separate, impatient pacer per credential (`probe_pacer`) so a dead host answers in seconds,
not minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.connectors.kit.rotation import SecretKeeper
from shared.connectors.settings import ConnectionBase, credential_identity, registered_kinds
from shared.contract.connector import DestinationWriter, SourceReader
from shared.contract.limits import RateLimit
from shared.contract.pacer import Pacer, PacerRegistry, PacerSettings
from shared.errors import ValidationFailed

#: Settings of the pacer of interactive calls (`POST …/connectors/{id}/test`, `GET
#: …/containers`): a person is waiting, so few retries and short waits; a longer wait
#: than `defer_threshold_s` fails the call (the API answers "try again later").
PROBE_SETTINGS = PacerSettings(
    defer_threshold_s=3.0, max_retries=2, max_throttles=3, backoff_base_s=0.2, backoff_cap_s=1.0
)


class ConnectorRuntime(Protocol):
    """A live connector: `reader` and/or `writer` (None when the kind cannot be one)."""

    @property
    def reader(self) -> SourceReader | None: ...

    @property
    def writer(self) -> DestinationWriter | None: ...

    async def aclose(self) -> None:
        """Close the HTTP clients (idempotent)."""
        ...


@dataclass
class SimpleRuntime:
    """The usual runtime: a reader, a writer and the things to close once."""

    reader: SourceReader | None
    writer: DestinationWriter | None
    closers: tuple[Callable[[], Awaitable[Any]], ...] = ()
    _closed: bool = False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        for close in self.closers:
            await close()


@dataclass(frozen=True)
class RuntimeOptions:
    """What a factory gets besides the connection. ``secrets`` keeps the connection's secrets
    between runs (the connections layer seals them in the vault): a connector whose refresh
    tokens rotate stores each new one there before using it; None where nothing is stored
    (tests, scripts), and then a rotated token lives in memory only."""

    allow_loopback: bool
    pacer: Pacer
    secrets: SecretKeeper | None = None


RuntimeFactory = Callable[[ConnectionBase, RuntimeOptions], Awaitable[ConnectorRuntime]]


@dataclass(frozen=True)
class _Entry:
    factory: RuntimeFactory
    rate_limit: RateLimit


_FACTORIES: dict[str, _Entry] = {}
_PACERS = PacerRegistry()
_PROBE_PACERS = PacerRegistry(settings=PROBE_SETTINGS)
_FINGERPRINT_KEY = secrets.token_bytes(32)
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")  # only plain kind names become module paths


def register_runtime(kind: str, factory: RuntimeFactory, *, rate_limit: RateLimit) -> None:
    """Register the factory of connector `kind` and the vendor's documented rate limit."""
    _FACTORIES[kind] = _Entry(factory, rate_limit)


def _entry(kind: str) -> _Entry:
    if kind not in _FACTORIES and _KIND_NAME.fullmatch(kind):
        try:
            importlib.import_module(f"shared.connectors.{kind}.runtime")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"shared.connectors.{kind}", f"shared.connectors.{kind}.runtime"):
                raise  # a real import error inside the connector: do not hide it
    entry = _FACTORIES.get(kind)
    if entry is None:
        raise ValidationFailed(
            f"kind: connectors of kind {kind!r} cannot be used yet",
            field="kind",
            errors=[{"field": "kind", "message": "this connector kind is not available yet"}],
        )
    return entry


def has_runtime(kind: str) -> bool:
    """Whether `kind` can be opened (its runtime module exists and registered itself)."""
    try:
        _entry(kind)
    except ValidationFailed:
        return False
    return True


def available_kinds() -> tuple[str, ...]:
    """The kinds that can be opened now, in registration order: the one list of vendors that
    the CLI, the demo and the tests offer (the connection models of ``settings`` may name
    kinds whose connector is not built yet)."""
    return tuple(kind for kind in registered_kinds() if has_runtime(kind))


def rate_limit_of(kind: str) -> RateLimit:
    """The documented per-credential limit the pacer of `kind` is built from."""
    return _entry(kind).rate_limit


def credential_key(connection: ConnectionBase) -> str:
    """Names the credential of `connection` without holding it (HMAC, per-process key)."""
    public, secret_values = credential_identity(connection)  # a rotated token is the same credential
    material = json.dumps({"public": public, "secrets": secret_values}, sort_keys=True).encode()
    digest = hmac.new(_FINGERPRINT_KEY, material, hashlib.sha256).hexdigest()[:32]
    return f"{connection.kind}:{digest}"


def shared_pacer(connection: ConnectionBase) -> Pacer:
    """The process-wide pacer of this credential (created on first use)."""
    return _PACERS.get(credential_key(connection), rate_limit_of(connection.kind))


def probe_pacer(connection: ConnectionBase) -> Pacer:
    """The credential's pacer for quick probes (connection tests): few retries, short waits,
    and the same documented rate, so repeated tests of one credential are paced too."""
    return _PROBE_PACERS.get(credential_key(connection), rate_limit_of(connection.kind))


async def open_runtime(
    connection: ConnectionBase,
    *,
    allow_loopback: bool,
    pacer: Pacer | None = None,
    secrets: SecretKeeper | None = None,
) -> ConnectorRuntime:
    """Open a live connector for `connection`; close it with `await runtime.aclose()`.

    `allow_loopback` comes from settings (local mode only). `pacer` defaults to the
    credential's process-wide pacer. `secrets` stores secrets the vendor rotates (see
    `RuntimeOptions`). Raises ValidationFailed for a kind without runtime and
    `UnsafeDestinationError` when the guard refuses the connection's base URL.
    """
    entry = _entry(connection.kind)
    options = RuntimeOptions(allow_loopback=allow_loopback, pacer=pacer or shared_pacer(connection), secrets=secrets)
    return await entry.factory(connection, options)
