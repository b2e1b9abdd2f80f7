"""Development OIDC issuer for local runs and tests (never deployed).

Serves what `shared.identity.oidc.OidcValidator` reads from a real issuer — the
discovery document at `/.well-known/openid-configuration` and the JWKS at `/jwks` — and
mints RS256 tokens for any email, so local runs and tests go through exactly the
production validation path (there is no "auth off" switch).

RSA keys are persisted as PEM in `<key_dir>/dev-issuer-keys.json` (the local runner uses
the git-ignored `.ferry/`), so tokens minted by `ferry token EMAIL` in another process
verify against the issuer the runner serves. `rotate()` adds a key and signs with it;
older keys stay published so tokens already minted keep working.

The issuer URL is `http://127.0.0.1:{port}`: the validator accepts plain http only for
loopback issuers.

Command line (the `ferry` CLI wraps these)::

    python -m tools.dev_issuer serve --port 8765 --keys .ferry/dev-issuer
    python -m tools.dev_issuer token alice@example.com --port 8765 --keys .ferry/dev-issuer
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_PORT = 8765
DEFAULT_AUDIENCE = "api://ferry-local"
KEY_FILE = "dev-issuer-keys.json"
_SUBJECT_NAMESPACE = uuid.UUID("6f1c1a4e-2b1d-4c55-9a53-5d0f3e7c9b10")


def issuer_url(port: int, host: str = "127.0.0.1") -> str:
    """The issuer URL of a development issuer listening on `port`."""
    return f"http://{host}:{port}"


def subject_for(email: str) -> str:
    """Stable `sub` for an email, so one person keeps one subject across tokens."""
    return str(uuid.uuid5(_SUBJECT_NAMESPACE, email.strip().lower()))


class DevIssuer:
    """Keys, token minting and the ASGI app of the development issuer."""

    def __init__(self, key_dir: str | os.PathLike[str], *, issuer: str | None = None) -> None:
        self.key_dir = Path(key_dir)
        self.issuer = issuer or issuer_url(DEFAULT_PORT)
        self.jwks_requests = 0
        self.discovery_requests = 0
        self._lock = threading.Lock()
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self._loaded_mtime: int | None = None
        self._reload_if_changed()
        if not self._keys:
            self.rotate()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery_endpoint),
                Route("/jwks", self._jwks_endpoint),
            ]
        )

    # --- keys ---------------------------------------------------------------------

    @property
    def _path(self) -> Path:
        return self.key_dir / KEY_FILE

    def _reload_if_changed(self) -> None:
        """Pick up keys another process (e.g. `ferry token`, a rotation) wrote."""
        try:
            mtime = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        with self._lock:
            if mtime == self._loaded_mtime:
                return
            stored = json.loads(self._path.read_text(encoding="utf-8"))
            keys = []
            for entry in stored["keys"]:
                private = serialization.load_pem_private_key(
                    entry["private_pem"].encode("ascii"), password=None
                )
                assert isinstance(private, rsa.RSAPrivateKey)
                keys.append((entry["kid"], private))
            self._keys = keys
            self._loaded_mtime = mtime

    def _save(self) -> None:
        self.key_dir.mkdir(parents=True, exist_ok=True)
        entries = [
            {
                "kid": kid,
                "private_pem": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
            }
            for kid, key in self._keys
        ]
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": entries}, handle)
        os.replace(tmp, self._path)
        self._loaded_mtime = self._path.stat().st_mtime_ns

    def rotate(self) -> str:
        """Add a new signing key, publish it and sign new tokens with it; returns its kid."""
        self._reload_if_changed()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = f"dev-{uuid.uuid4().hex[:16]}"
        with self._lock:
            self._keys.append((kid, key))
            self._save()
        return kid

    @property
    def current_kid(self) -> str:
        """The kid new tokens are signed with."""
        return self._keys[-1][0]

    def public_pem(self, kid: str | None = None) -> bytes:
        """PEM of a public key (tests use it to forge key-confusion tokens)."""
        private = self._private(kid)
        return private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def _private(self, kid: str | None) -> rsa.RSAPrivateKey:
        if kid is None:
            return self._keys[-1][1]
        for known, key in self._keys:
            if known == kid:
                return key
        raise KeyError(kid)

    def jwks(self) -> dict[str, Any]:
        """The published key set: every key ever created here, newest last."""
        self._reload_if_changed()
        keys = []
        for kid, private in self._keys:
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def discovery(self) -> dict[str, Any]:
        """The subset of the OIDC discovery document a resource server needs."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
        }

    # --- tokens -------------------------------------------------------------------

    def mint(
        self,
        email: str,
        name: str | None = None,
        /,
        *,
        audience: str | None = DEFAULT_AUDIENCE,
        ttl: int = 3600,
        kid: str | None = None,
        now: float | None = None,
        **claims: Any,
    ) -> str:
        """An RS256 token for `email` from this issuer.

        `email` and `name` are positional so that `email=`/`name=` keywords can
        override the claims themselves. Extra `claims` are added or override the
        defaults; a claim given as None is left out (e.g. `exp=None` for a token without
        expiry, to test rejection).
        `kid` signs with an older key; `now` fixes the issue time.
        """
        self._reload_if_changed()
        issued = int(time.time() if now is None else now)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject_for(email),
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
            "email": email,
            "name": name,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signing_kid = kid or self.current_kid
        return jwt.encode(
            payload, self._private(signing_kid), algorithm="RS256", headers={"kid": signing_kid}
        )

    # --- HTTP ---------------------------------------------------------------------

    async def _discovery_endpoint(self, request: Request) -> JSONResponse:
        self.discovery_requests += 1
        return JSONResponse(self.discovery())

    async def _jwks_endpoint(self, request: Request) -> JSONResponse:
        self.jwks_requests += 1
        return JSONResponse(self.jwks(), headers={"Cache-Control": "max-age=300"})

    @contextlib.contextmanager
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve the issuer on loopback in a background thread; yields the issuer URL.

        `port=0` picks a free port. `self.issuer` is set to the served URL, so tokens
        minted inside the block carry the right `iss`.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only for IPPROTO_TCP
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.issuer = issuer_url(sock.getsockname()[1], host)
        server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="dev-issuer", daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("development issuer did not start")
                time.sleep(0.01)
            yield self.issuer
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


