"""The web console and the API docs page, served by the same app as the API.

- `/console/…`: the console's static build (`console/dist`, made by `./dev`). Hashed files
  under `/console/assets/` are cached for a year (`immutable`); `index.html` is answered for
  every other console path (the app routes in the browser) and is revalidated each time.
  Every page carries a strict Content-Security-Policy: scripts and styles only from this
  origin (no inline script), connections to this origin and the OIDC issuers only.
- `/console/config.json`: what the console needs to sign in (issuer, client id, audience).
- `/api/docs`: Swagger UI from the app's own copy of `swagger-ui-dist` (no CDN), started
  by a script file, not an inline one, so the page works offline and under a CSP.
- `/`: a redirect to the console.

`python -m functions.http_api.console openapi` prints the OpenAPI document the console's
typed client is generated from; `… static-site OUTPUTS OUT` lays out the same build for an
Azure Static Web App (infra/bicep/modules/console.bicep): the files, the `config.json`
naming the stamp's API, and a `staticwebapp.config.json` carrying this module's policy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from starlette.responses import JSONResponse, RedirectResponse, Response

from functions.http_api.problems import problem

router = APIRouter(include_in_schema=False)

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_PATH = "/console"
ASSET_CACHE = "public, max-age=31536000, immutable"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
DEFAULT_CLIENT_ID = "ferry-console"
DEFAULT_SCOPE = "openid profile email"


def dist_dir() -> Path:
    """Where the built console is (`FERRY_CONSOLE_DIR` overrides, e.g. for tests)."""
    return Path(os.environ.get("FERRY_CONSOLE_DIR") or ROOT / "console" / "dist")


def _issuers() -> tuple[str, ...]:
    from shared.config import get_settings

    return tuple(get_settings().oidc_issuers)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def console_csp(issuers: tuple[str, ...], api_origins: Iterable[str] = ()) -> str:
    """The console's policy: nothing inline, nothing from elsewhere but the issuers' endpoints
    (and the API's origin when the console is served from another one, a Static Web App)."""
    issuer_origins = {_origin(i) for i in issuers}
    others = " ".join(sorted(issuer_origins))
    connect = " ".join(sorted(issuer_origins | {_origin(a) for a in api_origins}))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {connect}".strip(),
            f"form-action 'self' {others}".strip(),
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "manifest-src 'self'",
        ]
    )


# Swagger UI sets style attributes as it renders, so its page allows inline styles (never scripts).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'; form-action 'none'"
)


def _security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int) -> bytes:
    return Path(path).read_bytes()


def _file(folder: Path, name: str) -> bytes | None:
    if not _FILE_NAME.fullmatch(name) or ".." in name:
        return None
    path = folder / name
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return _read(str(path), stat.st_mtime_ns)


def _not_built(path: str) -> Response:
    return problem(
        503,
        "console-not-built",
        "Console not built",
        "the console's build is missing: run `./dev up` (or `./dev test`), which builds it",
        instance=path,
    )


def _typed(name: str, body: bytes, cache: str, extra: dict[str, str] | None = None) -> Response:
    media = _TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
    return Response(
        body, media_type=media, headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff", **(extra or {})}
    )


@router.get("/")
async def root() -> Response:
    return RedirectResponse(f"{CONSOLE_PATH}/", status_code=302)


@router.get(CONSOLE_PATH)
async def console_root() -> Response:
    return RedirectResponse(f"{CONSOLE_PATH}/", status_code=301)


