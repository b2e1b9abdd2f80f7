"""The development issuer: persisted keys, rotation, HTTP documents, CLI."""

from __future__ import annotations

import httpx
import jwt

from tools.dev_issuer import DEFAULT_AUDIENCE, DevIssuer, main, subject_for


def test_keys_persist_across_instances(tmp_path) -> None:
    first = DevIssuer(tmp_path, issuer="http://127.0.0.1:9999")
    token = first.mint("a@example.com")
    second = DevIssuer(tmp_path, issuer="http://127.0.0.1:9999")
    assert second.current_kid == first.current_kid
    assert second.jwks() == first.jwks()
    key = jwt.PyJWK(second.jwks()["keys"][0])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=DEFAULT_AUDIENCE)
    assert claims["sub"] == subject_for("A@example.com")
    assert (tmp_path / "dev-issuer-keys.json").stat().st_mode & 0o077 == 0


def test_rotation_publishes_new_key_and_keeps_old(tmp_path) -> None:
    issuer = DevIssuer(tmp_path)
    old = issuer.current_kid
    new = issuer.rotate()
    assert new != old and issuer.current_kid == new
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [old, new]
    assert jwt.get_unverified_header(issuer.mint("a@x.org"))["kid"] == new
    assert jwt.get_unverified_header(issuer.mint("a@x.org", kid=old))["kid"] == old
    # A running issuer sees a rotation made by another process (e.g. the CLI).
    other = DevIssuer(tmp_path)
    newest = other.rotate()
    assert issuer.jwks()["keys"][-1]["kid"] == newest


def test_served_documents(own_issuer: DevIssuer) -> None:
    discovery = httpx.get(f"{own_issuer.issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == own_issuer.issuer
    assert discovery["jwks_uri"] == f"{own_issuer.issuer}/jwks"
    jwks = httpx.get(discovery["jwks_uri"]).json()
    assert jwks == own_issuer.jwks()
    assert all("d" not in k for k in jwks["keys"])  # public halves only
    assert own_issuer.jwks_requests == 1 and own_issuer.discovery_requests == 1


def test_cli_token(tmp_path, capsys) -> None:
    assert main(["token", "Bob@Example.com", "--keys", str(tmp_path), "--port", "8123"]) == 0
    token = capsys.readouterr().out.strip()
    issuer = DevIssuer(tmp_path, issuer="http://127.0.0.1:8123")
    key = jwt.PyJWK(issuer.jwks()["keys"][0])
    claims = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=DEFAULT_AUDIENCE,
        issuer="http://127.0.0.1:8123",
    )
    assert claims["email"] == "Bob@Example.com"
