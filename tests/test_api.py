import json

import pytest

from tests.conftest import assert_citations_exact

QUESTIONS = {
    "When did the Delhi Metro open its first line?": ("delhi-metro", "24 December 2002"),
    "When did Kyoto and Varanasi sign their partner-city agreement?": ("kyoto-varanasi", "30 August 2014"),
    "How long is the Mumbai-Ahmedabad high-speed rail line?": ("bullet-train", "508 kilometres"),
    "How many Nihongo Partners volunteers were first sent to India?": ("nihongo-partners", "five"),
}


@pytest.fixture(scope="module")
def documents(client):
    listing = client.get("/documents").json()["documents"]
    return {d["doc_id"]: client.get(f"/documents/{d['doc_id']}").json()["text"] for d in listing}


@pytest.mark.parametrize("question", QUESTIONS)
def test_ask_returns_a_verbatim_cited_answer(client, documents, question):
    doc_id, fact = QUESTIONS[question]
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] is not None and fact in body["citations"][0]["text"]
    assert body["citations"][0]["doc_id"] == doc_id
    assert 0 <= body["confidence"] <= 1 and body["took_ms"] > 0
    assert 1 <= len(body["passages"]) <= 5
    assert_citations_exact(body, documents)


def test_unanswerable_question_gets_no_answer(client, documents):
    body = client.post("/ask", json={"question": "What is the recipe for chocolate cake with strawberries?"}).json()
    assert body["answer"] is None and body["citations"] == []
    assert body["message"]
    assert_citations_exact(body, documents)


def test_ask_with_filters_and_top_k(client, documents):
    body = client.post("/ask", json={"question": "Japanese loans", "top_k": 2,
                                     "filters": {"doc_ids": ["freight-corridor"]}}).json()
    assert len(body["passages"]) <= 2
    assert {p["doc_id"] for p in body["passages"]} == {"freight-corridor"}
    assert_citations_exact(body, documents)
    dated = client.post("/ask", json={"question": "When did the Delhi Metro open?",
                                      "filters": {"date_from": "2015-01-01"}}).json()
    assert "delhi-metro" not in {p["doc_id"] for p in dated["passages"]}


def test_search_returns_ranked_passages(client, documents):
    body = client.get("/search", params={"q": "bullet train Shinkansen", "top_k": 3}).json()
    assert body["passages"][0]["doc_id"] == "bullet-train"
    scores = [p["score"] for p in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    for passage in body["passages"]:
        assert documents[passage["doc_id"]][passage["start"]:passage["end"]] == passage["text"]


def test_documents_listing_and_detail(client):
    listing = client.get("/documents").json()["documents"]
    assert len(listing) == 5 and all(d["title"] and "sources" in d["metadata"] for d in listing)
    detail = client.get("/documents/kyoto-varanasi").json()
    assert detail["title"] == "Kyoto and Varanasi: partner cities" and "30 August 2014" in detail["text"]


def test_health_reports_index_stats(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["documents"] == 5 and body["chunks"] >= 5
    assert body["model"] == "all-MiniLM-L6-v2" and body["built_at"]


def test_openapi_is_served(client):
    assert "/ask" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("payload, status, message", [
    ({"question": ""}, 422, "must not be empty"),
    ({"question": "   \n\t "}, 422, "must not be empty"),
    ({"question": "x" * 1001}, 422, "limit is 1000"),
    ({"question": "Delhi Metro", "top_k": 0}, 422, "top_k must be between 1 and 50"),
    ({"question": "Delhi Metro", "top_k": 51}, 422, "top_k must be between 1 and 50"),
    ({"question": "When \ud800 was it?"}, 422, "lone surrogate"),
    ({"question": "Delhi\u0000Metro"}, 422, "control character"),
    ({"question": "Delhi Metro", "top_k": "5"}, 422, "top_k"),
    ({"question": "Delhi Metro", "filters": {"tags": ["\u0007"]}}, 422, "control character"),
    ({"question": "Delhi Metro", "filters": {"colour": "red"}}, 422, "colour"),
    ({"question": 42}, 422, "question"),
    ({}, 422, "question"),
    ({"question": "Delhi Metro", "top_k": "many"}, 422, "top_k"),
])
def test_bad_ask_input_is_a_clear_4xx(client, payload, status, message):
    # json.dumps escapes a lone surrogate as \\ud800, as a hostile client would send it
    response = client.post("/ask", content=json.dumps(payload), headers={"content-type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["error"]


def test_malformed_json_is_a_400(client):
    response = client.post("/ask", content=b'{"question": "unterminated', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "malformed JSON in request body"}


@pytest.mark.parametrize("params, message", [
    ({"q": " "}, "q must not be empty"),
    ({"q": "metro", "top_k": 0}, "top_k must be between"),
    ({}, "q"),
])
def test_bad_search_input_is_a_clear_4xx(client, params, message):
    response = client.get("/search", params=params)
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_unknown_document_and_route_are_404_json(client):
    response = client.get("/documents/no-such-doc")
    assert response.status_code == 404 and "unknown doc_id" in response.json()["error"]
    assert client.get("/no-such-route").json() == {"error": "Not Found"}


@pytest.mark.parametrize("filters, named", [
    ({"doc_ids": ["no-such-doc"]}, "doc_id 'no-such-doc'"),
    ({"tags": ["no-such-tag"]}, "tag 'no-such-tag'"),
    ({"date_from": "2020-01-01", "date_to": "2019-01-01"}, "date_from is after date_to"),
])
def test_a_filter_naming_nothing_matches_nothing_and_says_so(client, filters, named):
    response = client.post("/ask", json={"question": "When did the Delhi Metro open?", "filters": filters})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] is None and body["passages"] == []
    assert named in body["message"] and "No document matches the filters" in body["message"]
