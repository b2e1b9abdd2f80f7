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

For the web console it is also a small OIDC provider (authorization code + PKCE, public
clients only): `/authorize` shows a sign-in page that accepts any email (no password: it
is a development issuer) and redirects back with a one-time code; `/token` exchanges the
code for an access token (audience `api://ferry-local`), an ID token (audience the client
id, with the request's nonce) and a refresh token (rotated on each use), checking the PKCE
verifier (S256 only); `/logout` ends the issuer's session. Redirect URIs must be loopback
http(s) URLs. `prompt=none` answers `login_required` without a session cookie.

Command line (the `ferry` CLI wraps these)::

    python -m tools.dev_issuer serve --port 8765 --keys .ferry/dev-issuer
    python -m tools.dev_issuer token alice@example.com --port 8765 --keys .ferry/dev-issuer
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

DEFAULT_PORT = 8765
DEFAULT_AUDIENCE = "api://ferry-local"
KEY_FILE = "dev-issuer-keys.json"
_SUBJECT_NAMESPACE = uuid.UUID("6f1c1a4e-2b1d-4c55-9a53-5d0f3e7c9b10")
SESSION_COOKIE = "ferry_dev_session"
CODE_TTL = 120
REFRESH_TTL = 8 * 3600
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def issuer_url(port: int, host: str = "127.0.0.1") -> str:
    """The issuer URL of a development issuer listening on `port`."""
    return f"http://{host}:{port}"


def subject_for(email: str) -> str:
    """Stable `sub` for an email, so one person keeps one subject across tokens."""
    return str(uuid.uuid5(_SUBJECT_NAMESPACE, email.strip().lower()))


class DevIssuer:
    """Keys, token minting and the ASGI app of the development issuer."""

    def __init__(
        self, key_dir: str | os.PathLike[str], *, issuer: str | None = None, audience: str = DEFAULT_AUDIENCE
    ) -> None:
        self.key_dir = Path(key_dir)
        self.issuer = issuer or issuer_url(DEFAULT_PORT)
        self.audience = audience
        #: lifetime of access tokens issued by `/token` (tests shorten it to see renewal)
        self.access_ttl = 3600
        self.jwks_requests = 0
        self.discovery_requests = 0
        self.token_grants: dict[str, int] = {"authorization_code": 0, "refresh_token": 0}
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._session_key = secrets.token_bytes(32)
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
                Route("/authorize", self._authorize_endpoint, methods=["GET", "POST"]),
                Route("/token", self._token_endpoint, methods=["POST", "OPTIONS"]),
                Route("/logout", self._logout_endpoint),
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
                private = serialization.load_pem_private_key(entry["private_pem"].encode("ascii"), password=None)
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
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "end_session_endpoint": f"{self.issuer}/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code", "id_token"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
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
            "email_verified": True,  # as real issuers vouch for addresses they checked
            "name": name,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signing_kid = kid or self.current_kid
        return jwt.encode(payload, self._private(signing_kid), algorithm="RS256", headers={"kid": signing_kid})

    # --- HTTP ---------------------------------------------------------------------

    async def _discovery_endpoint(self, request: Request) -> JSONResponse:
        self.discovery_requests += 1
        return JSONResponse(self.discovery(), headers=_CORS)

    async def _jwks_endpoint(self, request: Request) -> JSONResponse:
        self.jwks_requests += 1
        return JSONResponse(self.jwks(), headers={"Cache-Control": "max-age=300", **_CORS})

    # --- sign-in for the console: authorization code + PKCE --------------------------

    def _session_value(self, email: str, name: str | None) -> str:
        raw = base64.urlsafe_b64encode(json.dumps([email, name]).encode()).decode().rstrip("=")
        mac = hmac.new(self._session_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{raw}.{mac}"

    def _session(self, request: Request) -> tuple[str, str | None] | None:
        value = request.cookies.get(SESSION_COOKIE, "")
        raw, _, mac = value.partition(".")
        if not raw or not hmac.compare_digest(
            mac, hmac.new(self._session_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        ):
            return None
        email, name = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return str(email), name

    async def _authorize_endpoint(self, request: Request) -> Response:
        params = dict(request.query_params) if request.method == "GET" else dict(await request.form())
        problem = _authorize_problem(params)
        if problem is not None:  # never redirect to an unchecked URI: show the error here
            return _page(f"<h1>Sign-in request refused</h1><p>{html.escape(problem)}</p>", status=400)
        if request.method == "GET":
            session = self._session(request)
            if params.get("prompt") == "none":
                if session is None:
                    return _redirect_back(params, error="login_required")
                return self._grant(params, *session)
            return _sign_in_page(params, (params.get("login_hint") or (session[0] if session else "")))
        if params.get("action") == "cancel":
            return _redirect_back(params, error="access_denied")
        email = str(params.get("email") or "").strip().lower()
        name = str(params.get("name") or "").strip() or None
        if not _EMAIL.fullmatch(email) or len(email) > 320:
            return _sign_in_page(params, email, error="Enter an email address, like you@example.com.")
        return self._grant(params, email, name)

    def _grant(self, params: dict[str, Any], email: str, name: str | None) -> Response:
        code = secrets.token_urlsafe(32)
        self._codes[code] = _Grant(
            client_id=str(params["client_id"]),
            redirect_uri=str(params["redirect_uri"]),
            email=email,
            name=name,
            challenge=str(params["code_challenge"]),
            nonce=params.get("nonce"),
            scope=str(params.get("scope") or "openid"),
            expires=time.time() + CODE_TTL,
        )
        response = _redirect_back(params, code=code)
        response.set_cookie(SESSION_COOKIE, self._session_value(email, name), httponly=True, samesite="lax", path="/")
        return response

    async def _token_endpoint(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_CORS)
        form = dict(await request.form())
        grant_type = form.get("grant_type")
        now = time.time()
        grant: _Grant | None
        if grant_type == "authorization_code":
            grant = self._codes.pop(str(form.get("code") or ""), None)
            if grant is None or grant.expires < now:
                return _token_error("invalid_grant", "unknown, used or expired code")
            if form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
                return _token_error("invalid_grant", "client_id or redirect_uri differ from the authorization request")
            verifier = str(form.get("code_verifier") or "")
            if not 43 <= len(verifier) <= 128 or _s256(verifier) != grant.challenge:
                return _token_error("invalid_grant", "PKCE verifier does not match the code challenge")
        elif grant_type == "refresh_token":
            grant = self._refresh.pop(str(form.get("refresh_token") or ""), None)
            if grant is None or grant.expires < now or form.get("client_id") != grant.client_id:
                return _token_error("invalid_grant", "unknown, used or expired refresh token")
        else:
            return _token_error("unsupported_grant_type", "authorization_code or refresh_token")
        self.token_grants[str(grant_type)] += 1
        ttl = int(self.access_ttl)
        access = self.mint(grant.email, grant.name, audience=self.audience, ttl=ttl, scp=grant.scope)
        id_token = self.mint(
            grant.email,
            grant.name,
            audience=grant.client_id,
            ttl=ttl,
            nonce=grant.nonce if grant_type == "authorization_code" else None,
        )
        refresh = secrets.token_urlsafe(32)
        self._refresh[refresh] = _Grant(**{**grant.__dict__, "expires": now + REFRESH_TTL})
        body = {
            "access_token": access,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "scope": grant.scope,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache", **_CORS})

    async def _logout_endpoint(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri")
        response: Response
        if target and _loopback_uri(target):
            response = RedirectResponse(target, status_code=302)
        else:
            response = _page("<h1>Signed out</h1><p>You can close this page.</p>")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @contextlib.contextmanager
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve the issuer on loopback in a background thread; yields the issuer URL.

        `port=0` picks a free port. `self.issuer` is set to the served URL, so tokens
        minted inside the block carry the right `iss`.
        """
        sock = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )  # asyncio sets TCP_NODELAY only for IPPROTO_TCP
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.issuer = issuer_url(sock.getsockname()[1], host)
        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dev-issuer", daemon=True)
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


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    email: str
    name: str | None
    challenge: str
    nonce: str | None
    scope: str
    expires: float


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def _loopback_uri(uri: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and (host in _LOOPBACK_HOSTS or host == "::1" or host.startswith("127."))


def _authorize_problem(params: dict[str, Any]) -> str | None:
    if not params.get("client_id"):
        return "client_id is missing."
    if not params.get("redirect_uri") or not _loopback_uri(str(params["redirect_uri"])):
        return "redirect_uri must be a loopback http(s) URL for the development issuer."
    if params.get("response_type") != "code":
        return "response_type must be code."
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "PKCE is required: send code_challenge with code_challenge_method=S256."
    return None


def _redirect_back(params: dict[str, Any], **answer: str) -> RedirectResponse:
    from urllib.parse import urlencode

    query = {**answer, **({"state": str(params["state"])} if params.get("state") else {})}
    uri = str(params["redirect_uri"])
    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}", status_code=302)


def _token_error(error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=400,
        headers={"Cache-Control": "no-store", **_CORS},
    )


_PAGE_CSS = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f6f9;color:#1b2330}"
    "main{max-width:26rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 4px #0002}h1{font-size:1.4rem;margin-top:0}label{display:block;margin:1rem 0 .3rem;"
    "font-weight:600}input{width:100%;box-sizing:border-box;padding:.55rem;font:inherit;border:1px solid #8a94a6;"
    "border-radius:4px}button{margin-top:1.2rem;padding:.6rem 1.2rem;font:inherit;border:0;border-radius:4px;"
    "background:#0b5cad;color:#fff;cursor:pointer}button.secondary{background:#e3e8ef;color:#1b2330;margin-left:.5rem}"
    ".error{color:#a40e26;font-weight:600}.note{color:#4a5568;font-size:.9rem}"
)


def _page(body: str, *, status: int = 200, redirect_uri: str | None = None) -> HTMLResponse:
    from urllib.parse import urlsplit

    nonce = secrets.token_urlsafe(12)
    # form-action also governs the redirect that follows the form post (back to the client).
    back = ""
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        back = f" {parts.scheme}://{parts.netloc}"
    doc = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>Sign in — Ferry development issuer</title>'
        f'<style nonce="{nonce}">{_PAGE_CSS}</style></head><body><main>{body}</main></body></html>'
    )
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'{back}; frame-ancestors 'none'; "
        "base-uri 'none'"
    )
    return HTMLResponse(
        doc,
        status_code=status,
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def _sign_in_page(params: dict[str, Any], email: str, *, error: str | None = None) -> HTMLResponse:
    keep = (
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    )
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(str(params[k]))}">'
        for k in keep
        if params.get(k) is not None
    )
    message = f'<p class="error" role="alert" id="email-error">{html.escape(error)}</p>' if error else ""
    described = ' aria-describedby="email-error" aria-invalid="true"' if error else ""
    return _page(
        "<h1>Sign in to Ferry</h1>"
        '<p class="note">Development issuer: any email signs in, no password. Never deployed.</p>'
        f'<form method="post" action="/authorize">{hidden}{message}'
        f'<label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="email"'
        f' autofocus value="{html.escape(email)}"{described}>'
        '<label for="name">Display name (optional)</label><input id="name" name="name" autocomplete="name">'
        '<button type="submit" name="action" value="sign-in">Sign in</button>'
        '<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>'
        "</form>",
        status=400 if error else 200,
        redirect_uri=str(params["redirect_uri"]),
    )


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
    return DevIssuer(key_dir, issuer=issuer_url(port)).mint(email, name, audience=audience, ttl=ttl)


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
