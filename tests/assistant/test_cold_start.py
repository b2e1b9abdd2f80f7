"""Cold start unchanged: importing the function app loads none of the assistant's heavy
libraries (numpy, tokenizers, safetensors, the Search and OpenAI SDKs) nor its model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "numpy",
    "tokenizers",
    "safetensors",
    "openai",
    "azure.search.documents",
    "httpx2",
    "shared.assistant.minilm",
    "shared.assistant.azure_backends",
    "shared.assistant.service",
    "shared.logs.writer",
    "functions.assistant.api",
)


def test_importing_function_app_loads_no_assistant_library() -> None:
    code = f"import json, sys, function_app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_assistant_trigger_is_registered() -> None:
    code = "import function_app; print(','.join(f.get_function_name() for f in function_app.app.get_functions()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert "worker_assistant_index" in out.stdout
