"""POST /ask latency over HTTP on the default corpus, against a bare sentence-transformers encode in the same run.

Usage: .venv/bin/python bench/bench_api.py [--rounds 2] [--out reports/bench/bench.json]
Starts `server.py` on a free loopback port over the built index/, asks every gold question one at a time (after
a warm-up on other text), and reports client-side latency percentiles. The first round is what a new question
costs; later rounds ask the same questions again, which the service's question-vector cache answers without the
encoder. The reference, measured in this process while the server idles, is the stock stack's first step: a
sentence-transformers (PyTorch) encode of the same questions. (The cold build is in bench/bench_build.py.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import httpx
from live import served
from reference import bare_torch_encode_ms

from rag.evaluation.metrics import percentile
from rag.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def time_ask(rounds: int) -> dict:
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    with served() as (base, _server), httpx.Client(base_url=base, timeout=30) as client:
        for n in range(10):  # warm-up, on questions that are not measured
            client.post("/ask", json={"question": f"What does warm-up question number {n} ask about?"})
        rows = []
        for round_number in range(rounds):
            client_ms, server_ms = [], []
            for question in questions:
                started = time.perf_counter()
                response = client.post("/ask", json={"question": question})
                client_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                server_ms.append(response.json()["took_ms"])
            rows.append({"round": round_number + 1, "requests": len(client_ms),
                         "ask_p50_ms": round(statistics.median(client_ms), 2),
                         "ask_p95_ms": round(percentile(client_ms, 95), 2),
                         "ask_mean_ms": round(statistics.fmean(client_ms), 2),
                         "server_took_p50_ms": round(statistics.median(server_ms), 2)})
            print(json.dumps(rows[-1]), flush=True)
        reference = bare_torch_encode_ms(questions, get_settings().model)
    first = rows[0]
    return {"new_questions": first, "repeated_questions": rows[1:],
            "bare_torch_encode_p50_ms": round(statistics.median(reference), 2),
            "ask_over_bare_encode": round(first["ask_p50_ms"] / statistics.median(reference), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "bench.json")
    args = parser.parse_args()
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}
    result.update(time_ask(args.rounds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
