"""GDPR export through the API: admins only, audited, one zip downloadable for a while."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import add_member, create_org


def test_admin_exports_the_org_as_a_zip(running_app: RunningApp, dev_issuer: Any) -> None:
    org = create_org(running_app, dev_issuer, name="Export Co")
    member = add_member(running_app, dev_issuer, org, "max")
    with running_app.client(member) as c:
        assert c.post(f"/api/orgs/{org.id}/exports", json={}).status_code == 403
    with running_app.client(org.admin_token) as c:
        assert c.post(f"/api/orgs/{org.id}/exports", json={"format": "tar"}).status_code == 422
        created = c.post(f"/api/orgs/{org.id}/exports", json={})
        assert created.status_code == 201, created.text
        export = created.json()
        shown = c.get(f"/api/orgs/{org.id}/exports/{export['id']}")
        download = c.get(export["download"])
        missing = c.get(f"/api/orgs/{org.id}/exports/exp_nothere/download")
        audit = c.get(f"/api/orgs/{org.id}/audit").json()["items"]
    assert shown.status_code == 200 and shown.json()["expiresAt"] == export["expiresAt"]
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert missing.status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    org_doc = json.loads(archive.read("organisation.json"))
    members = [json.loads(line) for line in archive.read("members.jsonl").splitlines()]
    assert org_doc["id"] == org.id and org_doc["name"] == "Export Co"
    assert len(members) == 2 and all("@example.com" in m["email"] for m in members)
    assert json.loads(archive.read("manifest.json"))["files"]["members.jsonl"] == 2
    assert ("export.requested", export["id"]) in [(e["action"], e["target"]) for e in audit]


def test_an_export_is_not_reachable_from_another_org(running_app: RunningApp, dev_issuer: Any) -> None:
    a = create_org(running_app, dev_issuer)
    b = create_org(running_app, dev_issuer)
    with running_app.client(a.admin_token) as c:
        export = c.post(f"/api/orgs/{a.id}/exports", json={}).json()
    with running_app.client(b.admin_token) as c:
        assert c.get(f"/api/orgs/{b.id}/exports/{export['id']}/download").status_code == 404
        assert c.get(f"/api/orgs/{a.id}/exports/{export['id']}/download").status_code == 404
