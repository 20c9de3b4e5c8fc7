"""GET /api/jobs/{id} latency while a real job runs (the web process must stay responsive).

    .venv/bin/python bench/api_latency.py [--requests 400]

Starts `python -m app serve` on a free port with a temporary data dir, uploads a generated
clip long enough to keep the worker busy (the real engine), then polls the job's status
sequentially and keeps only the answers given while the job was running.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import command_line, machine_note, md_table, write_section  # noqa: E402
from tests.jobs.media import make_clip  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clip-seconds", type=float, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="veil-latency-"))
    clip = make_clip(tmp / "clip.mp4", seconds=args.clip_seconds, size_wh=(640, 360))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "VEIL_DATA_DIR": str(tmp / "data")}
    with open(tmp / "server.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with open(clip, "rb") as f:
            job = httpx.post(base + "/api/jobs", files={"file": ("clip.mp4", f, "video/mp4")},
                             timeout=60).json()
        url = base + job["urls"]["status"]
        times_ms, states = [], []
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 120
            while client.get(url).json()["state"] != "running":
                if time.monotonic() > deadline:
                    sys.exit("the job never started running")
                time.sleep(0.05)
            for _ in range(args.requests):
                t0 = time.perf_counter()
                answer = client.get(url)
                times_ms.append((time.perf_counter() - t0) * 1000)
                states.append(answer.json()["state"])
                time.sleep(0.02)
    finally:
        server.terminate()
        server.wait(30)
    running = sorted(t for t, s in zip(times_ms, states) if s == "running")
    if not running:
        sys.exit("no answer was given while the job ran: use a longer clip")

    def pct(p: float) -> float:
        return running[min(int(p * len(running)), len(running) - 1)]

    rows = [[len(running), round(pct(0.5), 1), round(pct(0.95), 1), round(pct(0.99), 1),
             round(running[-1], 1)]]
    body = (f"### Web: job status latency while a job runs\n\n`{command_line()}` ({machine_note()}; "
            f"sequential GETs 20 ms apart against `python -m app serve`, real engine working on a "
            f"{args.clip_seconds:g} s generated clip; only answers given while the job was running)\n\n"
            + md_table(["requests", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows) + "\n")
    write_section("api-latency", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
