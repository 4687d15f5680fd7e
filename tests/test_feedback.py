"""User feedback over the real tiny index: POST /feedback checks and stores verdicts durably (across an app
restart and a SIGKILL), GET /feedback needs a write key, and `rag feedback export` writes gold lines that
`rag eval --gold` scores, skipping the ones left for review."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import signal

import httpx
import pytest
from fastapi.testclient import TestClient

from rag import cli
from rag.api import create_app
from rag.evaluation import runner
from rag.pipeline import QAPipeline
from rag.settings import Settings, get_settings
from tests.live_server import free_port
from tests.test_live_collection import KEY as SERVER_KEY
from tests.test_live_collection import _start_server

KEY = "feedback-reviewer-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Questions the tiny corpus answers (tests/test_evaluation.py's gold set), with their gold answers.
ANSWERABLE = {
    "When did the Delhi Metro open its first line?": "24 December 2002",
    "How long is the Mumbai-Ahmedabad High-Speed Rail line?": "508 kilometres",
    "When did Kyoto and Varanasi sign their partner-city agreement?": "30 August 2014",
}
UNANSWERABLE = "What is the population of the capital of Peru in 1850?"


@contextlib.contextmanager
def app_client(pipeline: QAPipeline):
    with TestClient(create_app(pipeline), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def keyed(tiny_pipeline, tmp_path, monkeypatch):
    """The session's pipeline with write keys and a data directory of this test's own (the feedback's home)."""
    settings = tiny_pipeline.settings.model_copy(update={"api_keys": [KEY], "data_dir": tmp_path / "data"})
    monkeypatch.setattr(tiny_pipeline, "settings", settings)
    return tiny_pipeline


def answered(client, question: str) -> dict:
    """The /ask answer, and the feedback that calls it helpful (answer, document and span as /ask gave them)."""
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["answer"] is not None and ANSWERABLE[question] in answer["answer"], answer
    span = answer["answer_span"]
    return {"question": question, "answer": answer["answer"], "helpful": True, "doc_id": span["doc_id"],
            "start": span["start"], "end": span["end"]}


def posted(client, body: dict, headers: dict | None = None) -> dict:
    response = client.post("/feedback", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def test_feedback_counts_against_the_clients_question_rate(keyed, monkeypatch):
    monkeypatch.setattr(keyed, "settings", keyed.settings.model_copy(update={"ask_rate_per_minute": 2}))
    verdict = {"question": UNANSWERABLE, "answer": None, "helpful": False}
    with app_client(keyed) as client:
        statuses = [client.post("/feedback", json=verdict).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        assert client.get("/feedback", headers=AUTH).json()["total"] == 2  # the refused one was not stored


def test_feedback_is_stored_with_its_id_and_time(keyed):
    with app_client(keyed) as client:
        body = answered(client, "When did the Delhi Metro open its first line?")
        stored = posted(client, {**body, "comment": "  exactly what I needed  "})
        assert {k: stored[k] for k in body} == body
        assert stored["comment"] == "exactly what I needed" and isinstance(stored["id"], int)
        created = dt.datetime.fromisoformat(stored["created_at"])
        assert created.utcoffset() == dt.timedelta(0)
        assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
        withheld = posted(client, {"question": UNANSWERABLE, "answer": None, "helpful": False})
        assert withheld["answer"] is None and withheld["doc_id"] is None and withheld["start"] is None
        listing = client.get("/feedback", headers=AUTH).json()
        assert listing["feedback"] == [withheld, stored]
    assert (keyed.settings.resolved_data_dir / "feedback.sqlite3").is_file()


def test_invalid_feedback_is_refused_with_the_reason(keyed):
    with app_client(keyed) as client:
        good = answered(client, "How long is the Mumbai-Ahmedabad High-Speed Rail line?")
        text = client.get(f"/documents/{good['doc_id']}").json()["text"]
        too_long = "x" * (keyed.settings.max_question_chars + 1)
        cases = {
            "missing question": ({k: v for k, v in good.items() if k != "question"}, "question: Field required"),
            "blank question": ({**good, "question": "  \n "}, "question must not be empty"),
            "question too long": ({**good, "question": too_long}, "the limit is"),
            "missing answer": ({k: v for k, v in good.items() if k != "answer"}, "answer: Field required"),
            "helpful not a boolean": ({**good, "helpful": "yes"}, "helpful"),
            "start without end": ({k: v for k, v in good.items() if k != "end"}, "give both or neither"),
            "end before start": ({**good, "start": 10, "end": 4}, "end (4) is before start (10)"),
            "negative start": ({**good, "start": -1}, "start"),
            "span without an answer": ({**good, "answer": None}, "need doc_id and answer"),
            "span past the document": ({**good, "end": len(text) + 5}, "past the end of"),
            "span not the answer": ({**good, "start": good["start"] + 1},
                                    f"does not match {good['doc_id']}[{good['start'] + 1}:{good['end']}]"),
            "unknown doc_id": ({**good, "doc_id": "no-such-document"}, "unknown doc_id: no-such-document"),
            "comment too long": ({**good, "comment": "c" * 2001}, "comment"),
            "extra field": ({**good, "rating": 5}, "rating: Extra inputs are not permitted"),
        }
        for name, (body, reason) in cases.items():
            response = client.post("/feedback", json=body)
            assert response.status_code == 422, (name, response.text)
            assert reason in response.json()["error"], (name, response.json())
        assert client.get("/feedback", headers=AUTH).json()["total"] == 0  # none of them was stored
        assert client.post("/feedback", json=good).status_code == 201  # the same body, valid, is


def test_posting_needs_what_asking_needs_and_listing_a_write_key(keyed, monkeypatch):
    keyed_settings = keyed.settings
    with app_client(keyed) as open_client:
        posted(open_client, {"question": UNANSWERABLE, "answer": None, "helpful": False})  # reads are open
        assert open_client.get("/feedback").status_code == 401
        wrong = open_client.get("/feedback", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid API key"
        assert open_client.get("/feedback", headers=AUTH).status_code == 200

    monkeypatch.setattr(keyed, "settings", keyed_settings.model_copy(update={"api_keys": []}))
    with app_client(keyed) as keyless_client:  # no RAG_API_KEYS: nobody may read the feedback
        refused = keyless_client.get("/feedback", headers=AUTH)
        assert refused.status_code == 403 and "RAG_API_KEYS" in refused.json()["error"]

    monkeypatch.setattr(keyed, "settings", keyed_settings.model_copy(update={"read_api_keys": ["reader-key"]}))
    with app_client(keyed) as closed_client:
        body = {"question": UNANSWERABLE, "answer": None, "helpful": True}
        assert closed_client.post("/feedback", json=body).status_code == 401
        posted(closed_client, body, {"Authorization": "Bearer reader-key"})
        reader_listing = closed_client.get("/feedback", headers={"Authorization": "Bearer reader-key"})
        assert reader_listing.status_code == 401  # a read key is not a write key
        assert closed_client.get("/feedback", headers=AUTH).json()["total"] == 2


def test_listing_is_newest_first_in_pages(keyed):
    with app_client(keyed) as client:
        ids = [posted(client, {"question": f"Question {n}?", "answer": None, "helpful": n % 2 == 0})["id"]
               for n in range(5)]
        first = client.get("/feedback", params={"limit": 2}, headers=AUTH).json()
        assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
        assert [f["id"] for f in first["feedback"]] == ids[::-1][:2]
        rest = client.get("/feedback", params={"limit": 10, "offset": 2}, headers=AUTH).json()
        assert [f["id"] for f in rest["feedback"]] == ids[::-1][2:] and rest["total"] == 5
        assert client.get("/feedback", params={"offset": 9}, headers=AUTH).json()["feedback"] == []
        for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
            response = client.get("/feedback", params=params, headers=AUTH)
            assert response.status_code == 422 and "error" in response.json(), params


def test_feedback_survives_an_app_restart(keyed):
    with app_client(keyed) as client:
        stored = posted(client, answered(client, "When did Kyoto and Varanasi sign their partner-city agreement?"))
    with app_client(keyed) as restarted:
        assert restarted.get("/feedback", headers=AUTH).json()["feedback"] == [stored]


def test_acknowledged_feedback_survives_sigkill(tiny_corpus, tmp_path, encoder):
    """A real server process answers 201s, is killed at once (no shutdown, nothing flushed after the response);
    a new app over the same data directory lists every acknowledged verdict."""
    settings = Settings(corpus_dir=shutil.copytree(tiny_corpus, tmp_path / "corpus"), index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", api_keys=[SERVER_KEY], chunk_words=40, chunk_overlap_words=10)
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    port = free_port()
    server = _start_server(settings, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            acknowledged = [posted(http, {"question": f"Is verdict {n} kept?", "answer": None, "helpful": True})
                            for n in range(20)]
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    with app_client(pipeline) as restarted:
        listing = restarted.get("/feedback", headers={"Authorization": f"Bearer {SERVER_KEY}"}).json()
    assert listing["feedback"] == acknowledged[::-1]


@pytest.fixture
def data_env(keyed, monkeypatch):
    """RAG_DATA_DIR names the test's data directory, as it would for `rag feedback export` run by hand."""
    monkeypatch.setenv("RAG_DATA_DIR", str(keyed.settings.resolved_data_dir))
    get_settings.cache_clear()
    yield keyed
    get_settings.cache_clear()


def test_export_then_eval_scores_the_helpful_answers_and_skips_the_rest(data_env, tmp_path, monkeypatch, capsys):
    pipeline = data_env
    with app_client(pipeline) as client:
        delhi, rail, kyoto = (answered(client, q) for q in ANSWERABLE)
        # A first verdict on the Kyoto question (written differently) that a later one overrules.
        overruled = posted(client, {**kyoto, "question": f"  {kyoto['question'].upper()} ", "helpful": False})
        helpful = [posted(client, delhi), posted(client, rail), posted(client, kyoto)]
        given = client.post("/ask", json={"question": UNANSWERABLE}).json()["answer"]  # None if withheld
        rejected = posted(client, {"question": UNANSWERABLE, "answer": given, "helpful": False,
                                   "comment": "this is not in the documents"})
    capsys.readouterr()  # the access log of those requests
    gold = tmp_path / "exported" / "gold.jsonl"
    assert cli.main(["feedback", "export", "--out", str(gold)]) == 0
    assert capsys.readouterr().out.strip() == (f"3 answers, 1 for review → {gold} (1 earlier verdicts on the same "
                                               "questions left out)")

    lines = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [f"feedback-{f['id']}" for f in [*helpful, rejected]]
    assert f"feedback-{overruled['id']}" not in {line["id"] for line in lines}
    for line, stored in zip(lines[:3], helpful, strict=True):
        assert line == {"id": f"feedback-{stored['id']}", "question": stored["question"],
                        "answers": [stored["answer"]], "doc_ids": [stored["doc_id"]], "kind": "feedback",
                        "split": "test",
                        "span": {"doc_id": stored["doc_id"], "start": stored["start"], "end": stored["end"]}}
    assert lines[-1] == {"id": f"feedback-{rejected['id']}", "question": UNANSWERABLE, "answers": [], "doc_ids": [],
                         "kind": "feedback", "split": "test", "review": True, "helpful": False,
                         "comment": "this is not in the documents", "rejected_answer": given}

    monkeypatch.setattr(runner, "make_pipeline", lambda settings: pipeline)
    report = tmp_path / "report"
    assert cli.main(["eval", "--gold", str(gold), "--split", "all", "--out", str(report)]) == 0
    assert 'skipped 1 lines marked "review": true' in capsys.readouterr().out
    metrics = json.loads((report / "metrics.json").read_text())
    overall = metrics["overall"]
    assert (overall["questions"], overall["answerable"], overall["unanswerable"], overall["errors"]) == (3, 3, 0, 0)
    assert overall["exact_match"] == 1.0 and overall["answer_correct"] == 1.0 and overall["recall@5"] == 1.0
    assert metrics["skipped_for_review"] == 1
    assert 'lines marked "review": true' in (report / "report.md").read_text()

    # Marked dev, the same verdicts are what make calibrate refits the confidence on.
    dev = tmp_path / "dev.jsonl"
    assert cli.main(["feedback", "export", "--out", str(dev), "--split", "dev"]) == 0
    assert [json.loads(line)["split"] for line in dev.read_text(encoding="utf-8").splitlines()] == ["dev"] * 4


def test_export_without_feedback_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "gold.jsonl"
    assert cli.main(["feedback", "export", "--out", str(out), "--data", str(tmp_path / "empty")]) == 2
    assert "no feedback stored in" in capsys.readouterr().err and not out.exists()
