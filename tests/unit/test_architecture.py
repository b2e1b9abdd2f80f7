"""Rules of the architecture that import-linter cannot state (it names external packages only
by their top level): the core never imports ``azure.functions``; triggers live in
``functions/`` and ``function_app.py``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_core_never_imports_azure_functions() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "shared").rglob("*.py"))
        if any(n == "azure.functions" or n.startswith("azure.functions.") for n in _imports(p))
    ]
    assert offenders == []


def test_the_rule_sees_each_spelling_of_the_import(tmp_path: Path) -> None:
    for text in (
        "import azure.functions as func\n",
        "from azure import functions\n",
        "from azure.functions import HttpRequest\n",
    ):
        sample = tmp_path / "m.py"
        sample.write_text(text)
        assert any(n == "azure.functions" or n.startswith("azure.functions.") for n in _imports(sample)), text
