"""An Azurite blob service over HTTPS with `--oauth basic`, and a token credential it accepts.

User-delegation SAS needs both: Azurite answers Get User Delegation Key only to a bearer
token, and accepts bearer tokens only over HTTPS (LOCAL-STACK.md). With `--oauth basic`
Azurite decodes the JWT without checking its signature; it requires `iat`, `nbf` and `exp`
(and that now lies between nbf and exp), an issuer starting with an Azure AD prefix such as
`https://sts.windows.net/`, and a storage audience such as `https://storage.azure.com`
(node_modules/azurite/dist/src/blob/authentication/BlobTokenAuthenticator.js,
VALID_ISSUE_PREFIXES in common/utils/constants.js, VALID_BLOB_AUDIENCES in
blob/utils/constants.js). The key it hands out is derived from the token's `oid` and `tid`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from tools.stack import NODE_BIN, free_port, wait_for_port

ACCOUNT = "devstoreaccount1"  # Azurite's built-in account (AZURITE_ACCOUNTS is cleared below)
STORAGE_AUDIENCE = "https://storage.azure.com"


def write_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1/localhost: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class AzuriteHttps:
    """A running `azurite-blob` over HTTPS with OAuth; `account_url` names the account."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def account_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/{ACCOUNT}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_azurite_https(directory: Path) -> AzuriteHttps:
    """Start a blob-only Azurite on a free port, HTTPS with a fresh self-signed cert,
    `--oauth basic`, data in memory; returns once the port accepts connections."""
    if not (NODE_BIN / "azurite-blob").exists():
        raise RuntimeError("npm dev tools are missing: run `npm ci` in the project root (the set-up does)")
    cert, key = write_self_signed_cert(directory)
    port = free_port()
    log = directory / "azurite-https.log"
    cmd = [
        str(NODE_BIN / "azurite-blob"),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--oauth",
        "basic",
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
    ]
    env = {k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"}
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=directory)
    server = AzuriteHttps(port, proc, log)
    try:
        wait_for_port(port, proc=proc)
    except Exception:
        server.stop()
        raise
    return server


class AzureAdLikeCredential:
    """An async TokenCredential minting JWTs shaped like Azure AD access tokens for storage.

    Signed with HS256 and a random key: Azurite's `--oauth basic` does not verify
    signatures (see module docstring), so only the claims matter here.
    """

    def __init__(
        self,
        *,
        tenant_id: str | None = None,
        object_id: str | None = None,
        lifetime: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.object_id = object_id or str(uuid.uuid4())
        self.lifetime = lifetime
        self._key = os.urandom(32)

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        import jwt
        from azure.core.credentials import AccessToken

        now = int(time.time())
        exp = now + int(self.lifetime.total_seconds())
        claims = {
            "aud": STORAGE_AUDIENCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now - 60,
            "exp": exp,
            "oid": self.object_id,
            "tid": self.tenant_id,
            "sub": self.object_id,
            "scp": "user_impersonation",
            "ver": "1.0",
        }
        return AccessToken(jwt.encode(claims, self._key, algorithm="HS256"), exp)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


__all__ = ["ACCOUNT", "AzureAdLikeCredential", "AzuriteHttps", "start_azurite_https", "write_self_signed_cert"]
