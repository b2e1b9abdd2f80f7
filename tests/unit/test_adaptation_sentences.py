"""Every adaptation a writer or the engine can report has a plain sentence.

The dry-run preview, the report and the assistant show ``SUMMARIES[code]``; a code without
one used to reach the user as ``12 × label.collision``. The codes are found in the source:
the ``code=`` of every call (``Adaptation(code=…)``) and the code-shaped arguments of the
``…note(…)`` helpers, everywhere in ``shared/`` but verify (whose rules are no reports).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.connectors.registry import available_kinds
from shared.engine.adapt import SUMMARIES, summarize

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _reported_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if "verify" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            values = [kw.value for kw in node.keywords if kw.arg == "code"]
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name.endswith("note"):
                values += list(node.args)
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and CODE.match(value.value):
                    found.setdefault(value.value, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_codes_of_every_writer() -> None:
    codes = _reported_codes()
    # one known code per destination writer and the engine: the scan is not blind
    for code in (
        "label.color_mapped",  # trello
        "task.assignee_not_in_workspace",  # asana
        "label.merged",  # planner
        "label.renamed_for_jira",  # jira
        "label.color_assigned",  # monday
        "label.collision",  # azure_devops
        "section.archived_dropped",  # engine
    ):
        assert code in codes, code
    assert len(available_kinds()) >= 6


def test_every_reported_code_has_a_sentence() -> None:
    missing = {code: where for code, where in _reported_codes().items() if code not in SUMMARIES}
    assert not missing, f"add a sentence to shared/engine/adapt.py SUMMARIES for: {missing}"


def test_sentences_read_as_sentences() -> None:
    from shared.connectors.asana.capabilities import asana_capabilities

    caps = asana_capabilities()
    counts = {f"adapt.{code}": 3 for code in SUMMARIES}
    lines = summarize(counts, caps)
    assert len(lines) == len(SUMMARIES)
    for line in lines:
        assert line.startswith("3 ") and "×" not in line and "{" not in line, line
