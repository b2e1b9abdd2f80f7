"""The console end to end: the app served by the local runner (a subprocess, like `ferry up`)
on a free port, the vendor simulators in this process, and headless Chromium driven by
Playwright. The browser is Debian's `chromium` (`executable_path`): nothing is downloaded.
Screenshots go to `.ferry/test-artifacts/console/` (git-ignored), or `$FERRY_TEST_ARTIFACTS`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.app_runner import RunningApp

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "console" / "dist"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class ConsoleApp:
    base_url: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def console_app(running_app: RunningApp) -> ConsoleApp:
    """The session's runner (tests/conftest.py), which serves the console too: no runner of
    the suite's own (each test signs in and makes an org of its own)."""
    if not (DIST / "index.html").is_file():
        pytest.fail("console/dist is missing: `./dev test` builds the console before running the tests")
    return ConsoleApp(running_app.base_url, running_app.proc, running_app.log)


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("FERRY_TEST_ARTIFACTS") or ROOT / ".ferry" / "test-artifacts") / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the console suite (each test opens a context of its own: no cookie or
    storage is shared), closed when the suite ends: Playwright's sync API keeps its event loop
    running in this thread while it is open, which the asyncio tests of later suites must not
    find (the console suite has none)."""
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (./dev test installs it with apt-get as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
        )
        try:
            yield b
        finally:
            b.close()


@dataclass
class PageWatch:
    """What a page said that a person would not want: console errors, uncaught exceptions,
    CSP violations, dialogs (an `alert()` from a vendor-supplied name would be one)."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core on the current page; the serious and critical violations. Evaluated through the
    DevTools protocol, which the page's CSP does not govern (no script tag is injected)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v.get("impact") in ("serious", "critical")
    ]
