"""Cold start: how long `import function_app` takes in a fresh interpreter (goal < 1 s).

Prints the median of several runs and its ratio to the goal; no assertion on time.
    .venv/bin/python bench/cold_start.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(runs: int = 5) -> None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import function_app"], cwd=ROOT, check=True)
        samples.append(time.perf_counter() - start)
    baseline = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, check=True)
        baseline.append(time.perf_counter() - start)
    med, base = statistics.median(samples), statistics.median(baseline)
    print(f"import function_app: median {med:.3f} s over {runs} runs (bare interpreter {base:.3f} s)")
    print(f"ratio to the 1 s goal: {med / 1.0:.2f}; import cost above a bare interpreter: {med - base:.3f} s")


if __name__ == "__main__":
    main()
