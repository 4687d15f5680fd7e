"""The peers run (bench/peers.sh) as one Markdown table, then this project's ratios to each peer.

Usage: .venv/bin/python bench/peers_table.py reports/bench/peers > reports/bench/peers/table.md
Reads every NAME.json there (the last JSON line each harness script printed). Speed ratios are the peer's time
over ours (2.0: we take half the time); quality differences are ours minus the peer's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OURS_PREFIX = "kizuna"
COLUMNS = [("SciFact nDCG@10", "scifact", "ndcg@10", 4), ("R@100", "scifact", "recall@100", 4),
           ("index s", "scifact", "index_s", 1), ("p50 ms", "scifact", "p50_ms", 2), ("p95 ms", "scifact", "p95_ms", 2),
           ("SQuAD-open R@1", "squad", "recall@1", 4), ("R@5", "squad", "recall@5", 4),
           ("R@20", "squad", "recall@20", 4), ("index s", "squad", "index_s", 1), ("p50 ms", "squad", "p50_ms", 2),
           ("p95 ms", "squad", "p95_ms", 2), ("peak RSS MB", None, "peak_rss_mb", 0)]


def load(directory: Path) -> dict[str, dict]:
    runs = {}
    for path in sorted(directory.glob("*.json")):
        lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
        if lines:
            runs[path.stem] = json.loads(lines[-1])
    return runs


def value(run: dict, section: str | None, key: str):
    return (run.get(section, {}) if section else run).get(key)


def fmt(x, digits: int) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def ratio(peer, ours) -> str:
    return "–" if peer is None or not ours else f"{peer / ours:.1f}×"


def delta(ours, peer) -> str:
    return "–" if ours is None or peer is None else f"{ours - peer:+.4f}"


def main(directory: Path) -> int:
    runs = load(directory)
    if not runs:
        print(f"no results in {directory}", file=sys.stderr)
        return 1
    lines = ["| system | " + " | ".join(c[0] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, run in runs.items():
        label = f"**{name}**" if name.startswith(OURS_PREFIX) else name
        lines.append(f"| {label} | " + " | ".join(fmt(value(run, s, k), d) for _, s, k, d in COLUMNS) + " |")
    ours = {n: r for n, r in runs.items() if n.startswith(OURS_PREFIX)}
    peers = {n: r for n, r in runs.items() if not n.startswith(OURS_PREFIX)}
    lines += ["", "Ratios (peer's time over ours; quality: ours minus the peer's):", "",
              "| ours | peer | SciFact p50 | SQuAD p50 | SciFact index | SQuAD index | peak RSS | Δ nDCG@10 | Δ R@5 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for our_name, our in ours.items():
        for peer_name, peer in peers.items():
            lines.append("| " + " | ".join([
                our_name, peer_name,
                ratio(value(peer, "scifact", "p50_ms"), value(our, "scifact", "p50_ms")),
                ratio(value(peer, "squad", "p50_ms"), value(our, "squad", "p50_ms")),
                ratio(value(peer, "scifact", "index_s"), value(our, "scifact", "index_s")),
                ratio(value(peer, "squad", "index_s"), value(our, "squad", "index_s")),
                ratio(value(peer, None, "peak_rss_mb"), value(our, None, "peak_rss_mb")),
                delta(value(our, "scifact", "ndcg@10"), value(peer, "scifact", "ndcg@10")),
                delta(value(our, "squad", "recall@5"), value(peer, "squad", "recall@5"))]) + " |")
    first = next(iter(runs.values()))
    lines += ["", f"Machine: {first.get('cpus')} CPUs, Python {first.get('python')}; runs one after another, each in "
              f"its own process (dates: {', '.join(sorted({str(r.get('date_utc')) for r in runs.values()}))})."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "reports/bench/peers")))
