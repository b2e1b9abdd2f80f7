"""How the app serves the console and the API docs: a stable path, hashed assets cached for a
year, index.html revalidated with a strict Content-Security-Policy, Swagger UI from local
files (no CDN, no inline script), and a first load under 250 KB of gzipped JavaScript."""

from __future__ import annotations

import gzip
import re

import httpx

from tests.console.conftest import DIST, ConsoleApp


def _client(app: ConsoleApp) -> httpx.Client:
    return httpx.Client(base_url=app.base_url, timeout=30)


def test_console_index_has_a_strict_csp_and_no_inline_script(
    console_app: ConsoleApp, local_env: dict[str, str]
) -> None:
    with _client(console_app) as c:
        root = c.get("/", follow_redirects=False)
        page = c.get("/console/")
        deep = c.get("/console/orgs/org_eu_x/migrations/mig_1")
    assert root.status_code in (301, 302, 307, 308) and root.headers["location"] == "/console/"
    assert page.status_code == 200 and deep.status_code == 200 and deep.text == page.text
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert local_env["FERRY_OIDC_ISSUERS"] in directives["connect-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page.text, re.S)
    assert scripts and all(not body.strip() for body in scripts), "inline script in index.html"
    assert not re.search(r"\son[a-z]+=", page.text), "inline event handler in index.html"


def test_hashed_assets_are_cached_for_a_year(console_app: ConsoleApp) -> None:
    with _client(console_app) as c:
        index = c.get("/console/").text
        assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', index)
        assert assets
        total_js_gzip = 0
        for url in assets:
            r = c.get(url)
            assert r.status_code == 200, url
            assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", url), f"asset name is not hashed: {url}"
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
            if url.endswith(".js"):
                assert r.headers["content-type"].startswith("text/javascript")
                total_js_gzip += len(gzip.compress(r.content))
        assert total_js_gzip < 250 * 1024, f"first load is {total_js_gzip} bytes of gzipped JavaScript"
        missing = c.get("/console/assets/nope-12345678.js")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        for probe in ("/console/assets/..%2F..%2F..%2Fhost.json", "/console/..%2F..%2Fhost.json"):
            assert "extensionBundle" not in c.get(probe).text, probe


def test_console_config_names_the_issuer(console_app: ConsoleApp, local_env: dict[str, str]) -> None:
    with _client(console_app) as c:
        cfg = c.get("/console/config.json").json()
    assert cfg["issuer"] == local_env["FERRY_OIDC_ISSUERS"]
    assert cfg["audience"] == local_env["FERRY_OIDC_AUDIENCE"] and cfg["clientId"]


def test_api_docs_use_local_swagger_ui(console_app: ConsoleApp) -> None:
    with _client(console_app) as c:
        docs = c.get("/api/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "cdn" not in docs.text.lower() and "https://" not in docs.text
        assert "script-src 'self'" in docs.headers["content-security-policy"]
        for body in re.findall(r"<script\b[^>]*>(.*?)</script>", docs.text, re.S):
            assert not body.strip(), "inline script on /api/docs"
        for url in re.findall(r'(?:src|href)="(/api/docs/assets/[^"]+)"', docs.text):
            assert c.get(url).status_code == 200, url
        assert c.get("/api/openapi.json").status_code == 200
    assert (DIST / "swagger" / "swagger-ui-bundle.js").is_file()
