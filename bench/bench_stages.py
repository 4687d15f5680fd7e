"""Where `/ask` spends its time, stage by stage, in-process over the built index/.

Usage: .venv/bin/python bench/bench_stages.py [--passages 1 2 3] [--threads 1 2] [--rounds 1]
           [--out reports/bench/stages.json]
Every gold question (all splits: this measures speed, not quality) is asked `rounds` times per setting, one at
a time after a warm-up, and each stage is timed on its own: encoding the question (the cache bypassed, and a
cache hit), FAISS search, BM25 scoring, fusion, the reader (tokenizing windows, the model, span decoding), the
rest of the answer stage (grouping, confidence, citations) and building the JSON response. The reference in the
same run is a bare sentence-transformers (PyTorch) encode of the question, so ratios hold on a machine whose
speed drifts. `--threads` sweeps the encoder's and the reader's onnxruntime threads together.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from reference import bare_torch_encode_ms

from rag.api.schemas import answer_out
from rag.embedding import Encoder
from rag.evaluation.gold import read_gold
from rag.evaluation.metrics import percentile
from rag.pipeline import QAPipeline
from rag.settings import get_settings
from rag.span_model import SpanModel, decode_spans, encode_windows

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("encode", "encode_cached", "dense_search", "bm25", "fusion", "reader_windows", "reader_model",
          "reader_decode", "answer_rest", "response")


def stage_times(pipeline: QAPipeline, question: str) -> dict[str, float]:
    retriever, extractor = pipeline.retriever, pipeline.extractor
    reader = extractor.reader
    top_k = pipeline.settings.default_top_k
    k = retriever.depth(len(pipeline.index.chunks), top_k)
    clock = [time.perf_counter()]

    def lap() -> float:
        clock.append(time.perf_counter())
        return clock[-1] - clock[-2]

    times = {}
    vector = pipeline.encoder.encode([question])[0]
    times["encode"] = lap()
    pipeline.encoder.encode_query(question)
    lap()
    pipeline.encoder.encode_query(question)
    times["encode_cached"] = lap()
    dense_ids = retriever.dense_candidates(vector, k, None)
    times["dense_search"] = lap()
    bm25 = retriever.lexical_scores(question, None)
    times["bm25"] = lap()
    passages = retriever.fuse(vector, dense_ids, bm25, k, top_k)
    times["fusion"] = lap()
    contexts = [p.text for p in passages[:extractor.read_passages]]
    batch = encode_windows(reader.tokenizer, question, contexts, reader.max_length, reader.stride)
    times["reader_windows"] = lap()
    start, end = reader.logits(batch)
    times["reader_model"] = lap()
    decode_spans(batch, start, end, reader.max_answer_tokens, 12)
    times["reader_decode"] = lap()
    answer = extractor.run(question, vector, passages)  # reads again: the reader's time is taken off below
    times["answer_rest"] = lap() - times["reader_windows"] - times["reader_model"] - times["reader_decode"]
    answer_out(answer, 0.0).model_dump_json()
    times["response"] = lap()
    return times


def measure(pipeline: QAPipeline, questions: list[str], rounds: int) -> dict:
    for q in questions[:20]:
        pipeline.ask(q)
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    whole = []
    for _ in range(rounds):
        for q in questions:
            t = stage_times(pipeline, q)
            for stage in STAGES:
                times[stage].append(t[stage])
            whole.append(sum(v for s, v in t.items() if s != "encode_cached"))
    out = {f"{stage}_p50_ms": round(1000 * percentile(v, 50), 3) for stage, v in times.items()}
    out["ask_p50_ms"] = round(1000 * percentile(whole, 50), 2)
    out["ask_p95_ms"] = round(1000 * percentile(whole, 95), 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, nargs="+", default=[2])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/bench/stages.json")
    args = parser.parse_args()
    questions = [q.question for q in read_gold(ROOT / "eval/gold.jsonl")]
    settings = get_settings()
    reference = bare_torch_encode_ms(questions, settings.model)
    results: dict = {"questions": len(questions), "rounds": args.rounds, "encoder": settings.encoder_backend,
                     "bare_torch_encode_p50_ms": round(percentile(reference, 50), 2)}
    pipeline = QAPipeline(settings)
    for threads in args.threads:
        pipeline.encoder = Encoder.from_settings(settings.model_copy(update={"encoder_threads": threads}))
        pipeline.extractor.reader = SpanModel(settings.reader_model or pipeline.extractor.reader.model_dir, threads)
        for depth in args.passages:
            pipeline.extractor.read_passages = depth
            row = measure(pipeline, questions, args.rounds)
            row["ask_over_bare_encode"] = round(row["ask_p50_ms"] / results["bare_torch_encode_p50_ms"], 2)
            results[f"threads_{threads}_read_{depth}"] = row
            print(threads, depth, json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
