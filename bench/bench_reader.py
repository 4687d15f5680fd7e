"""Where `/ask` spends its time, stage by stage, in-process over the built index/, for several reader depths.

Usage: .venv/bin/python bench/bench_reader.py [--passages 1 2 3 5] [--rounds 2] [--out reports/bench/reader.json]
Every gold question (all splits: this measures speed, not quality) is asked `rounds` times per depth, one at a
time after a warm-up: encoding the question, retrieval, the reader (windows, model, decoding), and the rest of
the answer stage (grouping, confidence, citations). The reference in the same run is a bare encode of the
question with the embedding model, so the ratios hold on a machine whose speed drifts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rag.evaluation.gold import read_gold
from rag.evaluation.metrics import percentile
from rag.pipeline import QAPipeline
from rag.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def stage_times(pipeline: QAPipeline, question: str) -> dict[str, float]:
    extractor = pipeline.extractor
    t0 = time.perf_counter()
    vector = pipeline.encoder.encode_query(question)
    t1 = time.perf_counter()
    passages = pipeline.retriever.run(vector, question, pipeline.settings.default_top_k)
    t2 = time.perf_counter()
    read = passages[:extractor.read_passages]
    extractor.reader.read(question, [p.text for p in read])
    t3 = time.perf_counter()
    extractor.run(question, vector, passages)  # reads again: the answer stage whole
    t4 = time.perf_counter()
    return {"encode": t1 - t0, "retrieve": t2 - t1, "read": t3 - t2, "answer_stage": t4 - t3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, nargs="+", default=[1, 2, 3, 5])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/bench/reader.json")
    args = parser.parse_args()
    questions = [q.question for q in read_gold(ROOT / "eval/gold.jsonl")]
    settings = get_settings()
    pipeline = QAPipeline(settings)
    from sentence_transformers import SentenceTransformer

    from rag.embedding import resolve_model

    model = SentenceTransformer(resolve_model(settings.model)[1], device="cpu")
    results: dict = {"questions": len(questions), "rounds": args.rounds, "reader": pipeline.extractor.reader.name}
    reference = []
    for q in questions[:20]:  # warm-up
        model.encode([q])
        pipeline.ask(q)
    for _ in range(args.rounds):
        for q in questions:
            started = time.perf_counter()
            model.encode([q], normalize_embeddings=True)
            reference.append(time.perf_counter() - started)
    results["bare_encode_p50_ms"] = round(1000 * percentile(reference, 50), 2)
    for depth in args.passages:
        pipeline.extractor.read_passages = depth
        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for q in questions:
                for stage, seconds in stage_times(pipeline, q).items():
                    times.setdefault(stage, []).append(seconds)
        whole = [e + r + a for e, r, a in zip(times["encode"], times["retrieve"], times["answer_stage"])]
        results[f"read_{depth}"] = {
            **{f"{stage}_p50_ms": round(1000 * percentile(v, 50), 2) for stage, v in times.items()},
            "ask_p50_ms": round(1000 * percentile(whole, 50), 2),
            "ask_p95_ms": round(1000 * percentile(whole, 95), 2),
            "read_over_bare_encode": round(percentile(times["read"], 50) / percentile(reference, 50), 2),
        }
        print(depth, json.dumps(results[f"read_{depth}"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
