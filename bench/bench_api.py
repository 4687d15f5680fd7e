"""Speed of the service on the default corpus: cold index build time and POST /ask latency over HTTP.

Usage: .venv/bin/python bench/bench_api.py [--rounds 2] [--out reports/bench/bench.json]
Starts `server.py` on a free loopback port over the built index/, asks every gold question `rounds` times
one at a time (after a warm-up), and reports client-side latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from rag.evaluation.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_cold_build() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag.cli", "index", "--quiet", "--index", tmp], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag.cli", "index", "--quiet", "--index", tmp], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        noop = time.perf_counter() - started
    return {"cold_build_s": round(cold, 2), "up_to_date_check_s": round(noop, 2)}


def time_ask(rounds: int) -> dict:
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    port = free_port()
    env = {**os.environ, "RAG_PORT": str(port), "RAG_HOST": "127.0.0.1"}
    server = subprocess.Popen([sys.executable, "server.py"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start within 120 s")
                time.sleep(0.25)
            for question in questions[:10]:
                client.post("/ask", json={"question": question})
            client_ms, server_ms = [], []
            for _ in range(rounds):
                for question in questions:
                    started = time.perf_counter()
                    response = client.post("/ask", json={"question": question})
                    client_ms.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    server_ms.append(response.json()["took_ms"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "requests": len(client_ms),
        "ask_p50_ms": round(statistics.median(client_ms), 2),
        "ask_p95_ms": round(percentile(client_ms, 95), 2),
        "ask_mean_ms": round(statistics.fmean(client_ms), 2),
        "server_took_p50_ms": round(statistics.median(server_ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "bench.json")
    parser.add_argument("--skip-build", action="store_true", help="only measure /ask latency")
    args = parser.parse_args()
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}
    if not args.skip_build:
        result.update(time_cold_build())
    result.update(time_ask(args.rounds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
