"""`rag eval`: run the gold set, SQuAD-open or a BEIR set, write the reports, and check --min thresholds.

Exit status: 0 for a completed run, 1 when a metric is below its --min threshold, 2 when the run cannot
happen (the CLI turns EvaluationError, a ValueError, into status 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from rag.evaluation import gold as g
from rag.evaluation import metrics as m
from rag.evaluation import report
from rag.evaluation.clients import EvaluationError, HttpClient, InProcessClient
from rag.settings import Settings, get_settings

BENCH_INDEX_ROOT = Path("reports") / "bench-index"
BEIR_RANK_KS = (1, 5, 10, 100)
SQUAD_RANK_KS = (1, 5, 20)
GOLD_RANK_KS = (1, 5, 10)
KIND_BAR_KEYS = ["recall@5", "ndcg@10", "answer_contains_gold", "f1", "citation_accuracy", "abstention_recall"]


# Factories, so tests can hand in the session's encoder and pipeline instead of loading new ones.
def make_encoder(settings: Settings):
    from rag.embedding import Encoder

    return Encoder.from_settings(settings)


def make_pipeline(settings: Settings):
    from rag.pipeline import QAPipeline

    return QAPipeline(settings)


def parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds = {}
    for item in items or []:
        name, sep, value = item.rpartition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise EvaluationError(f"--min expects METRIC=VALUE (for example recall@5=0.8), got {item!r}")
    return thresholds


def check_thresholds(overall: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Messages for every metric below its threshold (a metric that could not be measured fails too)."""
    failures = []
    for name, minimum in thresholds.items():
        value = overall.get(name)
        if value is None:
            failures.append(f"{name} was not measured in this run (minimum {minimum})")
        elif value < minimum:
            failures.append(f"{name} = {value:.4f} is below the minimum {minimum}")
    return failures


