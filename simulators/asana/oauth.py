"""Asana's OAuth endpoints: the consent page ``GET https://app.asana.com/-/oauth_authorize``
and the token endpoint ``POST https://app.asana.com/-/oauth_token``.

The authorize page (https://developers.asana.com/docs/oauth#user-authorization-endpoint) takes
``client_id``, ``redirect_uri``, ``response_type=code``, ``state`` and, for PKCE,
``code_challenge`` with ``code_challenge_method=S256``. Here the signed-in user is whoever's
e-mail the form names (any seeded user; no password); "Allow" redirects to ``redirect_uri``
with ``code`` and ``state``, "Deny" with ``error=access_denied``. A redirect URI must be one
registered for the client (``store.oauth_redirect_uris``) when any is; a code is bound to its
client, redirect URI and challenge, used once, and the exchange must repeat the redirect URI
and send the ``code_verifier`` whose S256 hash is the challenge.

https://developers.asana.com/docs/oauth : form-encoded ``grant_type`` = ``authorization_code``
(with ``code`` and ``redirect_uri``) or ``refresh_token``, plus ``client_id`` and
``client_secret``. The answer carries ``access_token`` (bearer, ``expires_in`` 3600 s),
``token_type``, ``data`` (the user) and, for a code exchange, a ``refresh_token``.
Errors follow RFC 6749 (``{"error": "invalid_grant", "error_description": ...}``).
The seed registers one client and a refresh token and an authorization code per user.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from simulators.asana.store import AsanaStore

TOKEN_PATH = "/-/oauth_token"
AUTHORIZE_PATH = "/-/oauth_authorize"
#: the page's own rules: its one form posts to itself, no script at all
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"
ACCESS_TTL_S = 3600
router = APIRouter()


def _error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


@router.post(TOKEN_PATH)
async def oauth_token(request: Request) -> JSONResponse:
    """Exchange a code or a refresh token for an access token."""
    store: AsanaStore = request.app.state.asana_store
    form = await request.form()
    client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    if not client_id or store.oauth_clients.get(client_id) != secret:
        return _error(401, "invalid_client", "The client credentials are invalid")
    grant = form.get("grant_type")
    refresh: str | None = None
    if grant == "refresh_token":
        user_gid = store.refresh_tokens.get(str(form.get("refresh_token") or ""))
    elif grant == "authorization_code":
        code = str(form.get("code") or "")
        user_gid = store.auth_codes.pop(code, None)
        bound = store.code_grants.pop(code, None)
        if bound is not None and not _grant_matches(bound, client_id, form):
            user_gid = None
        if user_gid is not None:
            refresh = f"asana-sim-refresh-{secrets.token_hex(8)}"
            store.refresh_tokens[refresh] = user_gid
    else:
        return _error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    if user_gid is None or user_gid not in store.users:
        return _error(400, "invalid_grant", "The grant is invalid, expired or revoked")
    access = f"asana-sim-access-{secrets.token_hex(12)}"
    store.tokens[access] = user_gid
    store.token_expiry[access] = store.clock.monotonic() + ACCESS_TTL_S
    user = store.users[user_gid]
    body: dict[str, object] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": ACCESS_TTL_S,
        "data": {"id": int(user.gid), "gid": user.gid, "name": user.name, "email": user.email},
    }
    if refresh:
        body["refresh_token"] = refresh
    return JSONResponse(body)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _grant_matches(bound: dict[str, str], client_id: str, form: Any) -> bool:
    """The exchange repeats the code's client and redirect URI and proves the PKCE verifier."""
    if bound["client_id"] != client_id or bound["redirect_uri"] != str(form.get("redirect_uri") or ""):
        return False
    if bound.get("code_challenge"):
        return secrets.compare_digest(_s256(str(form.get("code_verifier") or "")), bound["code_challenge"])
    return True


def _redirect_allowed(store: AsanaStore, client_id: str, uri: str) -> bool:
    registered = store.oauth_redirect_uris.get(client_id)
    if registered:
        return uri in registered
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        f"<body style='font-family:sans-serif;max-width:32rem;margin:3rem auto'><main>{body}</main></body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})


_PARAMS = ("client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method", "scope")


def _checked(store: AsanaStore, params: Any) -> tuple[dict[str, str], HTMLResponse | None]:
    """The request's parameters, or the error page Asana shows (never a redirect to an
    unchecked URI)."""
    got = {k: str(params.get(k) or "") for k in _PARAMS}
    if got["client_id"] not in store.oauth_clients:
        return got, _page("Error", "<h1>Error</h1><p>The client_id is not a registered app.</p>", 400)
    if not _redirect_allowed(store, got["client_id"], got["redirect_uri"]):
        return got, _page("Error", "<h1>Error</h1><p>The redirect_uri does not match the app's.</p>", 400)
    if got["response_type"] != "code":
        return got, _page("Error", "<h1>Error</h1><p>response_type must be code.</p>", 400)
    if got["code_challenge"] and got["code_challenge_method"] != "S256":
        return got, _page("Error", "<h1>Error</h1><p>code_challenge_method must be S256.</p>", 400)
    return got, None


@router.get(AUTHORIZE_PATH)
async def oauth_authorize_page(request: Request) -> Response:
    """The consent page: who signs in (an e-mail) and Allow / Deny."""
    store: AsanaStore = request.app.state.asana_store
    got, error = _checked(store, request.query_params)
    if error is not None:
        return error
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{html.escape(v, quote=True)}'>" for k, v in got.items() if v
    )
    first = next(iter(store.users.values()), None)
    body = (
        "<h1>Grant access to your Asana account</h1>"
        f"<p>The app <strong>{html.escape(got['client_id'])}</strong> asks to read and write your Asana data.</p>"
        f"<form method='post' action='{AUTHORIZE_PATH}'>{hidden}"
        "<p><label for='email'>Your Asana e-mail</label><br>"
        f"<input id='email' name='email' type='email' required value='{html.escape(first.email if first else '')}'></p>"
        "<p><button type='submit' name='decision' value='allow'>Allow</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button></p></form>"
    )
    return _page("Grant access – Asana", body)


@router.post(AUTHORIZE_PATH)
async def oauth_authorize_decision(request: Request) -> Response:
    """Allow: a code bound to the client, redirect URI and challenge; Deny: access_denied."""
    store: AsanaStore = request.app.state.asana_store
    form = await request.form()
    got, error = _checked(store, form)
    if error is not None:
        return error
    answer: dict[str, str] = {}
    if form.get("decision") == "allow":
        email = str(form.get("email") or "").strip().lower()
        user = next((u for u in store.users.values() if u.email.lower() == email), None)
        if user is None:
            return _page("Error", "<h1>Error</h1><p>No Asana account has that e-mail.</p>", 400)
        code = f"asana-sim-code-{secrets.token_hex(12)}"
        store.auth_codes[code] = user.gid
        store.code_grants[code] = {
            "client_id": got["client_id"],
            "redirect_uri": got["redirect_uri"],
            "code_challenge": got["code_challenge"],
        }
        answer["code"] = code
    else:
        answer["error"] = "access_denied"
    if got["state"]:
        answer["state"] = got["state"]
    sep = "&" if "?" in got["redirect_uri"] else "?"
    return RedirectResponse(f"{got['redirect_uri']}{sep}{urlencode(answer)}", status_code=302)
