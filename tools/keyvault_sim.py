"""A small local simulator of the Azure Key Vault *keys* REST API (no emulator exists).

Enough for the real `azure-keyvault-keys` clients (sync and aio) to run Ferry's production
key-wrapping path: get key (latest or a version), list keys and key versions, create and
rotate a key (a new version), wrapkey/unwrapkey and encrypt/decrypt with RSA-OAEP-256,
RSA-OAEP or RSA1_5, delete. Auth follows Key Vault's bearer challenge: a call without
`Authorization: Bearer ...` answers 401 with
`WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
resource="https://vault.azure.net"`; any non-empty bearer token is accepted unless a
`token_check` says otherwise. State is in memory, or in `state_dir` when given.

REST reference: https://learn.microsoft.com/rest/api/keyvault/keys/

Clients must be built with `verify_challenge_resource=False` (the resource is not
127.0.0.1) and `connection_verify=False` or the generated certificate as CA.

    with serve(0, cert_dir) as kv:          # HTTPS on 127.0.0.1, self-signed cert
        client = KeyClient(kv.url, credential, verify_challenge_resource=False,
                           connection_verify=False)

Run alone: `python -m tools.keyvault_sim --port 8443 --cert-dir .ferry/keyvault-sim
--state-dir .ferry/keyvault-sim/keys --key ferry-kek`.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import ipaddress
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

SIM_TENANT = "00000000-0000-0000-0000-00000000cafe"
CHALLENGE = f'Bearer authorization="https://login.microsoftonline.com/{SIM_TENANT}", resource="https://vault.azure.net"'
KEY_OPS = ["encrypt", "decrypt", "wrapKey", "unwrapKey"]


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def _padding(alg: str) -> padding.AsymmetricPadding | None:
    if alg == "RSA-OAEP-256":
        return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    if alg == "RSA-OAEP":
        return padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    if alg == "RSA1_5":
        return padding.PKCS1v15()
    return None


@dataclass
class KeyVersion:
    version: str
    private: rsa.RSAPrivateKey
    created: int
    enabled: bool = True


@dataclass
class KeyVaultSimulator:
    """In-memory vault state and the ASGI app serving it (`.app`)."""

    key_size: int = 2048
    token_check: Callable[[str], bool] | None = None
    #: when set, keys persist there (`<name>/<version>.pem` + `<name>/versions`), so a
    #: local runner keeps its key-encryption keys across restarts; else memory only
    state_dir: Path | None = None
    keys: dict[str, list[KeyVersion]] = field(default_factory=dict)
    #: (method, path, status) of every request, for tests
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.state_dir is None or not Path(self.state_dir).is_dir():
            return
        for key_dir in sorted(p for p in Path(self.state_dir).iterdir() if p.is_dir()):
            index = key_dir / "versions"
            for line in index.read_text("ascii").split() if index.exists() else []:
                version, created = line.split(":")
                private = serialization.load_pem_private_key((key_dir / f"{version}.pem").read_bytes(), password=None)
                if not isinstance(private, rsa.RSAPrivateKey):
                    raise ValueError(f"{key_dir / version}.pem is not an RSA private key")
                self.keys.setdefault(key_dir.name, []).append(KeyVersion(version, private, int(created)))

    def create_key(self, name: str) -> KeyVersion:
        """Add a new version of key `name` (creating the key); it becomes the latest."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)
        version = KeyVersion(uuid.uuid4().hex, private, int(time.time()))
        with self._lock:
            self.keys.setdefault(name, []).append(version)
            if self.state_dir is not None:
                key_dir = Path(self.state_dir) / name
                key_dir.mkdir(parents=True, exist_ok=True)
                pem = key_dir / f"{version.version}.pem"
                pem.write_bytes(
                    private.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                    )
                )
                pem.chmod(0o600)
                with (key_dir / "versions").open("a", encoding="ascii") as index:
                    index.write(f"{version.version}:{version.created}\n")
        return version

    def ensure_key(self, name: str) -> None:
        """Create key `name` unless it exists (persisted keys are kept)."""
        if self._find(name, None) is None:
            self.create_key(name)

    # --- ASGI ---------------------------------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        routes = [
            Route("/keys", self._list_keys, methods=["GET"]),
            Route("/keys/{name}/create", self._create, methods=["POST"]),
            Route("/keys/{name}/rotate", self._rotate, methods=["POST"]),
            Route("/keys/{name}/versions", self._versions, methods=["GET"]),
            Route("/keys/{name}/{version}/{op}", self._operation, methods=["POST"]),
            Route("/keys/{name}/{version}", self._get, methods=["GET"]),
            Route("/keys/{name}/", self._get, methods=["GET"]),
            Route("/keys/{name}", self._get_or_delete, methods=["GET", "DELETE"]),
        ]
        app = Starlette(routes=routes)
        app.router.redirect_slashes = False
        return _AuthAndRecord(app, self)

    def _bundle(self, request: Request, name: str, kv: KeyVersion) -> dict[str, Any]:
        numbers = kv.private.public_key().public_numbers()
        return {
            "key": {
                "kid": self._kid(request, name, kv.version),
                "kty": "RSA",
                "key_ops": KEY_OPS,
                "n": _b64u(_int_bytes(numbers.n)),
                "e": _b64u(_int_bytes(numbers.e)),
            },
            "attributes": self._attributes(kv),
        }

    @staticmethod
    def _attributes(kv: KeyVersion) -> dict[str, Any]:
        return {
            "enabled": kv.enabled,
            "created": kv.created,
            "updated": kv.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
            "exportable": False,
        }

    @staticmethod
    def _kid(request: Request, name: str, version: str | None = None) -> str:
        base = str(request.base_url).rstrip("/")
        return f"{base}/keys/{name}" + (f"/{version}" if version else "")

    def _find(self, name: str, version: str | None) -> KeyVersion | None:
        with self._lock:
            versions = self.keys.get(name, [])
            if not versions:
                return None
            if not version:
                return versions[-1]
            return next((v for v in versions if v.version == version), None)

    async def _get(self, request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params.get("version")
        kv = self._find(name, version)
        if kv is None:
            return _error(404, "KeyNotFound", f"A key with (name/id) {name} was not found")
        return JSONResponse(self._bundle(request, name, kv))

    async def _get_or_delete(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._get(request)
        name = request.path_params["name"]
        kv = self._find(name, None)
        if kv is None:
            return _error(404, "KeyNotFound", f"A key with (name/id) {name} was not found")
        body = self._bundle(request, name, kv)
        with self._lock:
            del self.keys[name]
            if self.state_dir is not None:  # a deleted key is gone for good here (no soft delete)
                key_dir = Path(self.state_dir) / name
                for path in key_dir.glob("*"):
                    path.unlink()
                key_dir.rmdir()
        return JSONResponse(
            {
                **body,
                "recoveryId": f"{str(request.base_url).rstrip('/')}/deletedkeys/{name}",
                "deletedDate": int(time.time()),
                "scheduledPurgeDate": int(time.time()) + 90 * 86400,
            }
        )

    async def _create(self, request: Request) -> Response:
        body = await _json(request)
        if body.get("kty", "RSA") not in ("RSA", "RSA-HSM"):
            return _error(400, "BadParameter", "only RSA keys are simulated")
        name = request.path_params["name"]
        return JSONResponse(self._bundle(request, name, self.create_key(name)))

    async def _rotate(self, request: Request) -> Response:
        name = request.path_params["name"]
        if self._find(name, None) is None:
            return _error(404, "KeyNotFound", f"A key with (name/id) {name} was not found")
        return JSONResponse(self._bundle(request, name, self.create_key(name)))

    async def _versions(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            versions = list(self.keys.get(name, []))
        if not versions:
            return _error(404, "KeyNotFound", f"A key with (name/id) {name} was not found")
        return JSONResponse(
            {
                "value": [
                    {"kid": self._kid(request, name, v.version), "attributes": self._attributes(v)} for v in versions
                ],
                "nextLink": None,
            }
        )

    async def _list_keys(self, request: Request) -> Response:
        with self._lock:
            latest = {name: versions[-1] for name, versions in self.keys.items() if versions}
        return JSONResponse(
            {
                "value": [
                    {"kid": self._kid(request, name), "attributes": self._attributes(v)} for name, v in latest.items()
                ],
                "nextLink": None,
            }
        )

    async def _operation(self, request: Request) -> Response:
        name, version, op = (request.path_params[k] for k in ("name", "version", "op"))
        if op not in ("wrapkey", "unwrapkey", "encrypt", "decrypt"):
            return _error(404, "NotFound", f"operation {op} is not simulated")
        kv = self._find(name, version)
        if kv is None:
            return _error(404, "KeyNotFound", f"A key with (name/id) {name}/{version} was not found")
        body = await _json(request)
        pad = _padding(str(body.get("alg", "")))
        if pad is None:
            return _error(400, "BadParameter", "unsupported algorithm")
        try:
            value = _unb64u(str(body["value"]))
            if op in ("wrapkey", "encrypt"):
                out = kv.private.public_key().encrypt(value, pad)
            else:
                out = kv.private.decrypt(value, pad)
        except (KeyError, ValueError):
            return _error(400, "BadParameter", "the value could not be processed")
        return JSONResponse({"kid": self._kid(request, name, kv.version), "value": _b64u(out)})


class _AuthAndRecord:
    """ASGI middleware: bearer challenge before anything else, and a call log."""

    def __init__(self, app: Starlette, sim: KeyVaultSimulator) -> None:
        self._app = app
        self._sim = sim

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status: list[int] = []

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                # recorded before the answer leaves: a client that has its answer finds the call
                self._sim.calls.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token or (self._sim.token_check and not self._sim.token_check(token)):
            response = _error(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
                headers={"WWW-Authenticate": CHALLENGE},
            )
            await response(scope, receive, recording_send)
        else:
            await self._app(scope, receive, recording_send)
        if not status:  # the app answered nothing (a dropped connection)
            self._sim.calls.append((scope["method"], scope["path"], 0))


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


# --- TLS and serving ------------------------------------------------------------------


def generate_self_signed_cert(cert_dir: str | Path) -> tuple[Path, Path]:
    """Write `cert.pem` / `key.pem` (ECDSA P-256, SAN IP:127.0.0.1 and DNS:localhost)."""
    directory = Path(cert_dir)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyvault-sim.local")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass(frozen=True)
class RunningSimulator:
    """A simulator being served: its vault URL, port, certificate and state."""

    url: str
    port: int
    cert_file: Path
    sim: KeyVaultSimulator


@contextmanager
def serve(
    port: int = 0,
    cert_dir: str | Path = ".ferry/keyvault-sim",
    *,
    sim: KeyVaultSimulator | None = None,
    keys: tuple[str, ...] = (),
) -> Iterator[RunningSimulator]:
    """Serve the simulator over HTTPS on 127.0.0.1:`port` (0 = a free port) in a thread.

    `keys` are created before serving unless they exist. Stops the server when the block
    ends. Pass `sim=KeyVaultSimulator(state_dir=...)` to keep keys across restarts.
    """
    import uvicorn

    sim = sim or KeyVaultSimulator()
    for name in keys:
        sim.ensure_key(name)
    cert_file, key_file = generate_self_signed_cert(cert_dir)
    sock = socket.socket(
        socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )  # asyncio sets TCP_NODELAY only for IPPROTO_TCP
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(
        sim.app,
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="keyvault-sim", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:  # readiness poll, not a timing assertion
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("Key Vault simulator did not start")
            time.sleep(0.01)
        yield RunningSimulator(f"https://127.0.0.1:{actual_port}", actual_port, cert_file, sim)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: list[str] | None = None) -> None:
    """Run the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert-dir", default=".ferry/keyvault-sim")
    parser.add_argument("--key", action="append", default=[], help="key to create at start")
    parser.add_argument("--state-dir", default=None, help="persist keys here (default: memory only)")
    args = parser.parse_args(argv)
    sim = KeyVaultSimulator(state_dir=Path(args.state_dir) if args.state_dir else None)
    with serve(args.port, args.cert_dir, sim=sim, keys=tuple(args.key)) as running:
        print(f"Key Vault simulator at {running.url} (cert {running.cert_file})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
