"""Many clients at once against `server.py` on loopback: throughput, latency percentiles, shed requests, memory.

Usage: .venv/bin/python bench/bench_load.py [--clients 50] [--seconds 60] [--configs 1x2 2x1]
           [--out reports/bench/load.json]
Each config WxT starts the server with W uvicorn workers (RAG_WORKERS) of T onnxruntime threads each
(RAG_ENCODER_THREADS, RAG_READER_THREADS) over the built index/, then `--clients` asyncio clients each POST /ask
with the gold questions in turn (a repeated question skips the encoder, via its vector cache; the reader runs
every time) for `--seconds`; a client told 503 waits its Retry-After before the next request. Reported per config: requests, answered 2xx, shed 503 (past RAG_MAX_IN_FLIGHT per
worker), other errors, 2xx throughput, p50/p95/p99 of 2xx and p50 of 503 latencies, the server's peak memory
(all its processes), sampled each half second. Traffic goes to 127.0.0.1 only, bounded by time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path

import httpx
from live import ROOT, served, tree_rss_mb

from rag.evaluation.metrics import percentile


async def _drive(base: str, questions: list[str], clients: int, seconds: float, server_pid: int) -> dict:
    results: list[tuple[int, float]] = []  # (status, ms); status 0 = transport error
    peak_rss = 0.0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(number: int, http: httpx.AsyncClient) -> None:
        turn = number
        while time.monotonic() < deadline:
            question = questions[turn % len(questions)]
            turn += clients
            started = time.perf_counter()
            try:
                response = await http.post("/ask", json={"question": question})
                status = response.status_code
            except httpx.HTTPError:
                status, response = 0, None
            results.append((status, (time.perf_counter() - started) * 1000))
            if status == 503:  # as a well-behaved client does; a hot retry loop would measure the load generator
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))

    async def sample_memory() -> None:
        nonlocal peak_rss
        while time.monotonic() < deadline:
            peak_rss = max(peak_rss, tree_rss_mb(server_pid))
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        await asyncio.gather(sample_memory(), *(client(n, http) for n in range(clients)))
    ok = [ms for status, ms in results if 200 <= status < 300]
    shed = [ms for status, ms in results if status == 503]
    return {"requests": len(results), "ok": len(ok), "shed_503": len(shed),
            "errors": len(results) - len(ok) - len(shed),
            "ok_per_s": round(len(ok) / seconds, 1),
            "ok_p50_ms": round(statistics.median(ok), 1) if ok else None,
            "ok_p95_ms": round(percentile(ok, 95), 1) if ok else None,
            "ok_p99_ms": round(percentile(ok, 99), 1) if ok else None,
            "shed_p50_ms": round(statistics.median(shed), 1) if shed else None,
            "server_peak_rss_mb": round(peak_rss)}


def run(config: str, clients: int, seconds: float, questions: list[str]) -> dict:
    workers, threads = (int(part) for part in config.split("x"))
    env = {"RAG_WORKERS": str(workers), "RAG_ENCODER_THREADS": str(threads), "RAG_READER_THREADS": str(threads)}
    with served(env) as (base, server):
        with httpx.Client(base_url=base, timeout=30) as warm:
            for question in questions[:20]:
                warm.post("/ask", json={"question": question})
        row = asyncio.run(_drive(base, questions, clients, seconds, server.pid))
    return {"workers": workers, "threads_per_worker": threads, "clients": clients, "seconds": seconds, **row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--configs", nargs="+", default=["1x2", "2x1"])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "load.json")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    rows = []
    for config in args.configs:
        rows.append(run(config, args.clients, args.seconds, questions))
        print(json.dumps(rows[-1]), flush=True)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
