"""The console as a Static Web App (infra/bicep/modules/console.bicep): `console static-site`
lays out the build with its `config.json` and `staticwebapp.config.json`, and the console,
served from another origin under those rules, signs in and works against the stamp's API.

The site is played by a small stand-in that applies staticwebapp.config.json the way Static
Web Apps documents it (first matching route, its headers over the global ones, the
navigation fallback and its exclusions), and the Function App's platform CORS by a shim in
front of the API that admits the site's origin; Chromium enforces the CSP for real."""

from __future__ import annotations

import fnmatch
import json
import mimetypes
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from functions.http_api.console import (
    ASSET_CACHE,
    CONSOLE_CONFIG_KEYS,
    STATIC_SITE_CONFIG,
    StaticSiteError,
    console_csp,
    static_site_console_config,
    write_static_site,
)
from tests.console.conftest import DIST, ROOT, ConsoleApp, PageWatch, artifacts_dir, run_axe

API_HOST = "https://func-ferryprodeu.azurewebsites.net"
ISSUER = "https://login.microsoftonline.com/tenant-id/v2.0"


def _outputs(issuer: str = ISSUER, api_base: str = f"{API_HOST}/api", **extra: Any) -> dict[str, Any]:
    """`az deployment group show --query properties.outputs` as it prints main.bicep's."""
    config = {
        "issuer": issuer,
        "clientId": "spa-client",
        "scope": "openid profile email",
        "audience": "api://ferry",
        "apiBase": api_base,
        **extra,
    }
    return {
        "consoleConfig": {"type": "Object", "value": config},
        "consoleHosting": {"type": "String", "value": "staticWebApp"},
    }


