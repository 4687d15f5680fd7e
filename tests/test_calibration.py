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
    assert model.weights[names.index("log_support")] * features[:, names.index("log_support")].std() >= 0.2 - 1e-6
    assert model.weights[names.index("specifics_missing")] <= 1e-9
    assert model.weights[names.index("another_year_or_ordinal")] <= 1e-9
    assert model.weights[names.index("counted_noun_missing")] <= 1e-9
    confidence = model.predict(features)
    assert calibration_bins(confidence, right)["ece"] < 0.08
    service = ConfidenceModel(tuple(model.weights), model.bias, 0.5)
    assert abs(service(list(features[0])) - confidence[0]) < 1e-9, "the service computes what was fitted"


def test_threshold_withholds_the_unanswerable_and_keeps_answering_the_answerable():
    confidence = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 0.9])
    right = np.array([False, False, False, True, True, False, True])
    answerable = np.array([False, False, True, True, True, True, True])
    # Every cut in (0.2, 0.4] withholds the two unanswerable questions and keeps the three right answers (overall
    # accuracy 5 of 7), but a cut above 0.3 also withholds the answerable question at 0.3 for no gain.
    for window in (0.0, 0.1):
        assert 0.2 < best_threshold(confidence, right, answerable, window=window) <= 0.3
    assert best_threshold(confidence, np.ones(7, dtype=bool), np.ones(7, dtype=bool)) == 0.0


def test_threshold_prefers_a_plateau_to_a_lone_peak():
    # Answerable questions answered rightly or not, and unanswerable ones (right and answerable both False).
    confidence = np.array([0.38, 0.41, 0.49, 0.64, 0.68, 0.78, 0.86, 0.9, 0.97, 0.98])
    right = np.array([True, True, False, True, False, True, False, False, False, True])
    answerable = right.copy()
    # The cut 0.98 alone makes 6 of 10 right decisions, the cuts just below it 4 or 5; every cut up to 0.38
    # makes 5.
    assert best_threshold(confidence, right, answerable, window=0.0) == 0.98
    assert best_threshold(confidence, right, answerable) <= 0.38


def test_cross_validation_judges_each_question_held_out_and_averages_the_shuffles():
    features, right = synthetic(n=300)
    answerable = right | (features[:, 1] > 0)
    once = cross_validate(features, right, answerable, repeats=1)
    averaged = cross_validate(features, right, answerable, repeats=4)
    assert set(once) == set(averaged) >= {"abstention_accuracy", "overall_accuracy", "expected_calibration_error"}
    runs = [cross_validate(features, right, answerable, repeats=1, seed=seed) for seed in range(4)]
    assert runs[0] == once and runs[1] != once, "another shuffle, other held-out folds"
    assert abs(averaged["overall_accuracy"] - np.mean([r["overall_accuracy"] for r in runs])) < 1e-12
