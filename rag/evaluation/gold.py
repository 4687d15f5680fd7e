"""Gold questions: read the JSONL, ask each question through a client, score it, and aggregate.

A gold line is {"id", "question", "answers", "doc_ids"?, "kind"?, "split"?}. No answers means unanswerable.
No doc_ids means a retrieved passage is relevant when it contains one of the answers. "split" is "dev" (what
tuning and calibration may look at) or "test" (frozen: reported only); in a file that marks splits, a line
without one belongs to neither and is read only when every split is asked for. A line marked "review": true
(feedback nobody has judged yet, from `rag feedback export`) is no gold: it is skipped, and counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.evaluation import metrics as m
from rag.evaluation.clients import EvaluationError

# The worst thing the service can do: an answer given at this confidence or above that is wrong (token F1 below
# CORRECT_F1), or any answer to an unanswerable question.
CONFIDENT = 0.5
# An answer counts as correct (for "answer_correct", the wrong-answer list and calibration) when it
# contains a gold answer or reaches this token F1 against one.
CORRECT_F1 = 0.5
CORRECT_RULE = f"answer contains a gold answer (normalized, whole tokens) or token F1 >= {CORRECT_F1}"
RANK_DEPTH_FOR_MRR_NDCG = 10


@dataclass(slots=True)
class GoldQuestion:
    id: str
    question: str
    answers: list[str]
    doc_ids: list[str] | None = None
    kind: str | None = None
    split: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(slots=True)
class Plan:
    """What to measure: document cut-offs for recall, and how many passages to ask /search for."""

    cutoffs: tuple[int, ...] = (1, 5, 10)
    search_passages: int = 50
    # Ask with each question's gold documents as the only ones it may read: the reader alone, given the passage.
    given_documents: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return max(self.cutoffs)


def read_gold(path: Path, limit: int | None = None, split: str = "all") -> list[GoldQuestion]:
    """The first `limit` questions of one split ("all": every line). A file that marks no split at all is read
    whole whatever the split asked (a user's own gold file); the questions then say split None."""
    return read_gold_file(path, limit, split)[0]


def read_gold_file(path: Path, limit: int | None = None, split: str = "all") -> tuple[list[GoldQuestion], int]:
    """read_gold's questions, and how many lines it skipped as marked for review."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"gold file not found: {path}")
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    review = 0
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if isinstance(row, dict) and row.get("review") is True:
                    review += 1
                    continue
                question = GoldQuestion(
                    id=str(row["id"]), question=str(row["question"]),
                    answers=[str(a) for a in row.get("answers") or []],
                    doc_ids=[str(d) for d in row["doc_ids"]] if row.get("doc_ids") else None,
                    kind=row.get("kind") or None, split=row.get("split") or None,
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise EvaluationError(f"{path}:{number}: not a gold line ({exc!r}); "
                                      'expected {"id", "question", "answers", "doc_ids"?, "kind"?}') from exc
            if question.id in seen:
                raise EvaluationError(f"{path}:{number}: duplicate id {question.id!r}")
            seen.add(question.id)
            questions.append(question)
            if split == "all" and limit is not None and len(questions) >= limit:
                break
    if split != "all" and any(q.split for q in questions):
        questions = [q for q in questions if q.split == split]
    questions = questions[:limit]
    if not questions:
        raise EvaluationError(f"no questions in {path}" + (f" with split {split!r} (use --split all)"
                                                           if split != "all" else "")
                              + (f"; {review} lines marked for review skipped" if review else ""))
    return questions, review


def retrieval_scores(ranking: list[str], relevant: set[str], cutoffs: Iterable[int], by_doc_ids: bool) -> dict:
    """Document-level scores of one ranking. Without gold doc_ids the number of relevant documents is
    unknown, so recall@k becomes hit@k and the ideal DCG counts the relevant documents that were found.
    hit@k (any relevant document in the top k) is given beside recall@k, which for a question with several
    gold documents can reach only 1/len(gold) at k = 1."""
    at = m.recall_at_k if by_doc_ids else m.hit_at_k
    scores = {f"recall@{k}": at(ranking, relevant, k) for k in cutoffs}
    scores.update({f"hit@{k}": m.hit_at_k(ranking, relevant, k) for k in cutoffs})
    scores[f"mrr@{RANK_DEPTH_FOR_MRR_NDCG}"] = m.reciprocal_rank(ranking, relevant, RANK_DEPTH_FOR_MRR_NDCG)
    scores[f"ndcg@{RANK_DEPTH_FOR_MRR_NDCG}"] = m.ndcg_at_k(ranking, {d: 1.0 for d in relevant},
                                                           RANK_DEPTH_FOR_MRR_NDCG)
    return scores


def _span_exact(span: dict, document_text: Callable[[str], str | None]) -> bool:
    text = document_text(span["doc_id"])
    return text is not None and text[span["start"]:span["end"]] == span["text"]


def score_question(gold: GoldQuestion, response: dict, passages: list[dict], plan: Plan,
                   document_text: Callable[[str], str | None]) -> dict[str, Any]:
    """One question's record: what the system said, and every per-question score."""
    ranked = sorted(passages, key=lambda p: -p["score"])  # stable: equal scores keep the server's order
    ranking = m.ranked_documents(p["doc_id"] for p in ranked)
    record: dict[str, Any] = {
        "id": gold.id, "question": gold.question, "kind": gold.kind, "answers": gold.answers,
        "doc_ids": gold.doc_ids, "answerable": gold.answerable,
        "answer": response.get("answer"), "confidence": response.get("confidence"),
        "abstained": response.get("answer") is None,
        "retrieved": ranking[:plan.depth],
    }
    if gold.answerable:
        if gold.doc_ids:
            relevant = set(gold.doc_ids)
        else:
            relevant = {p["doc_id"] for p in ranked if any(m.contains_answer(p["text"], a) for a in gold.answers)}
        record["retrieval"] = retrieval_scores(ranking, relevant, plan.cutoffs, bool(gold.doc_ids))
        prediction = response.get("answer")
        record["em"] = m.best_over_golds(m.exact_match, prediction, gold.answers)
        record["f1"] = m.best_over_golds(m.token_f1, prediction, gold.answers)
        record["contains"] = float(prediction is not None and any(m.contains_answer(prediction, a)
                                                                   for a in gold.answers))
        record["correct"] = prediction is not None and (record["contains"] == 1.0 or record["f1"] >= CORRECT_F1)
    else:
        record["retrieval"] = None
        record["correct"] = response.get("answer") is None

    citations = []
    for c in response.get("citations") or []:
        in_gold_doc = gold.doc_ids is None or c["doc_id"] in gold.doc_ids
        citations.append({
            "doc_id": c["doc_id"], "start": c["start"], "end": c["end"], "text": c["text"],
            "exact": _span_exact(c, document_text),
            "correct": gold.answerable and in_gold_doc and any(m.contains_answer(c["text"], a) for a in gold.answers),
        })
    record["citations"] = citations
    sentence = response.get("sentence")
    record["sentence_exact"] = None if sentence is None else _span_exact(sentence, document_text)
    spans = (response.get("passages") or []) + passages
    record["passages_checked"] = len(spans)
    record["passages_inexact"] = sum(not _span_exact(p, document_text) for p in spans)
    return record


def error_record(gold: GoldQuestion, error: Exception) -> dict[str, Any]:
    return {"id": gold.id, "question": gold.question, "kind": gold.kind, "answers": gold.answers,
            "doc_ids": gold.doc_ids, "answerable": gold.answerable, "error": f"{type(error).__name__}: {error}"}


def run_questions(client, questions: list[GoldQuestion], plan: Plan, progress: bool = True) -> list[dict]:
    """Ask every question (one at a time, so latency is a single request's), returning one record each."""
    from tqdm import tqdm

    records = []
    for gold in tqdm(questions, desc="questions", unit="q", disable=not progress, mininterval=2):
        try:
            passages, search_ms = client.search(gold.question, plan.search_passages)
            response, ask_ms = client.ask(gold.question, gold.doc_ids if plan.given_documents else None)
            record = score_question(gold, response, passages, plan, client.document_text)
        except Exception as exc:  # one failing request must not lose the rest of the run
            records.append(error_record(gold, exc))
            continue
        record["latency_ms"] = ask_ms
        record["search_ms"] = search_ms
        records.append(record)
    return records


def confident_and_wrong(record: dict) -> bool:
    """Answered at confidence >= CONFIDENT with token F1 < CORRECT_F1, or answered at all when unanswerable."""
    if record["abstained"]:
        return False
    if not record["answerable"]:
        return True
    return (record["confidence"] or 0.0) >= CONFIDENT and record["f1"] < CORRECT_F1


def aggregate(records: list[dict], plan: Plan) -> dict[str, Any]:
    """Overall scores of a set of records (all fractions in [0, 1]; None where nothing was measurable)."""
    done = [r for r in records if "error" not in r]
    answerable = [r for r in done if r["answerable"]]
    with_retrieval = [r for r in answerable if r.get("retrieval")]
    answered_answerable = [r for r in answerable if not r["abstained"]]
    out: dict[str, Any] = {
        "questions": len(records),
        "errors": len(records) - len(done),
        "answerable": len(answerable),
        "unanswerable": len(done) - len(answerable),
        "answered": sum(not r["abstained"] for r in done),
    }
    keys = [f"recall@{k}" for k in plan.cutoffs] + [f"hit@{k}" for k in plan.cutoffs] + [
        f"mrr@{RANK_DEPTH_FOR_MRR_NDCG}",
                                                   f"ndcg@{RANK_DEPTH_FOR_MRR_NDCG}"]
    for key in keys:
        out[key] = m.mean(r["retrieval"][key] for r in with_retrieval)
    out["exact_match"] = m.mean(r["em"] for r in answerable)
    out["f1"] = m.mean(r["f1"] for r in answerable)
    out["answer_contains_gold"] = m.mean(r["contains"] for r in answerable)
    out["answer_correct"] = m.mean(float(r["correct"]) for r in answerable)
    confidently_wrong = sum(confident_and_wrong(r) for r in done)
    out["confidently_wrong"] = confidently_wrong
    out["confidently_wrong_rate"] = confidently_wrong / len(done) if done else None
    cited = [c for r in answered_answerable for c in r["citations"]]
    out["citation_accuracy"] = m.mean(float(c["correct"]) for c in cited)
    checked = [c["exact"] for r in done for c in r["citations"]] + \
        [r["sentence_exact"] for r in done if r["sentence_exact"] is not None]
    out["citation_exactness"] = m.mean(float(x) for x in checked)
    out["citations_checked"] = len(checked)
    passages = sum(r["passages_checked"] for r in done)
    out["passage_exactness"] = 1 - sum(r["passages_inexact"] for r in done) / passages if passages else None
    out.update(m.abstention_scores([r["abstained"] for r in done], [not r["answerable"] for r in done]))
    latencies = [r["latency_ms"] for r in done]
    searches = [r["search_ms"] for r in done]
    out["latency_p50_ms"] = m.percentile(latencies, 50)
    out["latency_p95_ms"] = m.percentile(latencies, 95)
    out["latency_mean_ms"] = m.mean(latencies)
    out["search_p50_ms"] = m.percentile(searches, 50)
    out["search_p95_ms"] = m.percentile(searches, 95)
    return out


def recall_curve(records: list[dict], depth: int) -> list[float | None]:
    """Mean recall@k for k = 1..depth over the answerable questions with gold documents."""
    rows = [r for r in records if "error" not in r and r["answerable"] and r.get("retrieval") and r["doc_ids"]]
    return [m.mean(m.recall_at_k(r["retrieved"], set(r["doc_ids"]), k) for r in rows) for k in range(1, depth + 1)]


def by_kind(records: list[dict], plan: Plan) -> dict[str, dict[str, Any]]:
    kinds = sorted({r["kind"] or "unspecified" for r in records})
    return {kind: aggregate([r for r in records if (r["kind"] or "unspecified") == kind], plan) for kind in kinds}


def calibration(records: list[dict]) -> dict[str, Any]:
    """Confidence against correctness for the answered questions (an answer to an unanswerable one is wrong)."""
    answered = [r for r in records if "error" not in r and not r["abstained"] and r["confidence"] is not None]
    table = m.calibration_bins([float(r["confidence"]) for r in answered], [bool(r["correct"]) for r in answered])
    return {"correct_if": CORRECT_RULE, "population": "answered questions (abstentions have no answer to judge)",
            **table}