@router.get(f"{CONSOLE_PATH}/config.json")
async def console_config() -> JSONResponse:
    from shared.config import get_settings

    settings = get_settings()
    issuer = os.environ.get("FERRY_CONSOLE_ISSUER") or settings.oidc_issuers[0]
    body: dict[str, Any] = {
        "issuer": issuer,
        "clientId": os.environ.get("FERRY_CONSOLE_CLIENT_ID") or DEFAULT_CLIENT_ID,
        "scope": os.environ.get("FERRY_CONSOLE_SCOPE") or DEFAULT_SCOPE,
        "audience": settings.oidc_audience,
        "apiBase": "/api",
    }
    return JSONResponse(body, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get(CONSOLE_PATH + "/assets/{name}")
async def console_asset(name: str) -> Response:
    body = _file(dist_dir() / "assets", name)
    if body is None:
        return problem(
            404, "not-found", "Not found", f"no console asset {name}", instance=f"{CONSOLE_PATH}/assets/{name}"
        )
    return _typed(name, body, ASSET_CACHE)


@router.get(CONSOLE_PATH + "/{path:path}")
async def console_page(path: str) -> Response:
    folder = dist_dir()
    last = path.rsplit("/", 1)[-1]
    if "." in last and "/" not in path:  # a top-level file of the build (favicon.svg, robots.txt)
        body = _file(folder, last)
        if body is None or last == "index.html":
            return problem(404, "not-found", "Not found", f"no console file {last}", instance=f"{CONSOLE_PATH}/{path}")
        return _typed(last, body, "public, max-age=3600")
    index = _file(folder, "index.html")
    if index is None:
        return _not_built(f"{CONSOLE_PATH}/{path}")
    return Response(
        index,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", **_security_headers(console_csp(_issuers()))},
    )


# --- API docs: Swagger UI from local files ---------------------------------------------------

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/swagger-init.js"></script>
</body>
</html>
"""


@router.get("/api/docs")
async def docs_page() -> Response:
    if _file(dist_dir() / "swagger", "swagger-ui-bundle.js") is None:
        return _not_built("/api/docs")
    return Response(
        DOCS_HTML,
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", **_security_headers(DOCS_CSP)},
    )


@router.get("/api/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    body = _file(dist_dir() / "swagger", name)
    if body is None:
        return problem(404, "not-found", "Not found", f"no docs asset {name}", instance=f"/api/docs/assets/{name}")
    return _typed(name, body, "public, max-age=86400")


# --- The same build on an Azure Static Web App -------------------------------------------

STATIC_SITE_CONFIG = "staticwebapp.config.json"
# What the console's config.json holds; main.bicep's `consoleConfig` output gives each.
CONSOLE_CONFIG_KEYS = ("issuer", "clientId", "scope", "audience", "apiBase")


class StaticSiteError(ValueError):
    """The deployment outputs cannot make a console site (a missing or non-HTTPS value)."""


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _https_url(value: object, name: str) -> str:
    """An https URL (plain http only on loopback, for a site tried on this machine)."""
    parts = urlsplit(value) if isinstance(value, str) else None
    ok = (
        parts is not None
        and bool(parts.netloc)
        and (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK))
    )
    if not ok or not isinstance(value, str):
        raise StaticSiteError(f"consoleConfig.{name} must be an https:// URL, got {value!r}")
    return value


def static_site_console_config(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The console's `config.json` from main.bicep's outputs.

    Takes what `az deployment group show --query properties.outputs` prints (each output as
    ``{"type", "value"}``) or the `consoleConfig` object itself.
    """
    raw = outputs.get("consoleConfig", outputs)
    config = raw.get("value", raw) if isinstance(raw, Mapping) else raw
    if not isinstance(config, Mapping):
        raise StaticSiteError("no consoleConfig object in the deployment outputs")
    missing = [k for k in CONSOLE_CONFIG_KEYS if not isinstance(config.get(k), str) or not config[k].strip()]
    if missing:
        raise StaticSiteError(f"consoleConfig lacks {', '.join(missing)}")
    _https_url(config["issuer"], "issuer")
    api_base = _https_url(config["apiBase"], "apiBase").rstrip("/")
    if not api_base.endswith("/api"):
        raise StaticSiteError(f"consoleConfig.apiBase must end with /api (the API's route prefix), got {api_base!r}")
    return {k: str(config[k]) for k in CONSOLE_CONFIG_KEYS} | {"apiBase": api_base}


def static_web_app_config(config: Mapping[str, str]) -> dict[str, Any]:
    """`staticwebapp.config.json`: the serving rules of this module, as Static Web Apps reads them.

    The hashed assets are cached for a year, every other console path falls back to
    index.html, and every answer carries the console's security headers; the CSP lets the
    page reach the stamp's API (another origin here) and the issuer, nothing else.
    """
    headers = _security_headers(console_csp((config["issuer"],), (config["apiBase"],)))
    return {
        "routes": [
            {"route": "/", "redirect": f"{CONSOLE_PATH}/", "statusCode": 302},
            {"route": CONSOLE_PATH, "redirect": f"{CONSOLE_PATH}/", "statusCode": 301},
            {"route": f"{CONSOLE_PATH}/assets/*", "headers": {"Cache-Control": ASSET_CACHE}},
        ],
        "navigationFallback": {
            "rewrite": f"{CONSOLE_PATH}/index.html",
            # A missing asset or top-level file is a 404, not the app's page.
            "exclude": [f"{CONSOLE_PATH}/assets/*", f"{CONSOLE_PATH}/*.{{json,svg,png,ico,txt,map,woff2}}"],
        },
        # index.html and config.json are revalidated each time (the default for every path);
        # the assets route above overrides Cache-Control only.
        "globalHeaders": {"Cache-Control": "no-cache", **headers},
    }


def write_static_site(dist: Path, outputs: Mapping[str, Any], out: Path) -> Path:
    """Lay out the built console for a Static Web App upload in `out` (replaced if present):
    `console/` (the build, without the API docs' Swagger UI, which the app serves),
    `console/config.json` and `staticwebapp.config.json`. Returns `out`."""
    if not (dist / "index.html").is_file():
        raise StaticSiteError(f"{dist} holds no built console: run `./dev console` first")
    config = static_site_console_config(outputs)
    if out.exists():
        shutil.rmtree(out)
    site = out / CONSOLE_PATH.strip("/")
    shutil.copytree(dist, site, ignore=shutil.ignore_patterns("swagger", "config.json"))
    (site / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    swa = json.dumps(static_web_app_config(config), indent=1)
    (out / STATIC_SITE_CONFIG).write_text(swa + "\n", encoding="utf-8")
    return out


USAGE = """usage: python -m functions.http_api.console openapi [OUT]
       python -m functions.http_api.console static-site OUTPUTS.json OUT_DIR"""


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["static-site"] and len(args) == 3:
        try:
            outputs = json.loads(Path(args[1]).read_text(encoding="utf-8"))
            write_static_site(dist_dir(), outputs, Path(args[2]))
        except (OSError, ValueError) as exc:  # StaticSiteError and bad JSON are ValueErrors
            print(f"static-site: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {args[2]}: upload it to the Static Web App (infra/README.md)")
        return 0
    if args[:1] != ["openapi"]:
        print(USAGE, file=sys.stderr)
        return 2
    from functions.http_api import create_api

    text = json.dumps(create_api().openapi(), indent=1, ensure_ascii=False)
    if len(args) > 1:
        Path(args[1]).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
