"""`server.py` in a subprocess on a free loopback port, for the benches that measure over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(env: dict[str, str] | None = None, start_timeout: float = 180) -> Iterator[tuple[str, subprocess.Popen]]:
    """The server over the built index/ (settings from `env` on top of this environment) until the block ends:
    yields its base URL and process once /health answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "server.py"], cwd=ROOT,
                              env={**os.environ, "RAG_PORT": str(port), "RAG_HOST": "127.0.0.1", **(env or {})},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start within {start_timeout:g} s")
            time.sleep(0.25)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), from /proc."""
    pids, total = [pid], 0
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        pids.extend(int(c) for c in children)
    return total / 1024