def _check_names(thresholds: dict[str, float], known: set[str]) -> None:
    unknown = sorted(set(thresholds) - known)
    if unknown:
        raise EvaluationError(f"unknown metric for --min: {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _bench_index_dir(requested: str | None, default_name: str, settings: Settings) -> Path:
    index_dir = Path(requested) if requested else BENCH_INDEX_ROOT / default_name
    live = Path(settings.index_dir).resolve()
    resolved = index_dir.resolve()
    if resolved == live or live in resolved.parents:
        raise EvaluationError(f"benchmarks build their own index and never touch {settings.index_dir}; "
                              "pass another --index-dir")
    return index_dir


def _cutoffs(base: tuple[int, ...], top_k: int, keep_above_top_k: bool) -> tuple[int, ...]:
    if top_k < 1:
        raise EvaluationError("--top-k must be at least 1")
    ks = {k for k in base if keep_above_top_k or k <= top_k} | {top_k}
    return tuple(sorted(ks))


def _payload(benchmark: str, source: str, client_info: dict, plan: g.Plan, started_at: str, seconds: float,
             overall: dict, **extra) -> dict[str, Any]:
    return {"benchmark": benchmark, "source": source, "mode": client_info["mode"], "url": client_info.get("url"),
            "started_at": started_at, "seconds": round(seconds, 2),
            "plan": {"cutoffs": list(plan.cutoffs), "search_passages": plan.search_passages, **plan.extra},
            "overall": overall, **extra,
            "index": client_info["index"], "settings": client_info["settings"]}


def _write_question_outputs(out: Path, payload: dict, records: list[dict], curve: list, kinds: dict | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plots = []
    report.plot_recall_curve(out / "recall_at_k.png", curve, f"Document Recall@k ({payload['benchmark']})")
    plots.append("recall_at_k.png")
    if kinds:
        report.plot_kind_bars(out / "per_kind.png", kinds, KIND_BAR_KEYS)
        plots.append("per_kind.png")
    report.plot_latency(out / "latency.png", [r["latency_ms"] for r in records if "error" not in r],
                        f"/ask latency ({payload['mode']})")
    plots.append("latency.png")
    report.plot_reliability(out / "reliability.png", payload["calibration"])
    plots.append("reliability.png")
    payload["files"] = ["metrics.json", "report.md", "questions.jsonl", *plots]
    report.write_json(out / "metrics.json", payload)
    report.write_records(out / "questions.jsonl", records)
    report.write_report(out / "report.md", payload, records, plots)


GOLD_NOTES = [
    ("Retrieval is scored at document level over the answerable questions: /search passages ranked by score, "
     "each document at the rank of its first passage. Recall@k is the fraction of the gold doc_ids in the top k; "
     "MRR@10 and nDCG@10 use binary relevance. A question without doc_ids counts a document relevant when one of "
     "its retrieved passages contains an answer (Recall@k is then hit@k)."),
    ("Answer EM and F1 use SQuAD's normalization, the maximum over gold answers, over answerable questions "
     "(an abstention scores 0). 'Answer contains gold': a normalized gold answer occurs in the answer as whole "
     "tokens."),
    ("Citation accuracy: of the citations given on answered answerable questions, the fraction in a gold document "
     "that contain a gold answer. Citation exactness: of all citations and answer sentences, the fraction whose "
     "document text at [start, end) equals the cited text (documents from GET /documents/{doc_id} or "
     "pipeline.document). Passage exactness checks the same for every /ask and /search passage."),
    ("Abstention (answer null) is judged against unanswerable questions (no gold answers): precision = unanswerable "
     "among abstentions, recall = abstentions among unanswerable, accuracy = (answered answerable + abstained "
     "unanswerable) / all."),
    ("Latency is wall-clock around each /ask call (in-process: pipeline.ask), one question at a time; the "
     "/search call made for the retrieval metrics is timed separately."),
]


def run_questions_benchmark(benchmark: str, source: str, client, questions: list[g.GoldQuestion], plan: g.Plan,
                            out: Path, thresholds: dict, notes: list[str], progress: bool,
                            extra: dict | None = None) -> dict[str, Any]:
    _check_names(thresholds, set(g.aggregate([], plan)))
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    records = g.run_questions(client, questions, plan, progress)
    seconds = time.perf_counter() - started
    overall = g.aggregate(records, plan)
    kinds = g.by_kind(records, plan) if any(r["kind"] for r in records) else None
    payload = _payload(benchmark, source, client.describe(), plan, started_at, seconds, overall,
                       by_kind=kinds, calibration=g.calibration(records),
                       recall_curve=g.recall_curve(records, plan.depth), notes=notes, **(extra or {}))
    _write_question_outputs(out, payload, records, payload["recall_curve"], kinds)
    return payload


def report_dir(args: argparse.Namespace, benchmark: str) -> Path:
    """--out, or the benchmark's default report directory."""
    squad = "reports/squad-given" if args.given_paragraph else "reports/squad"
    return Path(args.out or {"gold": "reports/eval", "squad": squad, "beir": "reports/beir"}[benchmark])


def run_gold(args: argparse.Namespace, settings: Settings, thresholds: dict) -> dict[str, Any]:
    questions, for_review = g.read_gold_file(Path(args.gold), args.limit, args.split)
    # A gold file of one's own without splits is read whole (read_gold), and reported as not held out.
    split = args.split if any(q.split for q in questions) else "all"
    plan = g.Plan(cutoffs=_cutoffs(GOLD_RANK_KS, args.top_k, keep_above_top_k=False),
                  search_passages=settings.max_top_k, extra={"ask_top_k": "server default"})
    client = HttpClient(args.url, settings) if args.url else InProcessClient(make_pipeline(settings))
    try:
        notes = [f"Split: {split}" + (" (held out: never used for tuning or calibration)." if split == "test"
                                     else " (not held out: tuning and calibration may have used these questions).")]
        if for_review:
            notes.append(f'{for_review} lines marked "review": true (feedback not judged yet) were skipped.')
        return run_questions_benchmark("gold", str(args.gold), client, questions, plan,
                                       report_dir(args, "gold"), thresholds, notes + GOLD_NOTES, args.progress,
                                       extra={"split": split, "skipped_for_review": for_review})
    finally:
        client.close()


def _build_benchmark_index(documents, index_dir: Path, settings: Settings, encoder, progress: bool):
    from rag.index import load_index
    from rag.pipeline import QAPipeline
    from rag.store import IndexBuilder

    settings = settings.model_copy(update={"index_dir": index_dir})
    build = IndexBuilder(settings, encoder).build(documents, index_dir, progress=progress)
    print(f"benchmark index {build.status}: {build.documents} documents, {build.chunks} chunks in {index_dir} "
          f"({build.seconds:.1f} s)", file=sys.stderr)
    pipeline = QAPipeline(settings, encoder, load_index(index_dir, encoder.name, encoder.backend))
    return pipeline, {"status": build.status, "seconds": round(build.seconds, 2), "documents": build.documents,
                      "chunks": build.chunks, "index_dir": str(index_dir)}


def run_squad(args: argparse.Namespace, settings: Settings, thresholds: dict) -> dict[str, Any]:
    from rag.evaluation.datasets import load_squad

    index_dir = _bench_index_dir(args.index_dir, "squad", settings)
    data = load_squad(Path(args.squad), args.limit)
    cutoffs = _cutoffs(SQUAD_RANK_KS, args.top_k, keep_above_top_k=True)
    plan = g.Plan(cutoffs=cutoffs, search_passages=max(settings.max_top_k, 3 * max(cutoffs)),
                  given_documents=args.given_paragraph,
                  extra={"ask_top_k": settings.default_top_k, "questions_limit": args.limit,
                         "given_paragraph": args.given_paragraph})
    pipeline, build = _build_benchmark_index(data.documents, index_dir, settings, make_encoder(settings),
                                             args.progress)
    asked = ("each given its own paragraph (filters.doc_ids: the reader alone, no retrieval)"
             if args.given_paragraph else "in the open, each with its own paragraph as the one relevant document")
    notes = [(f"Corpus: all {len(data.documents)} paragraphs (one document each, titled by its article); "
              f"{len(data.questions)} questions asked {asked}."),
             ("Answers come from the service's own extractive pipeline (QAPipeline.ask); EM/F1 use SQuAD's official "
              "normalization and are over all questions asked (an abstention scores 0). Multiply by 100 for "
              "SQuAD's usual scale.")] + GOLD_NOTES[2:3] + GOLD_NOTES[4:]
    return run_questions_benchmark("squad", str(args.squad), InProcessClient(pipeline), data.questions, plan,
                                   report_dir(args, "squad"), thresholds, notes, args.progress,
                                   extra={"build": build})


def beir_aggregate(records: list[dict], cutoffs: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"queries": len(records)}
    for k in cutoffs:
        out[f"recall@{k}"] = m.mean(r[f"recall@{k}"] for r in records)
    out["mrr@10"] = m.mean(r["mrr@10"] for r in records)
    out["ndcg@10"] = m.mean(r["ndcg@10"] for r in records)
    latencies = [r["search_ms"] for r in records]
    out["search_p50_ms"] = m.percentile(latencies, 50)
    out["search_p95_ms"] = m.percentile(latencies, 95)
    out["search_mean_ms"] = m.mean(latencies)
    return out


def run_beir(args: argparse.Namespace, settings: Settings, thresholds: dict) -> dict[str, Any]:
    from tqdm import tqdm

    from rag.evaluation.datasets import load_beir

    root = Path(args.beir)
    name = root.resolve().name
    index_dir = _bench_index_dir(args.index_dir, name if name.startswith("beir") else f"beir-{name}", settings)
    cutoffs = _cutoffs(BEIR_RANK_KS, args.top_k, keep_above_top_k=True)
    _check_names(thresholds, set(beir_aggregate([], cutoffs)))
    data = load_beir(root, limit=args.limit)
    # Retrieval only: no sentence vectors (only the answer stage reads them), which saves most of the build.
    settings = settings.model_copy(update={"embed_sentences": False})
    pipeline, build = _build_benchmark_index(data.documents, index_dir, settings, make_encoder(settings),
                                             args.progress)
    passages_k = 3 * max(cutoffs)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    records = []
    for query_id, query in tqdm(data.queries.items(), desc="queries", unit="q", disable=not args.progress,
                                mininterval=2):
        t0 = time.perf_counter()
        passages = pipeline.search(query, passages_k)
        search_ms = (time.perf_counter() - t0) * 1000
        ranking = m.ranked_documents(p.chunk.doc_id for p in passages)
        judged = data.qrels[query_id]
        record = {"id": query_id, "query": query, "relevant": sorted(judged), "retrieved": ranking[:max(cutoffs)],
                  "search_ms": search_ms, "mrr@10": m.reciprocal_rank(ranking, set(judged), 10),
                  "ndcg@10": m.ndcg_at_k(ranking, judged, 10)}
        record.update({f"recall@{k}": m.recall_at_k(ranking, set(judged), k) for k in cutoffs})
        records.append(record)
    seconds = time.perf_counter() - started
    plan = g.Plan(cutoffs=cutoffs, search_passages=passages_k, extra={"split": "test"})
    curve = [m.mean(m.recall_at_k(r["retrieved"], set(r["relevant"]), k) for r in records)
             for k in range(1, max(cutoffs) + 1)]
    notes = [f"{len(data.documents)} documents (title + text), {len(records)} judged queries of qrels/test.tsv.",
             ("Retrieval only, in-process: pipeline.search with "
              f"{passages_k} passages (the API caps top_k at {settings.max_top_k}; in-process has no cap), ranked "
              "at document level by each document's best passage. nDCG@10 as trec_eval/pytrec_eval computes it "
              "(gain = qrel grade, ideal DCG from the qrels); Recall@k = judged documents in the top k / judged "
              "documents."),
             f"Fusion candidates per side: max(candidates_per_side={settings.candidates_per_side}, {passages_k}).",
             "Latency is wall-clock around each search call, one query at a time."]
    client_info = {"mode": "in-process", "index": pipeline.index.manifest,
                   "settings": settings.model_dump(mode="json")}
    payload = _payload("beir", str(root), client_info, plan, started_at, seconds, beir_aggregate(records, cutoffs),
                       recall_curve=curve, notes=notes, build=build)
    out = report_dir(args, "beir")
    out.mkdir(parents=True, exist_ok=True)
    report.plot_recall_curve(out / "recall_at_k.png", curve, f"Document Recall@k ({root.name})")
    report.plot_latency(out / "latency.png", [r["search_ms"] for r in records], "search latency (in-process)")
    plots = ["recall_at_k.png", "latency.png"]
    payload["files"] = ["metrics.json", "report.md", "questions.jsonl", *plots]
    report.write_json(out / "metrics.json", payload)
    report.write_records(out / "questions.jsonl", records)
    report.write_report(out / "report.md", payload, records, plots)
    return payload


SUMMARY_KEYS = ["recall@1", "recall@5", "recall@10", "recall@20", "recall@100", "mrr@10", "ndcg@10", "exact_match",
                "f1", "answer_contains_gold", "citation_accuracy", "citation_exactness", "abstention_precision",
                "abstention_recall", "abstention_accuracy", "confidently_wrong", "latency_p50_ms", "latency_p95_ms",
                "search_p50_ms"]


def main(args: argparse.Namespace, settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    args.progress = getattr(args, "progress", True)
    args.split = getattr(args, "split", "test")
    args.given_paragraph = getattr(args, "given_paragraph", False)
    if args.given_paragraph and not args.squad:
        raise EvaluationError("--given-paragraph works with --squad")
    thresholds = parse_thresholds(args.min)
    if args.limit is not None and args.limit < 1:
        raise EvaluationError("--limit must be at least 1")
    if args.url and not args.gold:
        raise EvaluationError("--url works with --gold; --squad and --beir build and query their own index")
    if args.gold:
        payload = run_gold(args, settings, thresholds)
    elif args.squad:
        payload = run_squad(args, settings, thresholds)
    else:
        payload = run_beir(args, settings, thresholds)
    overall = payload["overall"]
    out = report_dir(args, payload["benchmark"])
    shown = ", ".join(f"{k} {report._fmt(overall[k])}" for k in SUMMARY_KEYS if overall.get(k) is not None)
    print(f"{payload['benchmark']}: {overall.get('questions', overall.get('queries'))} questions in "
          f"{payload['seconds']:.1f} s — {shown}")
    if payload.get("skipped_for_review"):
        print(f'skipped {payload["skipped_for_review"]} lines marked "review": true (feedback to judge, not gold)')
    print(f"wrote {out / 'metrics.json'}, {out / 'report.md'} and plots")
    if overall.get("errors"):
        print(f"warning: {overall['errors']} requests failed; see questions.jsonl", file=sys.stderr)
    failures = check_thresholds(overall, thresholds)
    for failure in failures:
        print(f"below threshold: {failure}", file=sys.stderr)
    return 1 if failures else 0
