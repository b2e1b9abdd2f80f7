"""Schemathesis against the OpenAPI document (issue 18): a bounded, seeded, signed-in run over
every operation through the local runner. It fails on any 5xx, on an error answered without
problem+json, and on an answer whose content type the document does not declare
(Schemathesis checks: no server error, declared content types, 405 with a true `Allow` for
methods the document does not declare, invalid input and missing required headers refused).

Bounded: a few dozen cases per operation and a time budget; the seed makes a failure
reproducible (`st run … --seed 18`, the command is in the failure message). The fuzzing
happens in one organisation of its own, signed in as its admin.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import create_org

ST = Path(sys.executable).parent / "st"
SEED = 18
MAX_EXAMPLES = 25
TIME_BUDGET_S = 45


def _st_command(base_url: str, token: str, config: Path, har: Path) -> list[str]:
    return [
        str(ST),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base_url}/api/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--seed",
        str(SEED),
        "-n",
        str(MAX_EXAMPLES),
        "--max-time",
        str(TIME_BUDGET_S),
        "--no-shrink",
        # No stateful phase: it would chain real runs into the session's queues.
        "--phases",
        "examples,coverage,fuzzing",
        "-c",
        "not_a_server_error,content_type_conformance,unsupported_method,allow_header_conformance,"
        "missing_required_header,negative_data_rejection",
        "--request-timeout",
        "30",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]


def _entries(har: Path) -> list[dict[str, Any]]:
    return list(json.loads(har.read_text())["log"]["entries"])


def test_fuzzing_the_openapi_document_finds_no_5xx_nor_non_problem_error(
    running_app: RunningApp, dev_issuer: Any, tmp_path: Path
) -> None:
    org = create_org(running_app, dev_issuer, name="Fuzzed")
    config = tmp_path / "schemathesis.toml"
    # Every operation under the org is tried in this org; other ids are generated (mostly 404/422).
    config.write_text(f'[parameters]\n"path.orgId" = "{org.id}"\n')
    har = tmp_path / "fuzz.har"
    command = _st_command(running_app.base_url, org.admin_token, config, har)
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=TIME_BUDGET_S + 120, check=False
    )
    printable = " ".join(command).replace(org.admin_token, "<token>")
    assert done.returncode == 0, f"{printable}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    entries = _entries(har)
    operations = {(e["request"]["method"], e["request"]["url"].split("?")[0]) for e in entries}
    assert len(entries) >= 200 and len(operations) >= 20, (len(entries), len(operations))
    bad = [
        f"{e['request']['method']} {e['request']['url'][:150]} → {e['response']['status']} "
        f"{e['response']['content'].get('mimeType')}"
        for e in entries
        if e["response"]["status"] >= 500
        or (
            e["response"]["status"] >= 400
            and not str(e["response"]["content"].get("mimeType", "")).startswith("application/problem+json")
        )
    ]
    assert not bad, "\n".join(bad[:20])
