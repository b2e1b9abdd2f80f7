"""The console's API client is typed from the app's own OpenAPI document: regenerate the
types from the current routes and type-check the console against them, so an API change
that breaks the console fails here (the build itself only strips types)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def test_console_type_checks_against_the_current_openapi_document(tmp_path: Path) -> None:
    bin_dir = CONSOLE / "node_modules" / ".bin"
    if not (bin_dir / "tsc").exists() or shutil.which("node") is None:
        pytest.fail("console/node_modules is missing: `./dev test` installs the console's tools first")
    spec = CONSOLE / "openapi.json"
    subprocess.run(
        [sys.executable, "-m", "functions.http_api.console", "openapi", str(spec)],
        check=True,
        cwd=CONSOLE.parent,
        timeout=120,
    )
    subprocess.run(
        [
            str(bin_dir / "openapi-typescript"),
            "openapi.json",
            "--default-non-nullable",
            "false",
            "-o",
            "src/api/schema.d.ts",
            "--silent",
        ],
        check=True,
        cwd=CONSOLE,
        timeout=120,
    )
    result = subprocess.run(
        [str(bin_dir / "tsc"), "--noEmit", "-p", "."], cwd=CONSOLE, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