def _directives(csp: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


def _expand_braces(pattern: str) -> list[str]:
    found = re.search(r"\{([^}]*)\}", pattern)
    if not found:
        return [pattern]
    return [pattern[: found.start()] + alt + pattern[found.end() :] for alt in found.group(1).split(",")]


class StaticWebApp:
    """Answers a path as Static Web Apps would from the uploaded folder and its config file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = json.loads((folder / STATIC_SITE_CONFIG).read_text(encoding="utf-8"))
        exclude = self.config["navigationFallback"]["exclude"]
        self.excluded = [p for pattern in exclude for p in _expand_braces(pattern)]

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        headers = dict(self.config["globalHeaders"])
        for rule in self.config["routes"]:  # the first matching route applies
            if fnmatch.fnmatchcase(path, rule["route"]):
                if "redirect" in rule:
                    return rule["statusCode"], {"Location": rule["redirect"]}, b""
                headers.update(rule.get("headers", {}))
                break
        file = self.folder / path.lstrip("/")
        if not file.is_file():
            if any(fnmatch.fnmatchcase(path, p) for p in self.excluded):
                return 404, {"Content-Type": "text/plain"}, b"not found"
            file = self.folder / self.config["navigationFallback"]["rewrite"].lstrip("/")
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return 200, {**headers, "Content-Type": kind}, file.read_bytes()


def test_static_site_layout_and_its_headers(tmp_path: Path) -> None:
    site = write_static_site(DIST, _outputs(), tmp_path / "site")
    console = site / "console"
    assert (console / "index.html").read_bytes() == (DIST / "index.html").read_bytes()
    index = (console / "index.html").read_text(encoding="utf-8")
    referenced = re.findall(r'(?:src|href)="/console/(assets/[^"]+)"', index)
    assert referenced and all((console / ref).is_file() for ref in referenced)
    assert not (console / "swagger").exists(), "the API docs stay on the app"
    config = json.loads((console / "config.json").read_text(encoding="utf-8"))
    assert tuple(config) == CONSOLE_CONFIG_KEYS and config["apiBase"] == f"{API_HOST}/api"

    swa = StaticWebApp(site)
    status, headers, body = swa.answer("/console/orgs/org_eu_x/migrations/mig_1")  # a deep link
    assert status == 200 and body == (console / "index.html").read_bytes()
    assert headers["Cache-Control"] == "no-cache"
    csp = _directives(headers["Content-Security-Policy"])
    app_served = _directives(console_csp((ISSUER,)))
    # The app's policy, with the API's origin added to where the page may connect.
    assert {k: v for k, v in csp.items() if k != "connect-src"} == {
        k: v for k, v in app_served.items() if k != "connect-src"
    }
    assert csp["connect-src"].split() == ["'self'", API_HOST, "https://login.microsoftonline.com"]
    assert csp["script-src"] == "'self'" and "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = swa.answer(f"/console/{referenced[0]}")
    assert status == 200 and headers["Cache-Control"] == ASSET_CACHE
    assert swa.answer("/console/assets/gone-12345678.js")[0] == 404  # a missing asset is not the page
    assert swa.answer("/console/config.json")[1]["Cache-Control"] == "no-cache"
    assert swa.answer("/")[:2] == (302, {"Location": "/console/"})


@pytest.mark.parametrize(
    ("outputs", "complaint"),
    [
        (_outputs(api_base="http://func-ferryprodeu.azurewebsites.net/api"), "apiBase must be an https"),
        (_outputs(api_base=f"{API_HOST}/v1"), "must end with /api"),
        (_outputs(issuer="http://issuer.example"), "issuer must be an https"),
        (_outputs(clientId=""), "lacks clientId"),
        ({"functionAppUrl": {"type": "String", "value": API_HOST}}, "lacks issuer"),
    ],
)
def test_outputs_that_cannot_make_a_site_are_refused(outputs: dict[str, Any], complaint: str) -> None:
    with pytest.raises(StaticSiteError, match=complaint):
        static_site_console_config(outputs)


def test_cli_writes_nothing_from_bad_outputs(tmp_path: Path) -> None:
    bad = tmp_path / "outputs.json"
    bad.write_text(json.dumps(_outputs(api_base="ftp://x/api")), encoding="utf-8")
    out = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "functions.http_api.console", "static-site", str(bad), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1 and "apiBase must be an https" in proc.stderr
    assert not out.exists()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_outputs()), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "functions.http_api.console", "static-site", str(good), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / STATIC_SITE_CONFIG).is_file() and (out / "console" / "config.json").is_file()


def test_the_app_serves_the_same_config_keys(console_app: ConsoleApp) -> None:
    served = httpx.get(f"{console_app.base_url}/console/config.json", timeout=30).json()
    assert tuple(served) == CONSOLE_CONFIG_KEYS and served["apiBase"] == "/api"


def test_console_from_another_origin_signs_in_and_calls_the_stamp_api(
    console_app: ConsoleApp, browser: Any, local_env: dict[str, str], tmp_path: Path
) -> None:
    api_origin = console_app.base_url
    site_paths: list[str] = []
    api_calls: list[tuple[str, str, str | None]] = []
    with serve_static_web_app(site_paths) as (site_origin, publish):
        outputs = _outputs(
            issuer=local_env["FERRY_OIDC_ISSUERS"],
            api_base=f"{api_origin}/api",
            clientId="ferry-console",
            audience=local_env["FERRY_OIDC_AUDIENCE"],
        )
        publish(write_static_site(DIST, outputs, tmp_path / "site"))
        _sign_in_and_create_an_org(browser, site_origin, api_origin, api_calls)
    # Every API call went to the stamp's API, from the site's origin; none to the site itself.
    assert ("POST", "/api/orgs", site_origin) in api_calls, api_calls
    assert any(m == "GET" and p == "/api/me" for m, p, _ in api_calls), api_calls
    assert not [p for p in site_paths if p.startswith("/api")], site_paths
    assert "/console/config.json" in site_paths


def _sign_in_and_create_an_org(
    browser: Any, site_origin: str, api_origin: str, api_calls: list[tuple[str, str, str | None]]
) -> None:
    from playwright.sync_api import expect

    def platform_cors(route: Any, request: Any) -> None:
        origin = request.headers.get("origin")
        allowed = {"access-control-allow-origin": site_origin} if origin == site_origin else {}
        if request.method == "OPTIONS":  # the preflight of a call with a bearer token or JSON body
            route.fulfill(
                status=204 if allowed else 403,
                headers={
                    **allowed,
                    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
                    "access-control-allow-headers": request.headers.get("access-control-request-headers", ""),
                },
            )
            return
        api_calls.append((request.method, httpx.URL(request.url).path, origin))
        answer = route.fetch()
        route.fulfill(response=answer, headers={**answer.headers, **allowed})

    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="America/New_York")
    context.route(f"{api_origin}/api/**", platform_cors)
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch()
    watch.attach(page)
    try:
        page.goto(f"{site_origin}/console/")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Email").fill("static-site@console.example")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("static-site@console.example")).to_be_visible()
        assert page.url.startswith(site_origin)
        page.get_by_label("Name").fill("Static Site Org")
        page.get_by_role("button", name="Create organisation").click()
        expect(page.get_by_role("heading", name="Connectors", level=1)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Static Site Org").first).to_be_visible()
        page.screenshot(path=str(artifacts_dir() / "static-site-connectors.png"), full_page=True)
        assert run_axe(page) == []
    finally:
        context.close()
    assert watch.errors == [] and watch.dialogs == [], watch.errors


@contextmanager
def serve_static_web_app(paths: list[str]) -> Iterator[tuple[str, Any]]:
    """The stand-in site on a loopback port (Chromium lets a loopback page reach the loopback
    API and issuer only when the page itself came from loopback); yields its origin and a
    function that publishes a laid-out folder."""
    state: dict[str, StaticWebApp] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            paths.append(path)
            status, headers, body = state["site"].answer(path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(site: Path) -> None:
        state["site"] = StaticWebApp(site)

    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", publish
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
