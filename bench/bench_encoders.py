"""Retrieval quality and speed of each encoder backend (torch, onnx, onnx-int8), on SciFact and SQuAD-open.

Usage: .venv/bin/python bench/bench_encoders.py [--beir ../shared/data/beir-scifact]
           [--squad ../shared/data/squad-v1.1-dev/dev-v1.1.json] [--squad-questions 2000]
           [--backends torch onnx onnx-int8] [--out reports/bench/encoders.json]

For every backend the corpus is embedded once (both sides: index and queries by that backend); the torch
index is also queried by every other backend (query side only: the index made by PyTorch, the questions by
ONNX), which is what serving the old vectors with a new encoder would give. Retrieval is the project's hybrid
search, as `rag eval --beir/--squad` runs it: 200-word chunks (the settings of the README's retrieval figures),
3k passages searched, best chunk per document. Timings: the corpus embedding (build) and each query's encode
plus search, one at a time, after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rag.embedding import BACKENDS, Encoder
from rag.evaluation import metrics as m
from rag.evaluation.datasets import load_beir, load_squad
from rag.index import load_index
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.store import IndexBuilder

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def evaluate(retriever: HybridRetriever, encoder: Encoder, queries: list[tuple[str, dict[str, float]]], k: int,
             metric) -> dict:
    for text, _ in queries[:10]:  # warm-up
        retriever.run(encoder.encode([text])[0], text, 3 * k)
    scores, encode_ms, search_ms = [], [], []
    for text, relevance in queries:
        t0 = time.perf_counter()
        vector = encoder.encode([text])[0]  # not encode_query: its cache would hide the encoder's cost
        t1 = time.perf_counter()
        ranking = m.ranked_documents(p.chunk.doc_id for p in retriever.run(vector, text, 3 * k))
        t2 = time.perf_counter()
        scores.append(metric(ranking, relevance))
        encode_ms.append(1000 * (t1 - t0))
        search_ms.append(1000 * (t2 - t1))
    return {"score": round(statistics.fmean(scores), 4), "encode_p50_ms": round(statistics.median(encode_ms), 2),
            "search_p50_ms": round(statistics.median(search_ms), 2),
            "p50_ms": round(statistics.median(e + s for e, s in zip(encode_ms, search_ms)), 2)}


def run_dataset(name: str, documents, queries, k: int, metric, backends: list[str]) -> dict:
    settings = Settings(chunk_words=200, chunk_overlap_words=40, embed_sentences=False)
    encoders = {b: Encoder(backend=b, batch_size=32) for b in backends}
    indexes, results = {}, {}
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            report = IndexBuilder(settings.model_copy(update={"encoder_backend": backend}), encoders[backend]).build(
                documents, Path(tmp), force=True)
            build_s = time.perf_counter() - started
            indexes[backend] = load_index(tmp, encoders[backend].name, backend)
        retriever = HybridRetriever(indexes[backend], settings.dense_weight, max(settings.candidates_per_side, 3 * k))
        results[f"{backend} (both sides)"] = {"build_s": round(build_s, 1), "chunks": report.chunks,
                                              **evaluate(retriever, encoders[backend], queries, k, metric)}
        print(name, backend, json.dumps(results[f"{backend} (both sides)"]), flush=True)
    if "torch" in indexes:
        retriever = HybridRetriever(indexes["torch"], settings.dense_weight, max(settings.candidates_per_side, 3 * k))
        for backend in backends:
            if backend != "torch":
                results[f"{backend} (queries only; torch index)"] = evaluate(retriever, encoders[backend], queries,
                                                                            k, metric)
                print(name, backend, "query side", json.dumps(results[f"{backend} (queries only; torch index)"]),
                      flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--beir", type=Path, default=SHARED / "beir-scifact")
    parser.add_argument("--squad", type=Path, default=SHARED / "squad-v1.1-dev" / "dev-v1.1.json")
    parser.add_argument("--squad-questions", type=int, default=2000)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--datasets", nargs="+", choices=["scifact", "squad"], default=["scifact", "squad"])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "encoders.json")
    args = parser.parse_args()
    out: dict = {"backends": args.backends}
    if "scifact" in args.datasets:
        beir = load_beir(args.beir)
        queries = [(text, beir.qrels[qid]) for qid, text in beir.queries.items()]
        out["scifact_ndcg@10"] = run_dataset("scifact", beir.documents, queries, 100,
                                             lambda ranking, rel: m.ndcg_at_k(ranking, rel, 10), args.backends)
    if "squad" in args.datasets:
        squad = load_squad(args.squad, args.squad_questions)
        queries = [(q.question, {d: 1.0 for d in q.doc_ids}) for q in squad.questions]
        out["squad_open_recall@5"] = run_dataset("squad", squad.documents, queries, 20,
                                                 lambda ranking, rel: m.recall_at_k(ranking, set(rel), 5),
                                                 args.backends)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
