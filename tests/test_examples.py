"""Example questions and GET /collection (the chat page's empty state), over a real small index."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.documents import Document
from rag.examples import candidate_questions
from rag.pipeline import QAPipeline
from rag.settings import Settings
from tests.corpus_factory import make_corpus

FAQ = """Ossel visitor centre: questions and answers
Q: When does the Ossel visitor centre open?
A: The Ossel visitor centre opens at 9 in the morning every day except Monday.
Q: How much does a guided tour of the Ossel lighthouse cost?
A: A guided tour of the Ossel lighthouse costs 12 euros for adults.
Q: Is the visitor centre open on Mondays?
A: No, it is closed on Mondays.
Q: Who built it?
A: The town council built the visitor centre in 1998.
"""


def test_candidates_are_the_wh_questions_the_documents_ask_taken_in_turn():
    documents = [
        Document("faq", "FAQ", FAQ),
        Document("notes", "Notes", "Some notes. Where does the ferry stop? At the pier.\n"
                                   "## Which crane is the oldest?\nCrane 7 is.\n- Why was the quay rebuilt?\n"
                                   "Because of the storm of 1990."),
    ]
    assert candidate_questions(documents) == [
        "When does the Ossel visitor centre open?",  # faq, notes, faq, notes, ...
        "Where does the ferry stop?",
        "How much does a guided tour of the Ossel lighthouse cost?",
        "Which crane is the oldest?",
        "Why was the quay rebuilt?",
    ]  # a yes/no question has no span to quote; "Who built it?" needs the sentence before it
    assert candidate_questions([Document("plain", "Plain", "No questions here. None at all.")]) == []


@pytest.fixture(scope="module")
def faq_settings(tmp_path_factory) -> Settings:
    corpus = make_corpus(tmp_path_factory.mktemp("examples-corpus"))
    (corpus / "visitor-faq.txt").write_text(FAQ, encoding="utf-8")
    return Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("examples") / "index", chunk_words=40,
                    chunk_overlap_words=10, min_confidence=0.1, api_keys=["examples-key"])


def test_collection_describes_the_collection_and_offers_questions_it_answers(faq_settings, encoder):
    settings = faq_settings.model_copy(update={"collection_description": "Notes about the island of Ossel."})
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    with TestClient(create_app(pipeline), base_url="http://127.0.0.1") as client:
        body = client.get("/collection").json()
        assert body["description"] == "Notes about the island of Ossel."
        assert body["documents"] == len(pipeline.documents) and body["chunks"] == pipeline.index.manifest["chunks"]
        assert body["titles"] == [d.title for d in pipeline.documents]
        assert body["examples"] and set(body["examples"]) <= set(candidate_questions(pipeline.documents))
        for question in body["examples"]:  # each one answers, from the document that asked it
            answer = client.post("/ask", json={"question": question}).json()
            assert answer["answer"] is not None and answer["citations"][0]["doc_id"] == "visitor-faq"

        # A new document that asks (and answers) a question of its own is drawn from after the write.
        boat = Document("boat-faq", "Boat hire questions", "Q: Where can visitors hire a rowing boat on Ossel?\n"
                        "A: Visitors can hire a rowing boat at the north jetty of Ossel from May to September.")
        headers = {"Authorization": "Bearer examples-key"}
        assert client.post("/documents", json={"doc_id": boat.doc_id, "title": boat.title, "text": boat.text},
                           headers=headers).status_code == 201
        assert "Where can visitors hire a rowing boat on Ossel?" in client.get("/collection").json()["examples"]


def test_configured_examples_replace_the_drawn_ones(faq_settings, encoder):
    mine = ["When did the Delhi Metro open its first line?", "Who financed the Delhi Metro?"]
    settings = faq_settings.model_copy(update={"example_questions": mine})
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    with TestClient(create_app(pipeline), base_url="http://127.0.0.1") as client:
        body = client.get("/collection").json()
    assert body["examples"] == mine and body["description"] is None


def test_collection_needs_a_read_key_when_reads_are_closed(faq_settings, encoder):
    settings = faq_settings.model_copy(update={"read_api_keys": ["reader-key"]})
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    with TestClient(create_app(pipeline), base_url="http://127.0.0.1") as client:
        assert client.get("/collection").status_code == 401
        assert client.get("/collection", headers={"Authorization": "Bearer reader-key"}).status_code == 200