def mint_dev_token(
    email: str,
    *,
    key_dir: str | os.PathLike[str],
    port: int = DEFAULT_PORT,
    audience: str = DEFAULT_AUDIENCE,
    name: str | None = None,
    ttl: int = 3600,
) -> str:
    """What `ferry token EMAIL` prints: a token from the issuer the runner serves."""
    return DevIssuer(key_dir, issuer=issuer_url(port)).mint(
        email, name, audience=audience, ttl=ttl
    )


def main(argv: list[str] | None = None) -> int:
    """`serve` the development issuer or print a `token` for an email."""
    parser = argparse.ArgumentParser(prog="python -m tools.dev_issuer")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="serve discovery + JWKS on loopback")
    token_cmd = sub.add_parser("token", help="print a token for EMAIL")
    token_cmd.add_argument("email")
    token_cmd.add_argument("--name")
    token_cmd.add_argument("--audience", default=DEFAULT_AUDIENCE)
    token_cmd.add_argument("--ttl", type=int, default=3600)
    for cmd in (serve_cmd, token_cmd):
        cmd.add_argument("--port", type=int, default=DEFAULT_PORT)
        cmd.add_argument("--keys", default=".ferry/dev-issuer", help="key folder")
    args = parser.parse_args(argv)
    if args.command == "token":
        print(
            mint_dev_token(
                args.email,
                key_dir=args.keys,
                port=args.port,
                audience=args.audience,
                name=args.name,
                ttl=args.ttl,
            )
        )
        return 0
    issuer = DevIssuer(args.keys, issuer=issuer_url(args.port))
    uvicorn.run(issuer.app, host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
