import numpy as np

from rag.answering import ConfidenceModel
from rag.evaluation.calibration import best_threshold, cross_validate, fit
from rag.evaluation.metrics import calibration_bins


def synthetic(n=600, seed=1):
    """Features whose first column drives correctness; the rest are noise, in the model's feature layout."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, len(ConfidenceModel.FEATURES)))
    right = rng.random(n) < 1 / (1 + np.exp(-(2.5 * features[:, 0] - 0.5)))
    return features, right


def test_fit_recovers_a_calibrated_model_and_respects_bounds():
    features, right = synthetic()
    model = fit(features, right)
    names = list(ConfidenceModel.FEATURES)
    assert model.weights[0] > 1.5
    assert model.weights[names.index("log_support")] >= -1e-9
    assert model.weights[names.index("specifics_missing")] <= 1e-9
    confidence = model.predict(features)
    assert calibration_bins(confidence, right)["ece"] < 0.08
    service = ConfidenceModel(tuple(model.weights), model.bias, 0.5)
    assert abs(service(list(features[0])) - confidence[0]) < 1e-9, "the service computes what was fitted"


def test_threshold_withholds_the_unanswerable_and_the_likely_wrong():
    confidence = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 0.9])
    right = np.array([False, False, False, True, True, False, True])
    answerable = np.array([False, False, True, True, True, True, True])
    # Every cut in (0.3, 0.4] withholds the two unanswerable questions and the wrong answer at 0.3, and keeps the
    # three right answers beside one wrong one (0.8): 2 + 3 - 1. Answering the one at 0.3 as well costs a point,
    # withholding the one at 0.4 too loses one.
    for window in (0.0, 0.1):
        assert 0.3 < best_threshold(confidence, right, answerable, window=window) <= 0.4
    assert best_threshold(confidence, np.ones(7, dtype=bool), np.ones(7, dtype=bool)) == 0.0


def test_threshold_lands_inside_a_plateau_not_on_its_edge():
    confidence = np.array([0.2, 0.5, 0.8])
    right = np.array([True, False, True])
    answerable = np.array([True, False, True])
    # Cuts in (0.5, 0.8] score best (the right answer at 0.8, the unanswerable withheld); judged with their
    # neighbours within 0.1, the first cut whose neighbours all lie on that plateau wins.
    assert best_threshold(confidence, right, answerable, window=0.0) == 0.51
    assert best_threshold(confidence, right, answerable) == 0.61


def test_cross_validation_judges_each_question_held_out_and_averages_the_shuffles():
    features, right = synthetic(n=300)
    answerable = right | (features[:, 1] > 0)
    once = cross_validate(features, right, answerable, repeats=1)
    averaged = cross_validate(features, right, answerable, repeats=4)
    assert set(once) == set(averaged) >= {"abstention_accuracy", "overall_accuracy", "expected_calibration_error"}
    runs = [cross_validate(features, right, answerable, repeats=1, seed=seed) for seed in range(4)]
    assert runs[0] == once and runs[1] != once, "another shuffle, other held-out folds"
    assert abs(averaged["overall_accuracy"] - np.mean([r["overall_accuracy"] for r in runs])) < 1e-12
