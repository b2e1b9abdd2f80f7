"""The local model's numpy forward pass: the vectors it gave before its batches were
restructured (token-length batches, one Q/K/V product, 2-D dense products, GELU in place),
a text's vector independent of the batch it is padded in, and BLAS on one thread even when
numpy was imported before the assistant package could set OPENBLAS_NUM_THREADS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.assistant.minilm import shared_minilm

ROOT = Path(__file__).resolve().parents[2]

#: First six components of the vectors the implementation before the restructuring gave
#: (commit 9c1d1c6); the rewrite agreed within 1.4e-7 on all 128 documentation passages.
REFERENCE = {
    "start date in description": [0.050477, 0.048861, 0.063314, 0.058162, -0.001948, 0.129337],
    "Which attachments were skipped and why?": [0.026587, 0.006012, 0.057739, 0.05152, 0.086552, 0.036686],
}


def test_vectors_match_the_previous_implementation() -> None:
    texts = list(REFERENCE)
    for text, vector in zip(texts, shared_minilm().embed(texts), strict=True):
        assert len(vector) == 384
        assert sum(x * x for x in vector) == pytest.approx(1.0, abs=1e-5)
        assert vector[:6] == pytest.approx(REFERENCE[text], abs=2e-6)


def test_a_vector_does_not_depend_on_its_batch() -> None:
    model = shared_minilm()
    short = "comment author prepended"
    long = "A long documentation passage about checklists and labels. " * 40  # truncated at 256 tokens
    others = [f"card {n} was adapted" for n in range(40)]  # over one batch of 32
    [alone] = model.embed([short])
    together = model.embed([long, *others, short, ""])
    assert max(abs(a - b) for a, b in zip(alone, together[-2], strict=True)) < 1e-5
    assert len(together) == 43 and all(len(v) == 384 for v in together)
    assert model.embed([]) == []


def test_blas_runs_on_one_thread_even_when_numpy_came_first() -> None:
    code = (
        "import json, numpy\n"  # OpenBLAS starts here, before the package sets its variable
        "from shared.assistant.minilm import MiniLmEmbedder, blas_threads\n"
        "before = blas_threads()\n"
        "MiniLmEmbedder()\n"
        "print(json.dumps([before, blas_threads()]))\n"
    )
    # Unset: OpenBLAS's default is a thread per core (the test proves nothing on one core).
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    if before is None:
        pytest.skip("no OpenBLAS found in this process's mapped libraries")
    assert after == 1, f"OpenBLAS had {before} threads and kept {after}"
