"""`make reader`'s code path on a few examples: the article split, training windows, a few optimizer steps with
a checkpoint, resuming, the learning curve and the ONNX export the service then loads."""

import json

import numpy as np

from rag.span_model import SpanModel
from rag.training.squad import load_split, training_windows
from rag.training.train_reader import base_model_path, main


def _squad_file(path, articles=5, questions_per_article=6):
    data = []
    for a in range(articles):
        context = (f"Town {a} lies on the river Alder. It was founded in {1800 + a} by a miller named Berg. "
                   f"About {1000 * (a + 1)} people live there today, most of them farmers.")
        qas = []
        for q in range(questions_per_article):
            question, answer = [("When was the town founded?", str(1800 + a)),
                                ("Who founded the town?", "a miller named Berg"),
                                ("How many people live there?", f"About {1000 * (a + 1)}")][q % 3]
            qas.append({"id": f"{a}-{q}", "question": question,
                        "answers": [{"text": answer, "answer_start": context.index(answer)}]})
        data.append({"title": f"Town_{a}", "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"data": data, "version": "1.1"}))
    return path


def test_the_split_never_trains_on_benchmark_articles(tmp_path):
    squad = _squad_file(tmp_path / "squad.json")
    split = load_split(squad, benchmark_questions=7, dev_share=0.25)
    assert split.benchmark_articles == (0, 1), "the first 7 questions lie in articles 0 and 1"
    trained = {q.article for q in split.train}
    dev = {q.article for q in split.dev}
    assert trained and dev and not trained & dev and not (trained | dev) & {0, 1}
    assert len(split.train) + len(split.dev) == 18


def test_training_windows_point_at_the_answer(tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_path())
    split = load_split(_squad_file(tmp_path / "squad.json"), benchmark_questions=1, dev_share=0.25)
    windows = training_windows(tokenizer, split.train, max_length=32, stride=8, negative_rate=1.0, seed=0)
    positives = windows.start_positions > 0
    assert positives.sum() == len(split.train), "one window holding the answer per question"
    assert (~positives).any(), "and windows without it, aimed at [CLS]"
    for row in np.flatnonzero(positives)[:6]:
        ids = windows.input_ids[row, windows.start_positions[row]:windows.end_positions[row] + 1]
        span = tokenizer.decode(ids)
        assert any(span == a.lower() for q in split.train for a in q.answers)


def test_a_few_steps_checkpoint_resume_and_export(tmp_path):
    squad = _squad_file(tmp_path / "squad.json")
    work, out = tmp_path / "work", tmp_path / "model"
    common = ["--squad", str(squad), "--work", str(work), "--benchmark-questions", "6", "--limit", "20",
              "--max-length", "64", "--stride", "16", "--batch-size", "8", "--eval-steps", "1",
              "--checkpoint-steps", "1", "--dev-limit", "3", "--threads", "1"]
    assert main([*common, "--max-steps", "1"]) == 0
    assert (work / "checkpoint.pt").exists()
    assert main([*common, "--max-steps", "2", "--out", str(out), "--read-max-length", "96"]) == 0
    curve = [json.loads(line) for line in (work / "curve.jsonl").read_text().splitlines()]
    assert [p["step"] for p in curve] == [1, 2], "the second run resumed at step 1"
    assert all(0 <= p["f1"] <= 100 for p in curve)
    reader = SpanModel(out)
    assert reader.max_length == 96, "reads with the window asked for"
    assert json.loads((out / "reader.json").read_text())["trained_max_length"] == 64
    context = "It was founded in 1803 by a miller named Berg."
    spans = reader.read("When was it founded?", [context])
    assert spans and all(context[s.start:s.end] for s in spans)
    assert json.loads((out / "training.json").read_text())["curve"] == curve
