"""Pure metric functions: SQuAD answer scores, ranking metrics, abstention, latency, calibration.

Every score is a fraction in [0, 1] (SQuAD's 0-100 scale is the same number times 100).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from rag.text import normalize_answer


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD's token F1 between normalized prediction and gold (0 when either side has no tokens)."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def contains_answer(text: str, gold: str) -> bool:
    """The normalized gold answer occurs in the normalized text as whole tokens ("Mori" is not in "Morioka")."""
    needle = normalize_answer(gold)
    return bool(needle) and f" {needle} " in f" {normalize_answer(text)} "


def best_over_golds(metric, prediction: str | None, golds: Sequence[str]) -> float:
    """SQuAD takes the maximum over the gold answers; no prediction (an abstention) scores 0."""
    if prediction is None or not golds:
        return 0.0
    return max(float(metric(prediction, gold)) for gold in golds)


def ranked_documents(doc_ids: Iterable[str]) -> list[str]:
    """Document ranking from a passage ranking: each document at the rank of its first passage."""
    return list(dict.fromkeys(doc_ids))


def recall_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Fraction of the relevant documents found in the top k."""
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def hit_at_k(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    return float(any(d in relevant for d in ranking[:k]))


def reciprocal_rank(ranking: Sequence[str], relevant: set[str], k: int = 10) -> float:
    for rank, doc_id in enumerate(ranking[:k], 1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], relevance: dict[str, float], k: int = 10) -> float:
    """nDCG@k as trec_eval computes it: gain rel / log2(rank + 1); the ideal DCG comes from the judgments."""
    dcg = sum(relevance.get(d, 0.0) / math.log2(rank + 1) for rank, d in enumerate(ranking[:k], 1))
    ideal_gains = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal_gains, 1))
    return dcg / ideal if ideal > 0 else 0.0


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of abstaining (answer null) as a detector of unanswerable questions.

    accuracy = (answered answerable + abstained unanswerable) / all. Undefined ratios are None.
    """
    pairs = list(zip(abstained, unanswerable, strict=True))
    abstentions = sum(a for a, _ in pairs)
    unanswerables = sum(u for _, u in pairs)
    both = sum(a and u for a, u in pairs)
    right = sum(a == u for a, u in pairs)
    return {
        "abstention_precision": both / abstentions if abstentions else None,
        "abstention_recall": both / unanswerables if unanswerables else None,
        "abstention_accuracy": right / len(pairs) if pairs else None,
        "abstention_rate": abstentions / len(pairs) if pairs else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def calibration_bins(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict:
    """Reliability table: equal-width confidence bins, with mean confidence and observed accuracy in each.

    ECE is the count-weighted mean of |accuracy - confidence| over non-empty bins.
    """
    rows = []
    total = len(confidences)
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [(c, ok) for c, ok in zip(confidences, correct, strict=True)
                   if low <= c < high or (b == bins - 1 and c == high)]
        if members:
            confidence = sum(c for c, _ in members) / len(members)
            accuracy = sum(ok for _, ok in members) / len(members)
            ece += len(members) / total * abs(accuracy - confidence)
        else:
            confidence = accuracy = None
        rows.append({"low": low, "high": high, "count": len(members), "mean_confidence": confidence,
                     "accuracy": accuracy})
    return {"bins": rows, "ece": ece if total else None, "count": total}
