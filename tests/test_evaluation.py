"""`rag eval`: metric functions on hand-checked cases, and whole runs on tiny data of every supported format."""

from __future__ import annotations

import json
import math

import pytest

from rag import cli
from rag.documents import Document
from rag.evaluation import metrics as m
from rag.evaluation import runner
from rag.evaluation.clients import EvaluationError
from rag.evaluation.gold import read_gold
from rag.generations import read_manifest
from rag.settings import Settings
from rag.store import IndexBuilder
from tests.live_server import serve

# ---------------------------------------------------------------- metric functions


def test_squad_normalization_exact_match_and_f1():
    assert m.normalize_answer("The  Cat's   hat!") == "cats hat"
    assert m.normalize_answer("An apple, a pear and the plum.") == "apple pear and plum"
    assert m.exact_match("The Eiffel Tower.", "eiffel tower") == 1.0
    assert m.exact_match("Eiffel", "eiffel tower") == 0.0
    # pred tokens [cat, sat, on, mat], gold [cat, sat]: P = 2/4, R = 2/2, F1 = 2/3.
    assert m.token_f1("the cat sat on the mat", "cat sat") == pytest.approx(2 / 3)
    # Repeated tokens count with multiplicity: pred [a1, a1, b], gold [a1, b, b]: common 2, F1 = 2/3.
    assert m.token_f1("a1 a1 b", "a1 b b") == pytest.approx(2 / 3)
    assert m.token_f1("nothing shared", "cat") == 0.0
    assert m.token_f1("the", "a") == 0.0  # both normalize to nothing: SQuAD v1.1 scores 0
    assert m.best_over_golds(m.token_f1, "Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert m.best_over_golds(m.exact_match, None, ["x"]) == 0.0


def test_contains_answer_matches_whole_tokens():
    assert m.contains_answer("Prime Minister Yoshiro Mori visited India.", "Mori")
    assert not m.contains_answer("He was born in Morioka.", "Mori")
    assert m.contains_answer("It opened on 24 December, 2002.", "24 December 2002")
    assert not m.contains_answer("anything", "the")  # an empty normalized gold matches nothing


def test_ranking_metrics_on_a_known_ranking():
    ranking = m.ranked_documents(["x", "a", "x", "y", "b"])
    assert ranking == ["x", "a", "y", "b"]
    relevant = {"a", "b"}
    assert [m.recall_at_k(ranking, relevant, k) for k in (1, 2, 3, 4)] == [0.0, 0.5, 0.5, 1.0]
    assert m.hit_at_k(ranking, relevant, 1) == 0.0 and m.hit_at_k(ranking, relevant, 2) == 1.0
    assert m.reciprocal_rank(ranking, relevant) == 0.5
    assert m.reciprocal_rank(ranking, relevant, k=1) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k(ranking, {"a": 1, "b": 1}, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.6509, abs=1e-4)
    # Graded: ranking [b, a] with a=2, b=1: DCG = 1 + 2/log2(3), ideal = 2 + 1/log2(3).
    assert m.ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx(
        (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    # The ideal DCG comes from the judgments, not from what was retrieved: a missed document costs.
    assert m.ndcg_at_k(["a"], {"a": 1, "z": 1}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m.ndcg_at_k(["a", "b"], {"b": 1}, 1) == 0.0


def test_abstention_percentiles_and_calibration():
    scores = m.abstention_scores([True, True, False, False], [True, False, True, False])
    assert scores == {"abstention_precision": 0.5, "abstention_recall": 0.5, "abstention_accuracy": 0.5,
                      "abstention_rate": 0.5}
    assert m.abstention_scores([False], [False])["abstention_precision"] is None
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert m.percentile([], 50) is None
    table = m.calibration_bins([0.05, 0.15, 0.95, 1.0], [False, True, True, True], bins=10)
    assert [b["count"] for b in table["bins"]] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table["bins"][9]["accuracy"] == 1.0 and table["bins"][9]["mean_confidence"] == pytest.approx(0.975)
    assert table["ece"] == pytest.approx((0.05 + 0.85 + 2 * 0.025) / 4)


def test_threshold_parsing_and_checking():
    assert runner.parse_thresholds(["recall@5=0.8", "ndcg@10 = 0.5"]) == {"recall@5": 0.8, "ndcg@10": 0.5}
    for bad in ("recall@5", "=0.3", "recall@5=high"):
        with pytest.raises(EvaluationError, match="METRIC=VALUE"):
            runner.parse_thresholds([bad])
    assert runner.check_thresholds({"a": 0.9, "b": None}, {"a": 0.8}) == []
    assert len(runner.check_thresholds({"a": 0.7, "b": None}, {"a": 0.8, "b": 0.1})) == 2


# ---------------------------------------------------------------- gold set over the tiny corpus

GOLD = [
    {"id": "q1", "question": "When did the Delhi Metro open its first line?", "answers": ["24 December 2002"],
     "doc_ids": ["delhi-metro"], "kind": "factoid"},
    {"id": "q2", "question": "How long is the Mumbai-Ahmedabad High-Speed Rail line?",
     "answers": ["about 508 kilometres", "508 kilometres"], "doc_ids": ["bullet-train"], "kind": "factoid"},
    {"id": "q3", "question": "When did Kyoto and Varanasi sign their partner-city agreement?",
     "answers": ["30 August 2014"], "doc_ids": ["kyoto-varanasi"], "kind": "factoid"},
    # No doc_ids: a passage is relevant when it contains an answer.
    {"id": "q4", "question": "How many Nihongo Partners volunteers did the Japan Foundation first send to India?",
     "answers": ["five"], "kind": "count"},
    {"id": "q5", "question": "What is the population of the capital of Peru in 1850?", "answers": [], "doc_ids": [],
     "kind": "unanswerable"},
]


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in GOLD) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture
def use_tiny(monkeypatch, tiny_pipeline, encoder):
    """The runner gets the session's pipeline and encoder instead of loading the default index and model."""
    monkeypatch.setattr(runner, "make_pipeline", lambda settings: tiny_pipeline)
    monkeypatch.setattr(runner, "make_encoder", lambda settings: encoder)


def _outputs(out):
    metrics = json.loads((out / "metrics.json").read_text())
    records = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    return metrics, records


def _assert_pngs(out, names):
    for name in names:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@pytest.fixture(scope="module")
def in_process_run(tiny_pipeline, encoder, gold_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-in-process")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "make_pipeline", lambda settings: tiny_pipeline)
        status = cli.main(["eval", "--gold", str(gold_file), "--out", str(out), "--min", "citation_exactness=1"])
    return status, out


def test_gold_in_process_writes_every_output(in_process_run, tiny_pipeline):
    status, out = in_process_run
    assert status == 0
    metrics, records = _outputs(out)
    overall = metrics["overall"]
    assert (overall["questions"], overall["answerable"], overall["unanswerable"], overall["errors"]) == (5, 4, 1, 0)
    assert overall["citation_exactness"] == 1.0 and overall["citations_checked"] > 0
    assert overall["passage_exactness"] == 1.0
    # The corpus has five documents and /search returns up to 50 passages: every gold document is in the top 5.
    assert overall["recall@5"] == 1.0 and overall["recall@10"] == 1.0
    for key in ("recall@1", "mrr@10", "ndcg@10", "exact_match", "f1", "answer_contains_gold", "citation_accuracy",
                "abstention_precision", "abstention_recall", "abstention_accuracy", "latency_p50_ms",
                "latency_p95_ms"):
        assert key in overall
    assert set(metrics["by_kind"]) == {"factoid", "count", "unanswerable"}
    assert metrics["by_kind"]["unanswerable"]["recall@5"] is None  # unanswerable: no retrieval metrics
    assert metrics["index"]["documents"] == 5 and metrics["settings"]["max_top_k"] == 50
    assert metrics["calibration"]["correct_if"] and len(metrics["calibration"]["bins"]) == 10
    assert len(metrics["recall_curve"]) == 10
    _assert_pngs(out, ["recall_at_k.png", "per_kind.png", "latency.png", "reliability.png"])
    report = (out / "report.md").read_text()
    assert "## Per kind" in report and "## Wrong answers" in report and "citation exactness" in report

    # Per-question records agree with the pipeline and with the metric functions.
    by_id = {r["id"]: r for r in records}
    for row in GOLD:
        record = by_id[row["id"]]
        answer = tiny_pipeline.ask(row["question"])
        assert record["answer"] == answer.answer
        assert record["abstained"] == (answer.answer is None)
        if row["answers"]:
            assert record["f1"] == m.best_over_golds(m.token_f1, answer.answer, row["answers"])
    assert by_id["q5"]["retrieval"] is None
    assert by_id["q1"]["retrieved"][0] == "delhi-metro"
    # q4 has no doc_ids: relevance comes from passages that contain "five".
    assert by_id["q4"]["retrieval"]["recall@5"] == 1.0
    abstained_unanswerable = by_id["q5"]["abstained"]
    assert overall["abstention_recall"] == (1.0 if abstained_unanswerable else 0.0)
    assert overall["exact_match"] == pytest.approx(sum(by_id[q]["em"] for q in ("q1", "q2", "q3", "q4")) / 4)


@pytest.fixture(scope="module")
def live_server(tiny_pipeline):
    from rag.api import create_app

    with serve(create_app(tiny_pipeline)) as url:
        yield url


def test_gold_over_http_matches_in_process(live_server, gold_file, in_process_run, tmp_path):
    out = tmp_path / "http"
    assert cli.main(["eval", "--gold", str(gold_file), "--url", live_server, "--out", str(out)]) == 0
    metrics, records = _outputs(out)
    assert metrics["mode"] == "http" and metrics["url"] == live_server
    assert metrics["index"]["documents"] == 5  # the server's /health
    assert metrics["overall"]["citation_exactness"] == 1.0 and metrics["overall"]["passage_exactness"] == 1.0
    assert metrics["overall"]["errors"] == 0
    _assert_pngs(out, ["recall_at_k.png", "per_kind.png", "latency.png", "reliability.png"])
    _, local = _outputs(in_process_run[1])
    for over_http, in_process in zip(records, local, strict=True):
        for key in ("id", "answer", "abstained", "retrieved", "citations", "retrieval", "correct"):
            assert over_http[key] == in_process[key], key
        assert over_http["confidence"] == pytest.approx(in_process["confidence"], abs=1e-4)


def test_min_thresholds_set_the_exit_status(use_tiny, gold_file, tmp_path, capsys):
    args = ["eval", "--gold", str(gold_file), "--out", str(tmp_path / "out")]
    assert cli.main(args + ["--min", "recall@5=1.01"]) == 1
    assert "recall@5 = 1.0000 is below the minimum 1.01" in capsys.readouterr().err
    assert cli.main(args + ["--min", "recall@5=0.5", "--min", "citation_exactness=1.0"]) == 0
    assert cli.main(args + ["--min", "no_such_metric=0.5"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert cli.main(args + ["--min", "recall@5"]) == 2


def test_gold_file_errors_are_clear(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "a", "question": "q?", "answers": ["x"]}\n{"id": "a", "question": "r?", "answers": []}\n')
    with pytest.raises(EvaluationError, match="duplicate id"):
        read_gold(path)
    path.write_text('{"question": "no id"}\n')
    with pytest.raises(EvaluationError, match=r"gold\.jsonl:1"):
        read_gold(path)
    assert cli.main(["eval", "--gold", str(tmp_path / "missing.jsonl")]) == 2


# ---------------------------------------------------------------- benchmarks on tiny datasets

SQUAD = {"version": "1.1", "data": [
    {"title": "Shinkansen", "paragraphs": [
        {"context": "The Tokaido Shinkansen opened in 1964 between Tokyo and Osaka. It was the first high-speed "
                    "railway in the world.",
         "qas": [{"id": "s1", "question": "When did the Tokaido Shinkansen open?",
                  "answers": [{"answer_start": 34, "text": "1964"}, {"answer_start": 34, "text": "1964"}]},
                 {"id": "s2", "question": "Which two cities did the first Shinkansen connect?",
                  "answers": [{"answer_start": 47, "text": "Tokyo and Osaka"}]}]},
        {"context": "The N700S trains entered service in July 2020. They can run on batteries during power cuts.",
         "qas": [{"id": "s3", "question": "When did the N700S enter service?",
                  "answers": [{"answer_start": 36, "text": "July 2020"}]}]}]},
    {"title": "Mount_Fuji", "paragraphs": [
        {"context": "Mount Fuji is 3,776 metres tall, the highest mountain in Japan. It last erupted in 1707.",
         "qas": [{"id": "s4", "question": "How tall is Mount Fuji?",
                  "answers": [{"answer_start": 14, "text": "3,776 metres"}]}]}]},
]}


def test_squad_builds_its_own_index_and_reports(use_tiny, tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD))
    index_dir, out = tmp_path / "squad-index", tmp_path / "squad-out"
    live = Settings().index_dir
    before = sorted(p.name for p in live.iterdir()) if live.exists() else None
    args = ["eval", "--squad", str(path), "--index-dir", str(index_dir), "--out", str(out)]
    assert cli.main(args) == 0
    metrics, records = _outputs(out)
    overall = metrics["overall"]
    assert overall["questions"] == 4 and overall["answerable"] == 4
    assert metrics["index"]["documents"] == 3 and read_manifest(index_dir)["documents"] == 3
    assert metrics["build"]["status"] == "built"
    assert overall["recall@20"] == 1.0  # three paragraphs: each question's paragraph is always retrieved
    assert {"recall@1", "recall@5", "mrr@10", "exact_match", "f1"} <= set(overall)
    assert overall["citation_exactness"] in (1.0, None) and overall["passage_exactness"] == 1.0
    assert records[0]["doc_ids"] == ["000-00"] and records[0]["answers"] == ["1964"]  # duplicate golds merged
    assert metrics["by_kind"] is None
    _assert_pngs(out, ["recall_at_k.png", "latency.png", "reliability.png"])
    assert "SQuAD" in (out / "report.md").read_text()
    # Documents are titled by their article, underscores as spaces.
    from rag.index import load_index

    assert load_index(index_dir).document("001-00").title == "Mount Fuji"

    assert cli.main(args + ["--limit", "2"]) == 0
    metrics, _ = _outputs(out)
    assert metrics["overall"]["questions"] == 2 and metrics["build"]["status"] == "up to date"
    assert (sorted(p.name for p in live.iterdir()) if live.exists() else None) == before, "index/ untouched"

    given = tmp_path / "squad-given"
    assert cli.main(["eval", "--squad", str(path), "--index-dir", str(index_dir), "--out", str(given),
                     "--given-paragraph"]) == 0
    metrics, records = _outputs(given)
    assert metrics["plan"]["given_paragraph"] is True and "each given its own paragraph" in metrics["notes"][0]
    for record in records:
        assert all(c["doc_id"] == record["doc_ids"][0] for c in record["citations"]), "read only its paragraph"


def test_benchmarks_refuse_the_live_index(use_tiny, tmp_path):
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(SQUAD))
    assert cli.main(["eval", "--squad", str(path), "--index-dir", str(Settings().index_dir)]) == 2
    assert cli.main(["eval", "--squad", str(path), "--url", "http://127.0.0.1:1"]) == 2


def _write_beir(root):
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Vitamin D and bone density", "text": "Vitamin D supplements increase bone mineral "
         "density in elderly women."},
        {"_id": "d2", "title": "Statins", "text": "Statins lower LDL cholesterol and reduce cardiovascular events."},
        {"_id": "d3", "title": "Sleep and memory", "text": "Sleep deprivation impairs memory consolidation."},
        {"_id": "d4", "title": "Coffee", "text": "Coffee consumption is associated with lower risk of type 2 "
         "diabetes."},
    ]
    queries = [{"_id": "1", "text": "Statins reduce cardiovascular events."},
               {"_id": "2", "text": "Lack of sleep harms memory."},
               {"_id": "3", "text": "A query with no judgment in the test split."}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td2\t1\n2\td3\t1\n2\td4\t0\n")


def test_beir_retrieval_metrics(use_tiny, tmp_path):
    root = tmp_path / "scifact-mini"
    _write_beir(root)
    out, index_dir = tmp_path / "beir-out", tmp_path / "beir-index"
    status = cli.main(["eval", "--beir", str(root), "--index-dir", str(index_dir), "--out", str(out),
                       "--min", "recall@100=1.0"])
    assert status == 0
    metrics, records = _outputs(out)
    overall = metrics["overall"]
    assert overall["queries"] == 2  # query 3 has no judgment; the 0-graded pair is not relevant
    assert [r["relevant"] for r in records] == [["d2"], ["d3"]]
    assert overall["recall@100"] == 1.0
    expected = sum(m.ndcg_at_k(r["retrieved"], {d: 1.0 for d in r["relevant"]}, 10) for r in records) / 2
    assert overall["ndcg@10"] == pytest.approx(expected) and overall["ndcg@10"] > 0
    assert records[0]["retrieved"][0] == "d2"
    manifest = read_manifest(index_dir)
    assert manifest["sentence_vectors"] is False and manifest["documents"] == 4
    assert len(metrics["recall_curve"]) == 100
    _assert_pngs(out, ["recall_at_k.png", "latency.png"])
    assert "nDCG@10" in (out / "report.md").read_text()
    assert cli.main(["eval", "--beir", str(tmp_path / "nowhere"), "--index-dir", str(index_dir)]) == 2


def test_index_builder_builds_from_in_memory_documents(encoder, tmp_path):
    settings = Settings(index_dir=tmp_path / "index", embed_sentences=False)
    documents = [Document("a", "Alpha", "The first document. It has two sentences."),
                 Document("b", "Beta", "The second document.")]
    first = IndexBuilder(settings, encoder).build(documents, settings.index_dir)
    assert (first.status, first.documents, first.embedded_documents) == ("built", 2, 2)
    assert IndexBuilder(settings, encoder).build(documents, settings.index_dir).status == "up to date"
    documents.append(Document("c", "Gamma", "A third one."))
    third = IndexBuilder(settings, encoder).build(documents, settings.index_dir)
    assert (third.status, third.embedded_documents, third.reused_documents) == ("built", 1, 2)
    with pytest.raises(ValueError, match="distinct"):
        IndexBuilder(settings, encoder).build(documents + [documents[0]], settings.index_dir)


def test_splits_are_read_apart_and_test_is_the_default(use_tiny, gold_file, tmp_path):
    split_file = tmp_path / "split.jsonl"
    rows = [dict(row, split="test" if i % 2 else "dev") for i, row in enumerate(GOLD)]
    split_file.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert [q.id for q in read_gold(split_file, split="dev")] == [r["id"] for r in rows if r["split"] == "dev"]
    assert len(read_gold(split_file)) == len(GOLD)
    assert cli.main(["eval", "--gold", str(split_file), "--out", str(tmp_path / "test")]) == 0
    metrics, records = _outputs(tmp_path / "test")
    assert metrics["split"] == "test" and {r["id"] for r in records} == {r["id"] for r in rows if r["split"] == "test"}
    # A file without splits is asked whole, and says it is not held out.
    assert cli.main(["eval", "--gold", str(gold_file), "--out", str(tmp_path / "all")]) == 0
    metrics, records = _outputs(tmp_path / "all")
    assert metrics["split"] == "all" and len(records) == len(GOLD)


def test_confidently_wrong_counts_confident_wrong_answers_and_any_answer_to_the_unanswerable():
    from rag.evaluation.gold import confident_and_wrong

    def record(answerable, abstained, confidence, f1=0.0):
        return {"answerable": answerable, "abstained": abstained, "confidence": confidence, "f1": f1}

    assert confident_and_wrong(record(True, False, 0.5, f1=0.4))
    assert not confident_and_wrong(record(True, False, 0.49, f1=0.0)), "wrong, but not said confidently"
    assert not confident_and_wrong(record(True, False, 0.9, f1=0.5))
    assert confident_and_wrong(record(False, False, 0.1)), "any answer to an unanswerable question"
    assert not confident_and_wrong(record(False, True, 0.9))
