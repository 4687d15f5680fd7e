"""Outputs of a run: metrics.json, questions.jsonl, report.md and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

WRONG_LIST_LIMIT = 200

# Labels of the metric tables (recall@k and hit@k are labelled by label()).
METRIC_LABELS = {
    "questions": "questions", "errors": "errors (request failed)", "answerable": "answerable",
    "unanswerable": "unanswerable", "answered": "answered (not abstained)",
    "recall@1": "Recall@1", "recall@5": "Recall@5", "recall@10": "Recall@10", "recall@20": "Recall@20",
    "recall@100": "Recall@100", "mrr@10": "MRR@10", "ndcg@10": "nDCG@10",
    "exact_match": "answer exact match", "f1": "answer token F1", "answer_contains_gold": "answer contains gold",
    "answer_correct": "answer correct (contains gold or F1 >= 0.5)",
    "citation_accuracy": "citation accuracy", "citation_exactness": "citation exactness",
    "citations_checked": "citations checked", "passage_exactness": "passage exactness",
    "abstention_precision": "abstention precision", "abstention_recall": "abstention recall",
    "abstention_accuracy": "abstention accuracy", "abstention_rate": "abstention rate",
    "latency_p50_ms": "latency p50 (ms)", "latency_p95_ms": "latency p95 (ms)", "latency_mean_ms": "latency mean (ms)",
    "search_p50_ms": "search latency p50 (ms)", "search_p95_ms": "search latency p95 (ms)",
}
KIND_COLUMNS = ["questions", "recall@1", "recall@5", "recall@10", "hit@1", "mrr@10", "ndcg@10", "exact_match", "f1",
                "answer_contains_gold", "citation_accuracy", "abstention_rate", "abstention_recall"]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def write_records(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records)


# ---------------------------------------------------------------- plots


def plot_recall_curve(path: Path, curve: list[float | None], title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = [k for k, v in enumerate(curve, 1) if v is not None]
    ax.plot(ks, [curve[k - 1] for k in ks], marker="o" if len(ks) <= 25 else None, markersize=3)
    ax.set(xlabel="k (documents)", ylabel="mean Recall@k", title=title, ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_kind_bars(path: Path, kinds: dict[str, dict], keys: list[str]) -> None:
    plt = _pyplot()
    names = list(kinds)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(names) + 2), 4.5))
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        values = [kinds[n].get(key) for n in names]
        ax.bar([i + j * width for i in range(len(names))], [v if v is not None else math.nan for v in values],
               width, label=label(key))
    ax.set_xticks([i + width * (len(keys) - 1) / 2 for i in range(len(names))], names, rotation=20)
    ax.set(ylim=(0, 1.05), title="Per kind (no bar: not measurable for that kind)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(path: Path, latencies: list[float], title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(latencies, bins=min(50, max(5, len(latencies) // 5)))
    if latencies:
        from rag.evaluation.metrics import percentile

        for q, style in ((50, "--"), (95, ":")):
            value = percentile(latencies, q)
            ax.axvline(value, color="k", linestyle=style, label=f"p{q} = {value:.1f} ms")
        ax.legend()
    ax.set(xlabel="milliseconds", ylabel="questions", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(path: Path, calibration: dict) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    rows = [b for b in calibration["bins"] if b["count"]]
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    if rows:
        ax.plot([b["mean_confidence"] for b in rows], [b["accuracy"] for b in rows], marker="o", label="observed")
        for b in rows:
            ax.annotate(str(b["count"]), (b["mean_confidence"], b["accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ece = calibration.get("ece")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted confidence (bin mean)", ylabel="observed accuracy",
           title=f"Reliability (answered questions; ECE {ece:.3f})" if ece is not None else "Reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- report.md


def label(key: str) -> str:
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    name, _, k = key.partition("@")
    if name == "recall" and k:
        return f"Recall@{k}"
    if name == "hit" and k:
        return f"Hit@{k} (a gold document in the top {k})"
    return key


def _metric_table(overall: dict) -> list[str]:
    lines = ["| metric | value |", "|---|---|"]
    for key, value in overall.items():
        lines.append(f"| {label(key)} | {_fmt(value)} |")
    return lines


def _kind_table(kinds: dict[str, dict]) -> list[str]:
    columns = [c for c in KIND_COLUMNS if any(c in v for v in kinds.values())]
    lines = ["| kind | " + " | ".join(label(c) for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for kind, values in kinds.items():
        lines.append(f"| {kind} | " + " | ".join(_fmt(values.get(c)) for c in columns) + " |")
    return lines


def _calibration_table(calibration: dict) -> list[str]:
    lines = [(f"Correct means: {calibration['correct_if']}. Population: {calibration['population']}; "
             f"{calibration['count']} questions, ECE {_fmt(calibration['ece'])}."), "",
             "| confidence bin | questions | mean confidence | accuracy |", "|---|---|---|---|"]
    for b in calibration["bins"]:
        lines.append(f"| {b['low']:.1f}–{b['high']:.1f} | {b['count']} | {_fmt(b['mean_confidence'])} | "
                     f"{_fmt(b['accuracy'])} |")
    return lines


def _why_wrong(record: dict, depth: int) -> str:
    if "error" in record:
        return f"request failed: {record['error']}"
    if not record["answerable"]:
        return "answered an unanswerable question"
    reasons = ["abstained" if record["abstained"] else "wrong answer"]
    if record["doc_ids"] and not set(record["doc_ids"]) & set(record["retrieved"][:depth]):
        reasons.append(f"no gold document in the top {depth}")
    return "; ".join(reasons)


def _wrong_answers(records: list[dict], depth: int) -> list[str]:
    wrong = [r for r in records if "error" in r or not r["correct"]]
    lines = [(f"{len(wrong)} of {len(records)} questions. An answerable question is wrong when it is not correct "
             "(see above) or abstained; an unanswerable one when it was answered.")]
    if len(wrong) > WRONG_LIST_LIMIT:
        lines.append(f"The first {WRONG_LIST_LIMIT} are listed; questions.jsonl has every record.")
    lines.append("")
    for r in wrong[:WRONG_LIST_LIMIT]:
        lines.append(f"- **{_cell(r['id'])}** ({r['kind'] or 'no kind'}; {_why_wrong(r, depth)}): "
                     f"{_cell(r['question'])}")
        if r["answers"]:
            lines.append(f"  - gold: {'; '.join(_cell(a) for a in r['answers'][:5])}"
                         + (f" — in {', '.join(r['doc_ids'][:4])}" if r["doc_ids"] else ""))
        if "error" not in r:
            said = "(abstained)" if r["abstained"] else f"\"{_cell(r['answer'])}\""
            cited = f" — cited {r['citations'][0]['doc_id']}" if r["citations"] else ""
            lines.append(f"  - answered: {said} (confidence {_fmt(r['confidence'])}){cited}")
            lines.append(f"  - top documents: {', '.join(r['retrieved'][:3]) or '(none)'}")
    return lines


def write_report(path: Path, payload: dict, records: list[dict], plots: list[str]) -> None:
    benchmark = payload["benchmark"]
    titles = {"gold": "Gold-set evaluation", "squad": "SQuAD v1.1 dev, open retrieval",
              "beir": "BEIR retrieval evaluation"}
    index = payload.get("index") or {}
    lines = [f"# {titles.get(benchmark, benchmark)}", "",
             f"- source: `{payload['source']}`",
             f"- mode: {payload['mode']}" + (f" ({payload['url']})" if payload.get("url") else ""),
             f"- run: {payload['started_at']}, {payload['seconds']:.1f} s",
             (f"- index: {index.get('documents')} documents, {index.get('chunks')} chunks, model {index.get('model')}, "
              f"{index.get('dense_index')} dense index, built {index.get('built_at')}"),
             f"- plan: {json.dumps(payload['plan'])}", ""]
    if payload.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in payload["notes"]] + [""]
    lines += ["## Overall", ""] + _metric_table(payload["overall"]) + [""]
    if payload.get("by_kind"):
        lines += ["## Per kind", ""] + _kind_table(payload["by_kind"]) + [""]
    if payload.get("calibration"):
        lines += ["## Calibration", ""] + _calibration_table(payload["calibration"]) + [""]
    if plots:
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]
    if benchmark == "beir":
        lines += ["## Queries with no relevant document in the top 10", ""] + _beir_misses(records) + [""]
    else:
        lines += ["## Wrong answers", ""] + _wrong_answers(records, max(payload["plan"]["cutoffs"])) + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _beir_misses(records: list[dict]) -> list[str]:
    misses = [r for r in records if r["ndcg@10"] == 0]
    lines = [f"{len(misses)} of {len(records)} queries."]
    for r in misses[:WRONG_LIST_LIMIT]:
        lines.append(f"- **{r['id']}** {_cell(r['query'])} — relevant: {', '.join(r['relevant'])}; "
                     f"top: {', '.join(r['retrieved'][:3])}")
    return lines
