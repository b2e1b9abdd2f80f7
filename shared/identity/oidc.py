"""OIDC bearer-token validation (Entra ID / External ID or any OIDC issuer).

`OidcValidator.validate(token)` accepts only RS256 tokens signed by a key published in a
configured issuer's JWKS, with matching `iss` and `aud`, a live `exp`, a passed `nbf`
(both with a small leeway) and a `sub`. Ferry never sees passwords; local runs use the
development issuer of `tools/dev_issuer.py` through this very code.

Keys: each issuer's discovery document (`{issuer}/.well-known/openid-configuration`,
OpenID Connect Discovery 1.0 §4) names its `jwks_uri`; the JWKS is cached per issuer.
A token whose `kid` is not cached triggers a refresh, which is how key rotation works,
but fetches per issuer are spaced at least `refresh_interval_s` apart, so a flood of
random `kid`s costs the issuer at most one request per interval. Cached keys are also
refreshed after `max_key_age_s`, so a key the issuer withdrew stops being trusted; if
that refresh fails the old keys stay in use (the issuer being down must not sign
everyone out).

Trust rules worth knowing:
- Issuers are matched as exact strings except for a trailing `/` (settings may strip it;
  Auth0-style issuers end with one). Entra: `https://login.microsoftonline.com/{tenant}/v2.0`,
  External ID: `https://{tenant}.ciamlogin.com/{tenant}/v2.0`; multi-tenant `common`
  endpoints are not supported. The discovery document must name the same issuer.
  `Principal.issuer` is the issuer as configured, so it is stable for membership binding.
- Production issuers and JWKS URIs must be https; plain http is allowed only for
  loopback issuers (the development issuer).
- The email comes from `email`, else `preferred_username`, else `upn` (Entra), lower-
  cased. An `email` with `email_verified: false` is ignored. Entra's `email` and
  `preferred_username` are user-editable in some tenants ("nOAuth"), so membership
  should be bound to (issuer, subject) once accepted; email serves invitations.

Failures of the token raise `AuthenticationError` with a short reason; an issuer whose
keys cannot be fetched at all raises `TransientError` (a 5xx, not the caller's fault).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from shared.errors import AuthenticationError, ConfigError, TransientError

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 16_384  # Entra tokens with many group claims stay well below this
MIN_RSA_BITS = 2048
MAX_KEYS_PER_ISSUER = 64
MAX_DOCUMENT_BYTES = 512 * 1024
WELL_KNOWN = "/.well-known/openid-configuration"

Clock = Callable[[], float]


@dataclass(frozen=True)
class Principal:
    """A person proven by a valid token; `email` is lower-cased.

    `expires_at` (Unix seconds, the token's `exp`) lets long-lived responses such as
    log streams end when the credential does.
    """

    subject: str
    issuer: str
    email: str
    name: str | None = None
    expires_at: float | None = None
    #: True only when the issuer vouched for `email` (`email_verified: true`); only such a
    #: person may claim an invitation sent to that address (tenancy/repositories.py).
    email_verified: bool = False


@dataclass
class _IssuerState:
    jwks_uri: str | None = None
    keys: dict[str, jwt.PyJWK] | None = None
    loaded_at: float = 0.0
    last_attempt: float | None = None
    fetches: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is localhost or a loopback IP address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _canonical(issuer: str) -> str:
    return issuer.rstrip("/")


def _check_issuer_url(issuer: str) -> None:
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"issuer must be an absolute URL: {issuer!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"issuer must not carry a query or fragment: {issuer!r}")
    if parts.scheme == "http" and not is_loopback_url(issuer):
        raise ConfigError(f"issuer must use https (http only on loopback): {issuer!r}")


def _email_of(claims: dict[str, Any]) -> str | None:
    email = claims.get("email")
    if claims.get("email_verified") in (False, "false"):
        email = None
    for candidate in (email, claims.get("preferred_username"), claims.get("upn")):
        if isinstance(candidate, str) and "@" in candidate.strip():
            return candidate.strip().lower()
    return None


_TRUE = (True, "true", 1, "1")


def _email_verified(claims: dict[str, Any], email: str, *, domain_verified_ok: bool = False) -> bool:
    """The issuer vouched for this very address: it is the `email` claim and `email_verified`
    is true, or — for an Entra issuer configured to be trusted so — `xms_edov` ("email domain
    owner verified", an optional claim) is true. `preferred_username`/`upn` are never taken
    as verified: an Entra user may set them, and Entra sends no `email_verified`."""
    claimed = claims.get("email")
    if not (isinstance(claimed, str) and claimed.strip().lower() == email):
        return False
    if claims.get("email_verified") in _TRUE:
        return True
    return domain_verified_ok and claims.get("xms_edov") in _TRUE


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AuthenticationError(f"claim {name} is not a number")
    return float(value)


class OidcValidator:
    """Validates bearer tokens from one or more trusted OIDC issuers.

    `http` is an `httpx.AsyncClient` to reuse (not closed here); without one the
    validator creates its own, closed by `aclose()`. `clock` returns Unix seconds and
    drives both claim checks and refresh spacing (inject a fake one in tests).
    """

    def __init__(
        self,
        issuers: Iterable[str],
        audience: str,
        *,
        http: httpx.AsyncClient | None = None,
        leeway_s: float = 60.0,
        clock: Clock = time.time,
        refresh_interval_s: float = 60.0,
        max_key_age_s: float = 3600.0,
        domain_verified_issuers: Iterable[str] = (),
    ) -> None:
        unique: dict[str, str] = {}
        for issuer in issuers:
            unique.setdefault(_canonical(issuer), issuer)
        self._issuers = tuple(unique.values())
        if not self._issuers:
            raise ConfigError("at least one OIDC issuer is required")
        for issuer in self._issuers:
            _check_issuer_url(issuer)
        if not audience:
            raise ConfigError("an OIDC audience is required")
        self.audience = audience
        self.leeway_s = leeway_s
        self.refresh_interval_s = refresh_interval_s
        self.max_key_age_s = max_key_age_s
        self._clock = clock
        self._http = http
        self._owns_http = http is None
        self._state = {issuer: _IssuerState() for issuer in self._issuers}
        self._configured = {_canonical(issuer): issuer for issuer in self._issuers}
        #: Entra issuers whose `email` is verified by `xms_edov` (FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS)
        self._domain_verified = frozenset(_canonical(i) for i in domain_verified_issuers)
        if not self._domain_verified <= set(self._configured):
            raise ConfigError("a domain-verified issuer must be one of the trusted issuers")

    @property
    def issuers(self) -> tuple[str, ...]:
        return self._issuers

    def fetch_count(self, issuer: str) -> int:
        """How many JWKS fetches were attempted for `issuer` (observability, tests)."""
        return self._state[issuer].fetches

    async def aclose(self) -> None:
        """Close the HTTP client if this validator created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> OidcValidator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- validation ---------------------------------------------------------------

    async def validate(self, token: str) -> Principal:
        """Check `token` fully and return who it proves; raises AuthenticationError."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthenticationError("malformed token") from exc
        # Decide on the algorithm from our own list before touching keys: this is what
        # stops `alg: none` and RS256→HS256 key-confusion tokens.
        if header.get("alg") != ALGORITHM:
            raise AuthenticationError("unsupported token algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("token has no key id")
        token_issuer = unverified.get("iss")
        if not isinstance(token_issuer, str) or _canonical(token_issuer) not in self._configured:
            raise AuthenticationError("untrusted issuer")
        issuer = self._configured[_canonical(token_issuer)]

        key = await self._key_for(issuer, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=token_issuer,
                # Time claims are checked below against the injected clock.
                options={
                    "require": ["iss", "aud", "exp", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise AuthenticationError("invalid token signature") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthenticationError("token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthenticationError("untrusted issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"token lacks the {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid token") from exc

        expires_at = self._check_times(claims)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("token lacks the sub claim")
        email = _email_of(claims)
        if email is None:
            raise AuthenticationError("token carries no email address")
        name = claims.get("name")
        return Principal(
            subject=subject,
            issuer=issuer,
            email=email,
            name=name if isinstance(name, str) and name.strip() else None,
            expires_at=expires_at,
            email_verified=_email_verified(
                claims, email, domain_verified_ok=_canonical(issuer) in self._domain_verified
            ),
        )

    def _check_times(self, claims: dict[str, Any]) -> float:
        now = self._clock()
        exp = _number(claims, "exp")
        if exp is None or exp <= now - self.leeway_s:
            raise AuthenticationError("token has expired")
        nbf = _number(claims, "nbf")
        if nbf is not None and nbf > now + self.leeway_s:
            raise AuthenticationError("token is not valid yet")
        iat = _number(claims, "iat")
        if iat is not None and iat > now + self.leeway_s:
            raise AuthenticationError("token was issued in the future")
        return exp

    # --- keys ---------------------------------------------------------------------

    async def _key_for(self, issuer: str, kid: str) -> jwt.PyJWK:
        state = self._state[issuer]
        key = self._fresh_key(state, kid)
        if key is not None:
            return key
        async with state.lock:
            # Another request may have refreshed while this one waited.
            key = self._fresh_key(state, kid)
            if key is not None:
                return key
            now = self._clock()
            if state.last_attempt is None or now - state.last_attempt >= self.refresh_interval_s:
                state.last_attempt = now
                state.fetches += 1
                try:
                    await self._refresh(issuer, state)
                except TransientError:
                    if state.keys is None:
                        raise
                    log.warning("JWKS refresh failed for %s; keeping cached keys", issuer)
            if state.keys is None:
                raise TransientError("identity provider keys are unavailable")
            key = state.keys.get(kid)
            if key is None:
                raise AuthenticationError("unknown signing key")
            return key

    def _fresh_key(self, state: _IssuerState, kid: str) -> jwt.PyJWK | None:
        if state.keys is None or self._clock() - state.loaded_at >= self.max_key_age_s:
            return None
        return state.keys.get(kid)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        return self._http

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._client().get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise TransientError(f"identity provider unreachable: {url}") from exc
        if response.status_code != 200:
            raise TransientError(f"identity provider answered {response.status_code}: {url}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise TransientError(f"identity provider document too large: {url}")
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"identity provider sent invalid JSON: {url}") from exc
        if not isinstance(body, dict):
            raise TransientError(f"identity provider sent an unexpected document: {url}")
        return body

    async def _refresh(self, issuer: str, state: _IssuerState) -> None:
        if state.jwks_uri is None:
            state.jwks_uri = await self._discover(issuer)
        try:
            jwks = await self._get_json(state.jwks_uri)
        except TransientError:
            state.jwks_uri = None  # rediscover next time: the URI may have moved
            raise
        state.keys = _parse_jwks(jwks, issuer)
        state.loaded_at = self._clock()
        log.info("loaded %d signing keys for %s", len(state.keys), issuer)

    async def _discover(self, issuer: str) -> str:
        document = await self._get_json(_canonical(issuer) + WELL_KNOWN)
        named = document.get("issuer")
        if not isinstance(named, str) or _canonical(named) != _canonical(issuer):
            # OIDC Discovery §4.3: the document must name exactly the issuer asked for.
            raise TransientError(f"discovery document names another issuer than {issuer}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise TransientError(f"discovery document of {issuer} has no jwks_uri")
        scheme = urlsplit(jwks_uri).scheme
        loopback_ok = is_loopback_url(issuer) and is_loopback_url(jwks_uri)
        if scheme != "https" and not (scheme == "http" and loopback_ok):
            raise TransientError(f"jwks_uri of {issuer} must use https")
        return jwks_uri


def _parse_jwks(jwks: dict[str, Any], issuer: str) -> dict[str, jwt.PyJWK]:
    """Keep the usable RS256 signing keys of a JWKS, by kid."""
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise TransientError(f"JWKS of {issuer} has no keys list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries[:MAX_KEYS_PER_ISSUER]:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            jwk = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            log.warning("skipping unreadable JWKS key %s of %s", kid, issuer)
            continue
        if not isinstance(jwk.key, RSAPublicKey) or jwk.key.key_size < MIN_RSA_BITS:
            continue
        keys[kid] = jwk
    return keys
