"""Members are bound to (issuer, subject) once claimed; an invitation is claimed only with an
e-mail the issuer verified. A token that merely carries someone's e-mail gets nothing of theirs."""

from __future__ import annotations

from typing import Any

from tests.conftest import AUDIENCE
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import create_org, email


def _orgs(app: RunningApp, token: str) -> list[str]:
    with app.client(token) as c:
        r = c.get("/api/me")
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()["organisations"]]


def test_another_subject_with_a_members_email_sees_none_of_her_orgs(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    with running_app.client(org.admin_token) as c:
        admin_email = c.get("/api/me").json()["email"]
    impostor = dev_issuer.mint(admin_email, audience=AUDIENCE, sub="someone-else-entirely")
    assert _orgs(running_app, impostor) == []
    with running_app.client(impostor) as c:
        r = c.get(f"/api/orgs/{org.id}")
    assert r.status_code == 404
    assert _orgs(running_app, org.admin_token) == [org.id]  # the real admin still sees it


def test_an_invitation_is_claimed_once_and_only_with_a_verified_email(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer)
    invitee = email("invitee")
    with running_app.client(org.admin_token) as c:
        r = c.post(f"/api/orgs/{org.id}/members", json={"email": invitee, "role": "admin"})
        assert r.status_code == 201, r.text

    unverified = dev_issuer.mint(invitee, audience=AUDIENCE, sub="unverified-sub", email_verified=None)
    assert _orgs(running_app, unverified) == []
    with running_app.client(unverified) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 404

    genuine = dev_issuer.mint(invitee, audience=AUDIENCE, sub="genuine-sub")
    assert _orgs(running_app, genuine) == [org.id]  # a pending invitation shows to its verified address
    with running_app.client(genuine) as c:
        claimed = c.get(f"/api/orgs/{org.id}")
    assert claimed.status_code == 200 and claimed.json()["you"]["role"] == "admin"

    late = dev_issuer.mint(invitee, audience=AUDIENCE, sub="late-sub")  # verified, but not the claimant
    assert _orgs(running_app, late) == []
    with running_app.client(late) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 404
    with running_app.client(genuine) as c:
        assert c.get(f"/api/orgs/{org.id}").status_code == 200
