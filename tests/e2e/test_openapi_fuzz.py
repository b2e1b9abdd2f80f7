"""Schemathesis against the OpenAPI document (issue 18): a seeded, signed-in, time-bounded run
over every operation through the local runner, then a stateful run that follows the
document's links. It fails on any 5xx other than the vendor answers the document declares,
on an error answered without problem+json, and on an answer whose content type the document
does not declare (Schemathesis checks: declared content types, 405 with a true `Allow` for
methods the document does not declare, invalid input and missing required headers refused).

Bounds, measured on the 2-core machine the suite runs on (see the report of issue 18): each
request costs the app about 12 ms of CPU (two thirds in the authorisation dependency's Cosmos
reads) and Schemathesis about as much to generate, so the runner answers some 20 fuzzed
requests a second; the per-credential rate limit (20/s, ratelimit.py) is the same figure.
A few hundred cases per operation (over 10,000 requests) would take eight minutes or more, so
the run is bounded by time instead: examples and the coverage phase (about 40 deterministic
cases per operation), then fuzzing in rounds of MAX_EXAMPLES cases per operation until
FUZZ_BUDGET_S is spent, then the stateful phase for STATEFUL_BUDGET_S. The seed makes a run
reproducible (the command is in the failure message).

The stateful phase follows the document's own links only (inference off): create → read →
update → delete for members, keys, connectors, migrations and exports, from lists to their
items, and from a connector to a migration within it. The test checks in the recorded
traffic that the links resolved: ids a create answered are used by later requests.
Everything happens in one organisation of its own, signed in as its admin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.e2e import openapi_fuzz_hooks as hooks
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import Org, create_org
from tools.stack import free_port

ST = Path(sys.executable).parent / "st"
HOOKS = Path(__file__).with_name("openapi_fuzz_hooks.py")
SEED = 18
MAX_EXAMPLES = 25
FUZZ_BUDGET_S = 40
STATEFUL_BUDGET_S = 25
#: The stateful run keeps under the per-credential limit, so no 429 cuts a chain.
STATEFUL_RATE = "18/s"

#: Operations that start a run are left out. A run enqueues chunks into the session's
#: migration queue and its worker; with connectors that reach nothing the chunks do not fail
#: fast (a refused connection is transient: the chunk is retried with backoff, and such a run
#: was still `running` minutes later when measured), so they would keep the shared worker
#: busy and could be taken for another test's chunks. Starting runs is tested in
#: tests/e2e/test_migration_api.py and test_idempotency.py; the run's pause, resume, cancel,
#: report and logs are fuzzed here.
STARTS_RUNS = (
    "start_run_api_orgs__orgId__migrations__migrationId__runs_post",
    "rollback_api_orgs__orgId__migrations__migrationId__rollback_post",
)

#: 5xx the document declares for routes that call the vendor while the client waits: the
#: connectors here point at a closed local port, so their vendor is unreachable (502).
VENDOR_PROBLEMS = re.compile(r"urn:ferry:problem:remote(-[a-z]+)?")
VENDOR_ROUTES = re.compile(r"/api/orgs/[^/]+/connectors/[^/]+/(containers|people|consent/callback)$")

CHECKS = "content_type_conformance,unsupported_method,allow_header_conformance,missing_required_header,"
CHECKS += "negative_data_rejection"


def _config(org: Org, path: Path) -> None:
    excluded = "".join(f'\n[[operations]]\ninclude-operation-id = "{op}"\nenabled = false\n' for op in STARTS_RUNS)
    path.write_text(
        f'hooks = "{HOOKS}"\n'
        # Every operation under the org is tried in this org; other ids are generated (mostly
        # 404/422) or, in the stateful phase, taken from the answers through the links.
        f'\n[parameters]\n"path.orgId" = "{org.id}"\n'
        f'\n[auth.openapi.bearerToken]\nbearer = "{org.admin_token}"\n'
        # The document's links only: an inferred link would hide one that does not resolve.
        "\n[phases.stateful.inference]\nalgorithms = []\n" + excluded
    )


def _st_command(base_url: str, config: Path, har: Path, *, phases: str, budget_s: int) -> list[str]:
    command = [str(ST), "--config-file", str(config), "--no-color", "run", f"{base_url}/api/openapi.json"]
    command += ["--seed", str(SEED), "-n", str(MAX_EXAMPLES), "--max-time", str(budget_s), "--no-shrink"]
    command += ["--phases", phases, "--request-timeout", "30", "--report", "har", "--report-har-path", str(har)]
    # Server errors are judged on the recorded traffic (_wrong_answers: the vendor's 502 is declared).
    command += ["-c", CHECKS]
    if phases == "stateful":
        command += ["--rate-limit", STATEFUL_RATE]
    return command


def _run_st(command: list[str], *, cwd: Path, vendor_url: str, budget_s: int) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, hooks.VENDOR_URL_ENV: vendor_url},
        capture_output=True,
        text=True,
        timeout=budget_s + 120,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    # Kept beside the HAR: what each phase did and how long it took.
    (cwd / f"st-{command[command.index('--phases') + 1].replace(',', '-')}.out").write_text(done.stdout)
    return done


def _seed_connectors(app: RunningApp, org: Org, vendor_url: str) -> list[str]:
    """A Trello and an Asana connector whose vendor is `vendor_url`, a closed local port."""
    ids = []
    with app.client(org.admin_token) as c:
        for connection in hooks.connections(vendor_url):
            r = c.post(f"/api/orgs/{org.id}/connectors", json={"name": connection["kind"], "connection": connection})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def _entries(har: Path) -> list[dict[str, Any]]:
    return list(json.loads(har.read_text())["log"]["entries"])


def _path(entry: dict[str, Any]) -> str:
    return re.sub(r"^https?://[^/]+", "", entry["request"]["url"].split("?")[0])


def _problem_type(entry: dict[str, Any]) -> str:
    try:
        body = json.loads(entry["response"]["content"].get("text") or "{}")
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def _wrong_answers(entries: list[dict[str, Any]]) -> list[str]:
    """Any 5xx but a declared vendor problem, and any error that is not problem+json."""
    bad = []
    for e in entries:
        status, mime = e["response"]["status"], str(e["response"]["content"].get("mimeType", ""))
        vendor = (
            status in (502, 503)
            and VENDOR_ROUTES.search(_path(e)) is not None
            and VENDOR_PROBLEMS.fullmatch(_problem_type(e)) is not None
        )
        if (status >= 500 and not vendor) or (status >= 400 and not mime.startswith("application/problem+json")):
            bad.append(f"{e['request']['method']} {e['request']['url'][:150]} → {status} {mime} {_problem_type(e)}")
    return bad


def _chains(entries: list[dict[str, Any]]) -> Counter[str]:
    """`<method> <what>/<next segment>` of each later request that used an id a create answered
    (`GET connectors/`, `POST connectors/test`, …): the links resolved and were followed."""
    created: dict[str, str] = {}
    used: Counter[str] = Counter()
    for e in entries:
        path = _path(e)
        segments = path.split("/")
        for i, segment in enumerate(segments):
            if segment in created:
                below = segments[i + 1] if i + 1 < len(segments) else ""
                used[f"{e['request']['method']} {created[segment]}/{below}"] += 1
        if e["request"]["method"] == "POST" and e["response"]["status"] in (201, 202):
            try:
                body = json.loads(e["response"]["content"].get("text") or "{}")
            except ValueError:
                continue
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                created[body["id"]] = segments[-1]
    return used


def test_fuzzing_the_openapi_document_finds_no_5xx_nor_non_problem_error(
    running_app: RunningApp, dev_issuer: Any, tmp_path: Path
) -> None:
    org = create_org(running_app, dev_issuer, name="Fuzzed")
    # Nothing listens there: every vendor call of a connector fails at once (a refused connection).
    vendor_url = f"http://127.0.0.1:{free_port()}"
    _seed_connectors(running_app, org, vendor_url)
    config = tmp_path / "schemathesis.toml"
    _config(org, config)

    fuzz_har = tmp_path / "fuzz.har"
    command = _st_command(
        running_app.base_url, config, fuzz_har, phases="examples,coverage,fuzzing", budget_s=FUZZ_BUDGET_S
    )
    done = _run_st(command, cwd=tmp_path, vendor_url=vendor_url, budget_s=FUZZ_BUDGET_S)
    entries = _entries(fuzz_har)
    tested = re.search(r"Tested:\s+(\d+)", done.stdout)
    # Every operation but the two that start runs (44 in the document today).
    assert tested is not None and int(tested.group(1)) >= 42 and len(entries) >= 500, done.stdout[-3000:]
    bad = _wrong_answers(entries)
    assert not bad, "\n".join(bad[:20])

    stateful_har = tmp_path / "stateful.har"
    command = _st_command(running_app.base_url, config, stateful_har, phases="stateful", budget_s=STATEFUL_BUDGET_S)
    done = _run_st(command, cwd=tmp_path, vendor_url=vendor_url, budget_s=STATEFUL_BUDGET_S)
    steps = _entries(stateful_har)
    bad = _wrong_answers(steps)
    assert not bad, "\n".join(bad[:20])
    covered = re.search(r"API Links:\s+(\d+) covered", done.stdout)
    chains = _chains(steps)
    summary = f"{len(entries)} + {len(steps)} requests; links: {covered and covered.group(0)}; chained: {dict(chains)}"
    # Created ids were read, changed and deleted through the links, below the org and below
    # what was created in it (a connector's test, containers, people or consent). Which of a
    # resource's links a scenario follows varies with the answers, so each resource must show
    # some use of its created ids, and the run as a whole reads, updates and deletes.
    assert covered is not None and int(covered.group(1)) >= 6, summary
    for what in ("members", "connectors", "exports", "keys"):
        assert any(used.split(" ")[1].startswith(f"{what}/") for used in chains), f"{what}: {summary}"
    for method in ("GET", "PATCH", "DELETE"):
        assert any(used.startswith(f"{method} ") and used.endswith("/") for used in chains), f"{method}: {summary}"
    below = [used for used in chains if re.fullmatch(r"\S+ connectors/(test|containers|people|consent)", used)]
    assert below, summary
