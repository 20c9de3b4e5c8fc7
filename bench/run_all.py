"""Every benchmark, one after the other (2 cores: never in parallel). `make bench` runs this.

    .venv/bin/python bench/run_all.py

Needs ../shared/eval and deface (bash bench/setup_deface.sh, run here if missing).
Each step writes its own section of bench/RESULTS.md.
"""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable

STEPS = [
    ["bash", "bench/setup_deface.sh"],
    [PY, "bench/detector_cost.py"],
    [PY, "bench/retinaface_onnx.py", "--write"],
    [PY, "bench/stills.py", "detector"],
    [PY, "bench/stills.py", "render"],
    [PY, "bench/hard_cases.py", "--write"],
    [PY, "bench/stills_plans.py", "passes"],
    [PY, "bench/stills_plans.py", "judge", "--write"],
    [PY, "bench/video.py", "youtube"],
    [PY, "bench/clip_leaks.py", "--write"],
    [PY, "bench/video.py", "speed"],
    [PY, "bench/video.py", "speed-all"],
    [PY, "bench/encoder.py"],
]

if __name__ == "__main__":
    for step in STEPS:
        print("+", " ".join(step[1:] if step[0] == PY else step), flush=True)
        subprocess.run(step, cwd=ROOT, check=True)
