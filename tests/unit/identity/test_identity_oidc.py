"""OidcValidator against the real development issuer served on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.errors import AuthenticationError, ConfigError, TransientError
from shared.identity.oidc import OidcValidator, Principal
from tools.dev_issuer import DEFAULT_AUDIENCE, DevIssuer

from .conftest import FakeClock, b64url, b64url_decode

AUD = DEFAULT_AUDIENCE
_ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def validator(shared_issuer: DevIssuer, clock: FakeClock) -> AsyncIterator[OidcValidator]:
    async with OidcValidator([shared_issuer.issuer], AUD, clock=clock) as v:
        yield v


def _claims(issuer: DevIssuer, **overrides: object) -> dict:
    now = int(time.time())
    claims = {
        "iss": issuer.issuer,
        "sub": "attacker",
        "aud": AUD,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "email": "mallory@example.com",
    }
    claims.update(overrides)
    return claims


def _alg_none(issuer: DevIssuer) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": issuer.current_kid}
    return f"{b64url(header)}.{b64url(_claims(issuer))}."


def _hs256_with_public_pem(issuer: DevIssuer) -> str:
    # Classic key confusion: HMAC keyed with the published RSA public key. PyJWT refuses
    # to produce this, so it is assembled by hand.
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.current_kid}
    signing_input = f"{b64url(header)}.{b64url(_claims(issuer))}"
    mac = hmac.new(issuer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _unknown_kid(issuer: DevIssuer) -> str:
    return jwt.encode(_claims(issuer), _ATTACKER_KEY, algorithm="RS256", headers={"kid": "ghost"})


def _known_kid_wrong_key(issuer: DevIssuer) -> str:
    return jwt.encode(_claims(issuer), _ATTACKER_KEY, algorithm="RS256", headers={"kid": issuer.current_kid})


def _tampered_payload(issuer: DevIssuer) -> str:
    header, payload, signature = issuer.mint("mallory@example.com").split(".")
    claims = json.loads(b64url_decode(payload))
    claims["email"] = "admin@example.com"
    return f"{header}.{b64url(claims)}.{signature}"


def _no_kid(issuer: DevIssuer) -> str:
    _header, payload, signature = issuer.mint("a@example.com").split(".")
    return f"{b64url({'alg': 'RS256', 'typ': 'JWT'})}.{payload}.{signature}"


NEGATIVE: dict[str, tuple[Callable[[DevIssuer], str], str]] = {
    "alg none": (_alg_none, "algorithm"),
    "HS256 keyed with the public PEM": (_hs256_with_public_pem, "algorithm"),
    "wrong aud": (lambda i: i.mint("a@example.com", audience="api://someone-else"), "audience"),
    "wrong iss": (lambda i: i.mint("a@example.com", iss="http://127.0.0.1:9"), "issuer"),
    "iss with extra path": (lambda i: i.mint("a@example.com", iss=i.issuer + "/x"), "issuer"),
    "https look-alike iss": (
        lambda i: i.mint("a@example.com", iss=i.issuer.replace("http:", "https:")),
        "issuer",
    ),
    "expired": (lambda i: i.mint("a@example.com", now=time.time() - 7200, ttl=3600), "expired"),
    "future nbf": (lambda i: i.mint("a@example.com", nbf=int(time.time()) + 600), "not valid yet"),
    "future iat": (lambda i: i.mint("a@example.com", iat=int(time.time()) + 600), "future"),
    "unknown kid": (_unknown_kid, "unknown signing key"),
    "known kid, other key": (_known_kid_wrong_key, "signature"),
    "tampered payload": (_tampered_payload, "signature"),
    "no kid": (_no_kid, "key id"),
    "no exp": (lambda i: i.mint("a@example.com", exp=None), "exp"),
    "no sub": (lambda i: i.mint("a@example.com", sub=None), "sub"),
    "no aud": (lambda i: i.mint("a@example.com", audience=None), "aud"),
    "string exp": (lambda i: i.mint("a@example.com", exp="tomorrow"), "not a number"),
    "no email at all": (lambda i: i.mint("not-an-email", preferred_username=None), "email"),
    "unverified email only": (
        lambda i: i.mint("victim@example.com", email_verified=False),
        "email",
    ),
    "garbage": (lambda i: "not.a.jwt", "malformed"),
    "empty": (lambda i: "", "malformed"),
    "oversized": (lambda i: "a" * 20_000, "malformed"),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
async def test_rejected_tokens(case: str, shared_issuer: DevIssuer, validator: OidcValidator) -> None:
    build, reason = NEGATIVE[case]
    token = build(shared_issuer)
    with pytest.raises(AuthenticationError) as caught:
        await validator.validate(token)
    assert reason in caught.value.detail


async def test_valid_token_gives_principal_with_lower_cased_email(
    shared_issuer: DevIssuer, validator: OidcValidator
) -> None:
    token = shared_issuer.mint("Alice.Smith@Example.COM", "Alice Smith")
    claims = jwt.decode(token, options={"verify_signature": False})
    principal = await validator.validate(token)
    assert principal == Principal(
        subject=claims["sub"],
        issuer=shared_issuer.issuer,
        email="alice.smith@example.com",
        name="Alice Smith",
        expires_at=claims["exp"],
        email_verified=True,
    )


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"email": None, "preferred_username": "Bob@Contoso.com"}, "bob@contoso.com"),
        ({"email": None, "upn": "CAROL@contoso.onmicrosoft.com"}, "carol@contoso.onmicrosoft.com"),
        ({"email_verified": False, "preferred_username": "dan@x.org"}, "dan@x.org"),
        ({"preferred_username": "someone-else@x.org"}, "erin@x.org"),
    ],
)
async def test_email_claim_precedence(
    shared_issuer: DevIssuer, validator: OidcValidator, claims: dict, expected: str
) -> None:
    principal = await validator.validate(shared_issuer.mint("Erin@x.org", **claims))
    assert principal.email == expected


@pytest.mark.parametrize(
    ("claims", "verified"),
    [
        ({}, True),  # the development issuer vouches for the address, as real issuers do
        ({"email_verified": "true"}, True),
        ({"email_verified": None}, False),  # no claim: not verified
        ({"email_verified": False, "preferred_username": "dan@x.org"}, False),
        ({"email": None, "preferred_username": "erin@x.org", "email_verified": True}, False),  # Entra-style name
        ({"email": None, "upn": "erin@x.org"}, False),
    ],
)
async def test_only_an_email_the_issuer_verified_counts_as_verified(
    shared_issuer: DevIssuer, validator: OidcValidator, claims: dict, verified: bool
) -> None:
    principal = await validator.validate(shared_issuer.mint("erin@x.org", **claims))
    assert principal.email_verified is verified


@pytest.mark.parametrize(
    ("claims", "trusted", "verified"),
    [
        ({"email_verified": None, "xms_edov": True}, True, True),  # Entra, domain owned by the tenant
        ({"email_verified": None, "xms_edov": "1"}, True, True),
        ({"email_verified": None, "xms_edov": True}, False, False),  # issuer not configured so
        ({"email_verified": None, "xms_edov": False}, True, False),
        ({"email_verified": None}, True, False),  # the optional claim is not requested
        ({"email": None, "preferred_username": "erin@x.org", "xms_edov": True}, True, False),
    ],
)
async def test_an_entra_issuer_may_vouch_for_email_by_domain_ownership(
    shared_issuer: DevIssuer, clock: FakeClock, claims: dict, trusted: bool, verified: bool
) -> None:
    """Issue 18: Entra sends no email_verified; `xms_edov` from an issuer configured in
    FERRY_OIDC_DOMAIN_VERIFIED_ISSUERS lets its users claim invitations by e-mail."""
    edov = [shared_issuer.issuer] if trusted else []
    async with OidcValidator([shared_issuer.issuer], AUD, clock=clock, domain_verified_issuers=edov) as v:
        principal = await v.validate(shared_issuer.mint("erin@x.org", **claims))
    assert principal.email_verified is verified


def test_a_domain_verified_issuer_must_be_trusted() -> None:
    with pytest.raises(ConfigError):
        OidcValidator(
            ["https://login.example.com/t/v2.0"], AUD, domain_verified_issuers=["https://other.example.com/t/v2.0"]
        )


async def test_leeway_accepts_small_clock_skew(
    shared_issuer: DevIssuer, validator: OidcValidator, clock: FakeClock
) -> None:
    token = shared_issuer.mint("a@example.com", ttl=60)
    clock.advance(100)  # expired 40 s ago, inside the 60 s leeway
    assert (await validator.validate(token)).email == "a@example.com"
    clock.advance(30)  # now 70 s past expiry
    with pytest.raises(AuthenticationError, match="expired"):
        await validator.validate(token)


async def test_rotated_key_is_accepted_after_one_refresh(own_issuer: DevIssuer, clock: FakeClock) -> None:
    async with OidcValidator([own_issuer.issuer], AUD, clock=clock, refresh_interval_s=60) as v:
        old_token = own_issuer.mint("a@example.com")
        await v.validate(old_token)
        assert own_issuer.jwks_requests == 1

        own_issuer.rotate()
        new_token = own_issuer.mint("a@example.com")
        # The first fetch happened just now: a refresh is not allowed yet.
        with pytest.raises(AuthenticationError, match="unknown signing key"):
            await v.validate(new_token)
        assert own_issuer.jwks_requests == 1

        clock.advance(61)
        assert (await v.validate(new_token)).email == "a@example.com"
        assert own_issuer.jwks_requests == 2
        assert own_issuer.discovery_requests == 1
        # Old tokens still verify with the cached old key, without another fetch.
        await v.validate(old_token)
        await v.validate(new_token)
        assert own_issuer.jwks_requests == 2


async def test_flood_of_unknown_kids_fetches_at_most_once_per_interval(own_issuer: DevIssuer, clock: FakeClock) -> None:
    def forged() -> str:
        claims = _claims(own_issuer)
        return jwt.encode(claims, _ATTACKER_KEY, algorithm="RS256", headers={"kid": uuid.uuid4().hex})

    async def attempt(token: str) -> None:
        with pytest.raises(AuthenticationError, match="unknown signing key"):
            await v.validate(token)

    async with OidcValidator([own_issuer.issuer], AUD, clock=clock, refresh_interval_s=60) as v:
        await v.validate(own_issuer.mint("a@example.com"))
        assert own_issuer.jwks_requests == 1

        for _round in range(3):
            clock.advance(61)
            await asyncio.gather(*(attempt(forged()) for _ in range(50)))
            for _ in range(50):
                await attempt(forged())
            clock.advance(30)  # still inside the interval
            await asyncio.gather(*(attempt(forged()) for _ in range(20)))
        assert own_issuer.jwks_requests == 4
        assert v.fetch_count(own_issuer.issuer) == 4


async def test_keys_are_refetched_after_max_age(own_issuer: DevIssuer, clock: FakeClock) -> None:
    async with OidcValidator([own_issuer.issuer], AUD, clock=clock, max_key_age_s=3600) as v:
        token = own_issuer.mint("a@example.com", ttl=7200)
        await v.validate(token)
        clock.advance(1800)
        await v.validate(token)
        assert own_issuer.jwks_requests == 1
        clock.advance(1801)
        await v.validate(token)
        assert own_issuer.jwks_requests == 2


async def test_one_issuer_cannot_sign_for_another(tmp_path, clock: FakeClock) -> None:
    first, second = DevIssuer(tmp_path / "a"), DevIssuer(tmp_path / "b")
    with first.serve(), second.serve():
        async with OidcValidator([first.issuer, second.issuer], AUD, clock=clock) as v:
            assert (await v.validate(first.mint("a@x.org"))).issuer == first.issuer
            assert (await v.validate(second.mint("b@x.org"))).issuer == second.issuer
            forged = first.mint("b@x.org", iss=second.issuer)
            with pytest.raises(AuthenticationError, match="unknown signing key"):
                await v.validate(forged)


async def test_unreachable_issuer_is_a_transient_error(clock: FakeClock, tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    issuer = DevIssuer(tmp_path, issuer=f"http://127.0.0.1:{dead_port}")
    async with OidcValidator([issuer.issuer], AUD, clock=clock) as v:
        with pytest.raises(TransientError):
            await v.validate(issuer.mint("a@example.com"))


async def test_discovery_naming_another_issuer_is_refused(own_issuer: DevIssuer, clock: FakeClock) -> None:
    served = own_issuer.issuer
    token = own_issuer.mint("a@example.com")
    own_issuer.issuer = "http://127.0.0.1:1"  # discovery now names a different issuer
    async with OidcValidator([served], AUD, clock=clock) as v:
        with pytest.raises(TransientError, match="another issuer"):
            await v.validate(token)


@pytest.mark.parametrize(
    "issuers",
    [
        [],
        ["http://login.example.com/tenant/v2.0"],
        ["login.example.com"],
        ["https://login.example.com/t?x=1"],
    ],
)
def test_bad_issuer_settings_are_refused(issuers: list[str]) -> None:
    with pytest.raises(ConfigError):
        OidcValidator(issuers, AUD)


def test_https_and_loopback_issuers_are_accepted() -> None:
    v = OidcValidator(
        ["https://login.microsoftonline.com/t/v2.0", "http://127.0.0.1:8765", "http://[::1]:1"],
        AUD,
    )
    assert len(v.issuers) == 3


async def test_trailing_slash_of_issuer_is_tolerated(shared_issuer: DevIssuer, clock: FakeClock) -> None:
    configured = shared_issuer.issuer + "/"
    async with OidcValidator([configured, shared_issuer.issuer], AUD, clock=clock) as v:
        assert v.issuers == (configured,)
        assert (await v.validate(shared_issuer.mint("a@x.org"))).issuer == configured
        slashed = shared_issuer.mint("a@x.org", iss=configured)
        assert (await v.validate(slashed)).issuer == configured
