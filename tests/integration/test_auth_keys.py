"""API-key sign-in against the real stores: a known prefix cannot lock its key out, and a
genuine key used on an org of the other region is a 404, never a counted guess."""

from __future__ import annotations

import secrets
import uuid
from typing import Any, cast

import pytest

from shared.errors import AuthenticationError, NotFoundError, TooManyRequestsError
from shared.identity import apikeys
from shared.identity.access import Scope
from shared.identity.apikeys import Credential
from shared.identity.oidc import OidcValidator, Principal
from shared.identity.throttle import AuthFailureThrottle
from shared.tenancy import keys, orgs
from shared.tenancy.audit import RequestInfo
from shared.tenancy.auth import Authenticator
from shared.tenancy.context import TenantContext


class _OneToken:
    """A validator that knows one good token; everything else is refused like a bad JWT."""

    def __init__(self, principal: Principal | None = None) -> None:
        self.principal = principal

    async def validate(self, token: str) -> Principal:
        if self.principal is None or token != "good-token":
            raise AuthenticationError("invalid token")
        return self.principal


def _principal() -> Principal:
    tag = uuid.uuid4().hex[:8]
    return Principal(subject=f"sub-{tag}", issuer="https://issuer.example", email=f"{tag}@example.com")


async def _org_with_key(stores: Any, country: str) -> tuple[str, str]:
    org = await orgs.create_org(stores, _principal(), name="Acme", country=country, region=None, request=RequestInfo())
    ctx = TenantContext.for_org(stores, org["id"])
    _, plaintext = await keys.create_key(ctx, name="ci", scopes=[Scope.READ], actor="test", request=RequestInfo())
    return org["id"], plaintext


def _forged_with_prefix(genuine: str) -> str:
    """A well-formed key (valid checksum) that shares the genuine key's lookup prefix."""
    prefix = genuine[len(apikeys.KEY_MARKER) : len(apikeys.KEY_MARKER) + apikeys.PREFIX_LENGTH]
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    rest = "".join(secrets.choice(alphabet) for _ in range(apikeys.BODY_LENGTH - apikeys.PREFIX_LENGTH))
    marked = apikeys.KEY_MARKER + prefix + rest
    forged = marked + apikeys._checksum(marked)
    assert apikeys.looks_like_key(forged) and forged != genuine
    return forged


def _authenticator(stores: Any, principal: Principal | None = None) -> Authenticator:
    return Authenticator(stores, cast(OidcValidator, _OneToken(principal)), throttle=AuthFailureThrottle(window_s=300))


async def test_guesses_at_a_known_prefix_never_lock_the_genuine_key_out(stores: Any) -> None:
    org_id, genuine = await _org_with_key(stores, "DE")
    auth = _authenticator(stores)
    outcomes = []
    for i in range(25):  # each guess from its own address: only the prefix limit can bite
        with pytest.raises((AuthenticationError, TooManyRequestsError)) as caught:
            await auth.org_access(
                org_id, Credential("api_key", _forged_with_prefix(genuine)), RequestInfo(ip=f"203.0.113.{i + 1}")
            )
        outcomes.append(type(caught.value))
    assert outcomes[0] is AuthenticationError and outcomes[-1] is TooManyRequestsError  # the flood is visible

    access = await auth.org_access(org_id, Credential("api_key", genuine), RequestInfo(ip="198.51.100.7"))
    assert access.ctx.tenant_id == org_id and access.caller.scopes


@pytest.mark.parametrize(("key_country", "path_country"), [("DE", "US"), ("US", "DE"), ("DE", "FR")])
async def test_a_genuine_key_on_another_org_is_404_in_any_region_and_counts_no_guess(
    stores: Any, key_country: str, path_country: str
) -> None:
    own_org, genuine = await _org_with_key(stores, key_country)
    other_org, _ = await _org_with_key(stores, path_country)
    auth = _authenticator(stores)
    for i in range(25):
        with pytest.raises(NotFoundError):
            await auth.org_access(other_org, Credential("api_key", genuine), RequestInfo(ip=f"192.0.2.{i + 1}"))
    prefix = apikeys.parse(genuine).prefix
    assert auth.throttle.prefixes.retry_after(prefix) is None
    access = await auth.org_access(own_org, Credential("api_key", genuine), RequestInfo(ip="192.0.2.200"))
    assert access.ctx.tenant_id == own_org


async def test_a_key_no_region_knows_is_401(stores: Any) -> None:
    org_id, _ = await _org_with_key(stores, "US")
    unknown = apikeys.generate().plaintext
    with pytest.raises(AuthenticationError, match="unknown API key"):
        await _authenticator(stores).org_access(org_id, Credential("api_key", unknown), RequestInfo(ip="192.0.2.1"))


async def test_an_address_that_failed_often_still_signs_in_with_valid_credentials(stores: Any) -> None:
    person = _principal()
    org = await orgs.create_org(stores, person, name="Office", country="DE", region=None, request=RequestInfo())
    ctx = TenantContext.for_org(stores, org["id"])
    _, key = await keys.create_key(ctx, name="ci", scopes=[Scope.READ], actor="test", request=RequestInfo())
    auth = _authenticator(stores, person)
    office = RequestInfo(ip="203.0.113.50")  # one NAT address for a whole office
    refused = []
    for _ in range(25):
        with pytest.raises((AuthenticationError, TooManyRequestsError)) as caught:
            await auth.principal(Credential("bearer", "expired-or-forged"), office)
        refused.append(type(caught.value))
    assert refused[0] is AuthenticationError and refused[-1] is TooManyRequestsError  # failures are throttled

    assert await auth.principal(Credential("bearer", "good-token"), office) == person
    assert (await auth.org_access(org["id"], Credential("bearer", "good-token"), office)).caller.email == person.email
    assert (await auth.org_access(org["id"], Credential("api_key", key), office)).ctx.tenant_id == org["id"]
    with pytest.raises(TooManyRequestsError):  # while further failures from it stay refused
        await auth.org_access(org["id"], Credential("api_key", apikeys.generate().plaintext), office)


async def test_authenticated_requests_spend_the_rate_but_stream_rechecks_do_not(stores: Any) -> None:
    from shared.identity.access import Action
    from shared.identity.ratelimit import RequestRateLimits

    org_id, key = await _org_with_key(stores, "DE")
    now = [0.0]
    auth = Authenticator(
        stores,
        cast(OidcValidator, _OneToken()),
        rates=RequestRateLimits(caller_rate=1, caller_burst=3, clock=lambda: now[0]),
    )
    cred = Credential("api_key", key)
    access = None
    for _ in range(3):
        access = await auth.org_access(org_id, cred, RequestInfo(ip="192.0.2.9"))
    assert access is not None
    for _ in range(5):
        await auth.reauthorise(access, cred, Action.LOGS_READ)
    with pytest.raises(TooManyRequestsError) as caught:
        await auth.org_access(org_id, cred, RequestInfo(ip="192.0.2.9"))
    assert caught.value.retry_after >= 1
    now[0] += 1.0
    await auth.org_access(org_id, cred, RequestInfo(ip="192.0.2.9"))
