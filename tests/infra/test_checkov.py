"""checkov reports no failed check on the Bicep stamp, and every skip carries its reason.

checkov is heavy and pins old versions of packages the app also uses, so it lives in its
own virtual environment. The test finds it, in this order, at `$FERRY_CHECKOV` (path of
the `checkov` executable), at `.venv-infra/bin/checkov`, or on PATH. When it is nowhere
the test fails and says how to install it: a security gate must not pass by skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_model import BICEP_DIR, REPO_ROOT, bicep_files

INSTALL_HINT = (
    "checkov not found. Install it in its own venv:\n"
    "  python3.11 -m venv .venv-infra && .venv-infra/bin/pip install checkov==3.3.30\n"
    "or point FERRY_CHECKOV at a checkov executable."
)

# `// checkov:skip=CKV_ID:reason` as checkov reads it in Bicep files.
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$")
MIN_REASON_CHARS = 40


def _checkov_executable() -> str:
    candidates = [os.environ.get("FERRY_CHECKOV"), str(REPO_ROOT / ".venv-infra" / "bin" / "checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("checkov")
    if on_path:
        return on_path
    pytest.fail(INSTALL_HINT)


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """One offline checkov run over infra/bicep, as JSON."""
    env = dict(os.environ, CKV_SKIP_PACKAGE_UPDATE_CHECK="true", BC_SKIP_MAPPING="TRUE")
    proc = subprocess.run(
        [
            _checkov_executable(),
            "-d",
            str(BICEP_DIR),
            "--framework",
            "bicep",
            "--skip-download",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), f"checkov printed nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    report = json.loads(proc.stdout)
    if isinstance(report, list):  # one entry per framework when several run
        report = next(r for r in report if r.get("check_type") == "bicep")
    report["exit_code"] = proc.returncode
    return report


def _skip_comments() -> dict[tuple[str, str], str]:
    """(file relative to infra/bicep, check id) → reason, for every inline skip."""
    found: dict[tuple[str, str], str] = {}
    for path in bicep_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            match = SKIP_COMMENT.search(line.strip())
            if match:
                rel = "/" + str(path.relative_to(BICEP_DIR))
                found[(rel, match.group(1))] = (match.group(2) or "").strip()
    return found


def test_checkov_reports_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert checkov_report["exit_code"] == 0


def test_checkov_parsed_every_file(checkov_report: dict[str, Any]) -> None:
    """checkov silently drops a file it cannot parse: a parse error must fail here instead."""
    assert checkov_report["results"]["parsing_errors"] == []
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["passed"] > 0
    assert checkov_report["summary"]["resource_count"] > 0


def test_every_skip_carries_its_reason_inline(checkov_report: dict[str, Any]) -> None:
    comments = _skip_comments()
    short = {key: reason for key, reason in comments.items() if len(reason) < MIN_REASON_CHARS}
    assert not short, f"skips without a real reason: {short}"
    for check in checkov_report["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= MIN_REASON_CHARS, f"{check['check_id']} skipped without reason"
        assert (check["file_path"], check["check_id"]) in comments, (
            f"{check['check_id']} in {check['file_path']} skipped by something other than an inline comment"
        )


def test_no_stale_skip_comments(checkov_report: dict[str, Any]) -> None:
    """A skip that no longer matches a check hides nothing and misleads the reader: remove it."""
    used = {(c["file_path"], c["check_id"]) for c in checkov_report["results"]["skipped_checks"]}
    stale = sorted(set(_skip_comments()) - used)
    assert not stale, f"skip comments that checkov did not use: {stale}"
