"""The search stage at scale: the built index tiled to 100k and 1M chunks (synthetic), exact and HNSW.

Usage: .venv/bin/python bench/bench_scale.py [--sizes 10000 50000 100000 1000000] [--hnsw-up-to 200000]
           [--out reports/bench/scale.json]
The default corpus's chunk vectors are repeated with a little Gaussian noise (then normalized), so no two
vectors are equal, and its BM25 token lists are repeated alike. Every gold question is encoded once by the
configured encoder (the cache bypassed), then for each size: FAISS exact (IndexFlatIP) top 100, HNSW (the
service's M and efSearch) top 100 with its recall of the exact top 100, and BM25 scoring of all chunks
(bm25s, only the question's postings) with the top-100 cut; p50 per stage, and the memory each structure
takes. The reference in the same run is the encoder's own p50 on the questions: the index switches to HNSW
where exact search starts to cost more than encoding the question (RAG_ANN_THRESHOLD).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import bm25s
import faiss
import numpy as np

from rag.embedding import Encoder
from rag.evaluation.gold import read_gold
from rag.evaluation.metrics import percentile
from rag.index import bm25_tokens, embedding_text, load_index
from rag.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
K = 100


def p50_ms(run, items) -> float:
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - started)
    return round(1000 * percentile(times, 50), 3)


def tiled_vectors(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    for start in range(0, size, 65536):
        rows = np.arange(start, min(size, start + 65536))
        block = base[rows % len(base)] + rng.normal(0, 0.02, (len(rows), base.shape[1])).astype(np.float32)
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000, 1_000_000])
    parser.add_argument("--hnsw-up-to", type=int, default=200_000,
                        help="build HNSW only up to this size (its build takes minutes per 100k chunks here)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports/bench/scale.json")
    args = parser.parse_args()
    settings = get_settings()
    encoder = Encoder.from_settings(settings)
    index = load_index(settings.index_dir, encoder.name, encoder.backend)
    questions = [q.question for q in read_gold(ROOT / "eval/gold.jsonl")]
    for q in questions[:20]:
        encoder.encode([q])
    encode_ms = p50_ms(lambda q: encoder.encode([q]), questions)
    queries = encoder.encode(questions)
    texts = [embedding_text(index.document(c.doc_id).title, index.document(c.doc_id).text[c.start:c.end])
             for c in index.chunks]
    base_tokens = bm25_tokens(texts)
    question_tokens = bm25_tokens(questions)
    rng = np.random.default_rng(0)
    results: dict = {"encoder": encoder.backend, "encode_p50_ms": encode_ms, "base_chunks": len(index.chunks),
                     "questions": len(questions), "sizes": {}}
    for size in args.sizes:
        row: dict = {}
        vectors = tiled_vectors(index.chunk_vectors, size, rng)
        row["vectors_mb"] = round(vectors.nbytes / 2**20, 1)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        row["flat_search_p50_ms"] = p50_ms(lambda q, flat=flat: flat.search(q.reshape(1, -1), K), queries)
        exact = flat.search(queries, K)[1]
        if size <= args.hnsw_up_to:
            started = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(vectors.shape[1], settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = 200
            hnsw.add(vectors)
            hnsw.hnsw.efSearch = settings.hnsw_ef_search
            row["hnsw_build_s"] = round(time.perf_counter() - started, 1)
            row["hnsw_search_p50_ms"] = p50_ms(lambda q, hnsw=hnsw: hnsw.search(q.reshape(1, -1), K), queries)
            found = hnsw.search(queries, K)[1]
            row["hnsw_recall_of_exact@100"] = round(float(np.mean(
                [len(set(a) & set(b)) / K for a, b in zip(found, exact)])), 4)
            row["hnsw_extra_mb"] = round(size * settings.hnsw_m * 2 * 4 / 2**20, 1)  # neighbour lists, layer 0
        started = time.perf_counter()
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([base_tokens[i % len(base_tokens)] for i in range(size)], show_progress=False)
        row["bm25_build_s"] = round(time.perf_counter() - started, 1)
        row["bm25_mb"] = round(sum(a.nbytes for a in bm25.scores.values() if hasattr(a, "nbytes")) / 2**20, 1)

        def lexical(tokens: list[str], bm25=bm25, size=size) -> None:
            known = [t for t in tokens if t in bm25.vocab_dict]
            scores = bm25.get_scores(known) if known else np.zeros(size, np.float32)
            np.argpartition(-scores, K - 1)[:K]

        row["bm25_top100_p50_ms"] = p50_ms(lexical, question_tokens)
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        results["sizes"][str(size)] = row
        print(size, json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
