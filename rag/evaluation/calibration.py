"""Fit the answer confidence on the gold dev split, and choose the abstention threshold there.

Only the dev split is read (`--split dev`, the default): the test split stays unseen, so `rag eval` can report
on it out of sample. For every dev question the pipeline's best answer gives a feature vector
(AnswerExtractor.features); the
label is whether that answer is right (token F1 >= 0.5 against a gold answer; any answer to an unanswerable
question is wrong). A logistic regression maps features to P(right), so a confidence of 0.8 means right about
80% of the time on questions like these. The threshold counts a wrong answer as costly as a right one is worth
(see best_threshold). Five-fold cross-validation, repeated over ten shuffles, reports
how well both hold on questions the fit did not see.
Writes rag/calibration.json, which AnswerExtractor loads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rag.answering import CALIBRATION_FILE, ConfidenceModel
from rag.evaluation.gold import GoldQuestion, read_gold
from rag.evaluation.metrics import best_over_golds, calibration_bins, token_f1
from rag.pipeline import QAPipeline
from rag.settings import get_settings

RIGHT_F1 = 0.5
# Each cut is judged with its neighbours within this distance, so the cut lands in the middle of a plateau.
THRESHOLD_WINDOW = 0.1


def collect(pipeline: QAPipeline, gold: list[GoldQuestion], top_k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of each question's best answer, whether it is right, and whether the question is answerable."""
    features, right, answerable = [], [], []
    for row in gold:
        query_vector = pipeline.encoder.encode_query(row.question)
        passages = pipeline.retriever.run(query_vector, row.question, top_k)
        ranking = pipeline.extractor.rank(row.question, passages)
        if not ranking.groups:
            continue
        features.append(pipeline.extractor.features(row.question, query_vector, ranking))
        text = ranking.best.best.text
        right.append(row.answerable and best_over_golds(token_f1, text, row.answers) >= RIGHT_F1)
        answerable.append(row.answerable)
    return np.array(features), np.array(right), np.array(answerable)


def best_threshold(confidence: np.ndarray, right: np.ndarray, answerable: np.ndarray,
                   window: float = THRESHOLD_WINDOW) -> float:
    """The cut that makes the best decisions when a wrong answer costs as much as a right one gains: each right
    answer and each abstention on an unanswerable question counts +1, each wrong answer (to an answerable
    question, or any answer to an unanswerable one) -1, an abstention on an answerable question 0. Overall
    accuracy alone (SQuAD 2.0's no-answer tuning) counts a wrong answer the same as withholding it, so it keeps
    answering where the service is as likely wrong as right; this is the service's own rule that a confident
    wrong answer is the worst outcome. Cuts are tried on a 0.01 grid and each is judged by the mean of the cuts
    within `window` of it, so the cut lands in the middle of a plateau, not on one lucky point of it; ties go to
    the lowest cut."""
    grid = np.round(np.linspace(0.0, 1.0, 101), 2)
    answered = confidence[None, :] >= grid[:, None]
    utility = np.mean((answered & right) | (~answered & ~answerable), axis=1) - np.mean(answered & ~right, axis=1)
    smoothed = [utility[np.abs(grid - t) <= window + 1e-9].mean() for t in grid]
    return float(grid[int(np.argmax(smoothed))])


def decision_scores(answered: np.ndarray, right: np.ndarray, answerable: np.ndarray) -> dict:
    return {
        "abstention_accuracy": float(np.mean(answered == answerable)),
        "abstention_precision": float(np.mean(~answerable[~answered])) if np.any(~answered) else None,
        "abstention_recall": float(np.mean(~answered[~answerable])) if np.any(~answerable) else None,
        "answered": float(np.mean(answered)),
        "overall_accuracy": float(np.mean((answered & right) | (~answered & ~answerable))),
        "right_when_answered": float(np.mean(right[answered])) if np.any(answered) else None,
    }


# Bounds on standardized weights, by design: the question's names and numbers missing from the passage never
# raise the confidence, and an answer stated by several documents is never less confident than the same answer
# from one.
BOUNDS = {"log_support": (0.0, None), "specifics_missing": (None, 0.0)}


class LogisticFit:
    """L2-regularized logistic regression with bounds on some weights (scipy L-BFGS-B)."""

    def __init__(self, weights: np.ndarray, bias: float, mean: np.ndarray, scale: np.ndarray):
        self.weights, self.bias, self.mean, self.scale = weights, bias, mean, scale

    def predict(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(features @ self.weights + self.bias)))


def fit(features: np.ndarray, right: np.ndarray, l2: float = 1.0) -> LogisticFit:
    from scipy.optimize import minimize

    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    x = (features - mean) / scale
    y = right.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[:-1] + theta[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * l2 * theta[:-1] @ theta[:-1]
        gradient = np.append(x.T @ (p - y) + l2 * theta[:-1], np.sum(p - y))
        return value, gradient

    bounds = [BOUNDS.get(name, (None, None)) for name in ConfidenceModel.FEATURES] + [(None, None)]
    theta = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    # Back to raw feature units, so the service needs no scaler.
    weights = theta[:-1] / scale
    return LogisticFit(weights, float(theta[-1] - weights @ mean), mean, scale)


def cross_validate(features: np.ndarray, right: np.ndarray, answerable: np.ndarray, folds: int = 5,
                   repeats: int = 10, seed: int = 0) -> dict:
    """Fit and pick the cut on four fifths, judge on the held-out fifth, five times; the mean over `repeats`
    shuffles (seeds `seed`, `seed` + 1, ...), since one split of a few hundred questions moves the figures by a
    point or two."""
    runs = []
    for shuffle in range(seed, seed + repeats):
        order = np.random.default_rng(shuffle).permutation(len(features))
        confidence = np.zeros(len(features))
        answered = np.zeros(len(features), dtype=bool)
        for k in range(folds):
            test = order[k::folds]
            train = np.setdiff1d(order, test)
            model = fit(features[train], right[train])
            cut = best_threshold(model.predict(features[train]), right[train], answerable[train])
            confidence[test] = model.predict(features[test])
            answered[test] = confidence[test] >= cut
        runs.append({**decision_scores(answered, right, answerable),
                     "expected_calibration_error": calibration_bins(confidence, right)["ece"]})
    return {key: float(np.mean(values)) if (values := [r[key] for r in runs if r[key] is not None]) else None
            for key in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--split", default="dev", choices=("dev", "all"),
                        help="the questions to fit on (default dev; never the test split)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = parser.parse_args(argv)
    gold = read_gold(args.gold, split=args.split)
    settings = get_settings().model_copy(update={"min_confidence": 0.0})
    features, right, answerable = collect(QAPipeline(settings), gold, args.top_k)
    model = fit(features, right)
    confidence = model.predict(features)
    threshold = best_threshold(confidence, right, answerable)
    report = {
        "features": list(ConfidenceModel.FEATURES),
        "weights": [round(float(w), 6) for w in model.weights],
        "bias": round(float(model.bias), 6),
        "threshold": round(threshold, 6),
        "fitted_on": {"gold": str(args.gold), "split": args.split if any(q.split for q in gold) else "all",
                      "questions": len(features),
                      "right_if_f1_at_least": RIGHT_F1},
        "in_sample": {**decision_scores(confidence >= threshold, right, answerable),
                      "expected_calibration_error": calibration_bins(confidence, right)["ece"]},
        "cross_validated": cross_validate(features, right, answerable),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
