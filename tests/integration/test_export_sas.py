"""The export download's user-delegation SAS URL, exercised against real (Azurite) storage.

`download_url` is what Azure deployments answer a download with (a 307 to this URL), so
these tests run the real function against an Azurite that can sign user-delegation keys:
HTTPS with a self-signed certificate and `--oauth basic` (see azurite_https.py). The
archive bytes are random; what matters is who may read them, for how long, and how.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from shared.config import BLOB_EXPORTS
from shared.retention.export import download_url, export_blob_name
from shared.store.storage import RegionStorage
from tests.integration.azurite_https import AzureAdLikeCredential, AzuriteHttps, start_azurite_https

TENANT = "org_eu_sastest"


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteHttps]:
    server = start_azurite_https(Path(tmp_path_factory.mktemp("azurite-https")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def service(azurite: AzuriteHttps) -> AsyncIterator[Any]:
    """A BlobServiceClient authenticated by bearer token, as in Azure (no account key)."""
    from azure.storage.blob.aio import BlobServiceClient

    # connection_verify=False: the certificate is self-signed for this run only.
    client = BlobServiceClient(
        azurite.account_url, credential=AzureAdLikeCredential(), connection_verify=False, retry_total=0
    )
    async with client:
        await client.create_container(BLOB_EXPORTS)
        yield client


@pytest.fixture(scope="module")
def ctx(service: Any) -> Any:
    # download_url reads only ctx.storage.blobs; RegionStorage is the production holder of
    # that client (its settings and queues play no part here). The storage itself is real.
    return SimpleNamespace(
        tenant_id=TENANT, region="eu", storage=RegionStorage(settings=None, blobs=service, queue_service=None)
    )  # type: ignore[arg-type]


async def _upload(ctx: Any, export_id: str, data: bytes) -> Any:
    blob = ctx.storage.container(BLOB_EXPORTS).get_blob_client(export_blob_name(ctx.tenant_id, export_id))
    await blob.upload_blob(data, overwrite=True)
    return blob


@pytest.fixture(scope="module")
async def archive(ctx: Any) -> tuple[Any, bytes]:
    data = os.urandom(300 * 1024)
    return await _upload(ctx, "exp_sastestarchive01", data), data


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # verify=False: the self-signed certificate; the URL carries all the authority there is.
    async with httpx.AsyncClient(verify=False, timeout=10) as client:
        yield client


def _now() -> datetime:
    return datetime.now(UTC)


async def test_sas_url_downloads_the_archive_as_an_attachment(
    ctx: Any, archive: tuple[Any, bytes], http: httpx.AsyncClient
) -> None:
    blob, data = archive
    url = await download_url(ctx, blob, now=_now())
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and query["sr"] == ["b"]
    assert "skoid" in query and "sktid" in query  # user-delegation, not account-key, SAS
    resp = await http.get(url)
    assert resp.status_code == 200, resp.text
    assert resp.content == data
    disposition = resp.headers.get("content-disposition", "")
    assert disposition == 'attachment; filename="exp_sastestarchive01.zip"'


async def test_sas_url_cannot_write_or_delete(ctx: Any, archive: tuple[Any, bytes], http: httpx.AsyncClient) -> None:
    blob, data = archive
    url = await download_url(ctx, blob, now=_now())
    assert (await http.get(url)).status_code == 200  # the same URL reads: the refusals are about permission
    put = await http.put(url, content=b"overwritten", headers={"x-ms-blob-type": "BlockBlob"})
    assert put.status_code == 403, put.text
    assert put.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch"
    delete = await http.delete(url)
    assert delete.status_code == 403, delete.text
    assert delete.headers.get("x-ms-error-code") == "AuthorizationPermissionMismatch"
    assert await (await blob.download_blob()).readall() == data


async def test_expired_sas_url_is_refused(ctx: Any, archive: tuple[Any, bytes], http: httpx.AsyncClient) -> None:
    blob, _ = archive
    url = await download_url(ctx, blob, now=_now() - timedelta(hours=1), valid=timedelta(minutes=15))
    assert parse_qs(urlsplit(url).query)["se"][0] < _now().strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = await http.get(url)
    assert resp.status_code == 403, resp.text


async def test_sas_url_is_bound_to_its_blob(ctx: Any, archive: tuple[Any, bytes], http: httpx.AsyncClient) -> None:
    blob, _ = archive
    other = await _upload(ctx, "exp_sastestotherorg2", os.urandom(1024))
    url = await download_url(ctx, blob, now=_now())
    parts = urlsplit(url)
    tampered = urlunsplit(parts._replace(path=urlsplit(other.url).path))
    assert tampered != url
    resp = await http.get(tampered)
    assert resp.status_code == 403, resp.text
    # Both blobs are there and each reads with its own URL: the 403 is the signature's doing.
    assert (await http.get(url)).status_code == 200
    assert (await http.get(await download_url(ctx, other, now=_now()))).status_code == 200


async def test_azurite_checks_the_signature(ctx: Any, archive: tuple[Any, bytes], http: httpx.AsyncClient) -> None:
    """Guards the tests above: this Azurite refuses a SAS whose signature was altered, so a
    200 for download_url's URL means its signature is right."""
    blob, _ = archive
    url = await download_url(ctx, blob, now=_now())
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    sig = query["sig"][0]
    query["sig"] = [("B" if sig[0] != "B" else "C") + sig[1:]]
    resp = await http.get(urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
    assert resp.status_code == 403, resp.text
