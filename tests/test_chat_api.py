
"""POST /chat over the tiny real index, the web routes (/, /widget.js, /static/*) and CORS for the widget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.pipeline import QAPipeline
from tests.conftest import assert_citations_exact

WEB_DIR = Path(__file__).resolve().parent.parent / "rag" / "web"


@pytest.fixture(scope="module")
def documents(client) -> dict[str, str]:
    ids = [d["doc_id"] for d in client.get("/documents").json()["documents"]]
    return {doc_id: client.get(f"/documents/{doc_id}").json()["text"] for doc_id in ids}


def chat(client, *turns: str, **extra):
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    return client.post("/chat", json={"messages": messages, **extra})


@pytest.fixture(scope="module")
def answering_client(tiny_settings, tiny_pipeline, encoder):
    """The service without its abstention cut: "Who financed the Delhi Metro?" is answered right here, but at a
    confidence (about 0.4) below the cut fitted on the gold dev split; what is tested is the follow-up."""
    from fastapi.testclient import TestClient

    from rag.api import create_app
    from rag.pipeline import QAPipeline

    pipeline = QAPipeline(tiny_settings.model_copy(update={"min_confidence": 0.0}), encoder, tiny_pipeline.index)
    with TestClient(create_app(pipeline), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_follow_up_is_resolved_and_answered(answering_client, documents):
    response = chat(answering_client, "When did the Delhi Metro open its first line?",
                    "The Delhi Metro opened its first line on 24 December 2002.", "Who financed it?")
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == "Who financed it?"
    assert body["standalone_question"] == "Who financed the Delhi Metro?" and body["show_rewrite"] is True
    assert body["answer"] is not None
    assert "Japanese official loans" in body["sentence"]["text"]
    assert body["citations"][0]["doc_id"] == "delhi-metro"
    assert_citations_exact(body, documents)


def test_the_issue_example_and_when_was_it_signed(client, documents):
    body = chat(client, "What did Kyoto and Varanasi sign?", "Kyoto and Varanasi signed a partner-city agreement.",
                "And when was it signed?").json()
    assert body["standalone_question"] == "When was Kyoto and Varanasi signed?"
    assert body["citations"][0]["doc_id"] == "kyoto-varanasi"
    assert "30 August 2014" in body["sentence"]["text"]
    assert_citations_exact(body, documents)


def test_search_terms_carried_over_are_not_shown_as_the_question(client):
    body = chat(client, "How long is the Mumbai-Ahmedabad High-Speed Rail line?", "About 508 kilometres.",
                "And when?").json()
    assert body["standalone_question"] == "When (the Mumbai-Ahmedabad High-Speed Rail line)?"
    assert body["show_rewrite"] is False and body["question"] == "And when?"


def test_a_single_question_is_answered_like_ask(client):
    question = "How long is the Mumbai-Ahmedabad High-Speed Rail line?"
    chatted = chat(client, question).json()
    asked = client.post("/ask", json={"question": question}).json()
    assert chatted["standalone_question"] == question
    for field in ("question", "answer", "confidence", "message", "sentence", "citations", "passages"):
        assert chatted[field] == asked[field], field


def test_no_answer_has_the_ask_shape(client):
    body = chat(client, "What is the airspeed velocity of an unladen swallow?").json()
    assert body["answer"] is None and body["sentence"] is None and body["citations"] == []
    assert body["message"]
    assert set(body) >= {"question", "answer", "confidence", "message", "sentence", "citations", "passages",
                         "took_ms", "standalone_question", "show_rewrite"}


def test_top_k_and_filters_are_passed_on(client):
    body = chat(client, "Who financed it?", top_k=1, filters={"doc_ids": ["bullet-train"]}).json()
    assert len(body["passages"]) == 1
    assert {p["doc_id"] for p in body["passages"]} == {"bullet-train"}


@pytest.mark.parametrize("body, fragment", [
    ({"messages": []}, "messages"),
    ({}, "messages"),
    ({"messages": "When?"}, "messages"),
    ({"messages": [{"role": "system", "content": "You are a pirate."}]}, "role"),
    ({"messages": [{"role": "user"}]}, "content"),
    ({"messages": [{"role": "user", "content": "Hi", "name": "x"}]}, "name"),
    ({"messages": [{"role": "user", "content": "Who financed the Delhi Metro?"},
                   {"role": "assistant", "content": "Japanese loans."}]}, "last message"),
    ({"messages": [{"role": "user", "content": "   "}]}, "must not be empty"),
    ({"messages": [{"role": "user", "content": "x" * 1001}]}, "limit is 1000"),
    ({"messages": [{"role": "user", "content": ""}, {"role": "user", "content": "Who?"}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "Who?"}] * 51}, "at most 50"),
    ({"messages": [{"role": "user", "content": "Who?"}], "top_k": 0}, "top_k"),
    ({"messages": [{"role": "user", "content": "Who \udfff?"}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": "Who?"}], "top_k": "5"}, "top_k"),
])
def test_bad_input_is_a_422_with_an_error(client, body, fragment):
    response = client.post("/chat", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert isinstance(error, str) and fragment in error


def test_malformed_json_is_a_400(client):
    response = client.post("/chat", content=b'{"messages": [', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "error" in response.json()


# -- CORS: the widget calls the API from other sites -----------------------------------------------------------------

def test_cors_preflight_allowed_origin(client, tiny_settings):
    origin = tiny_settings.resolved_cors_origins[0]
    response = client.options("/chat", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_preflight_refused_for_other_origins(client):
    response = client.options("/chat", headers={"Origin": "http://evil.example",
                                                "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cors_headers_only_for_allowed_origins(client, tiny_settings):
    origin = tiny_settings.resolved_cors_origins[0]
    allowed = client.post("/chat", json={"messages": [{"role": "user", "content": "Who financed the Delhi Metro?"}]},
                          headers={"Origin": origin})
    assert allowed.headers["access-control-allow-origin"] == origin
    refused = client.post("/chat", json={"messages": [{"role": "user", "content": "Who financed the Delhi Metro?"}]},
                          headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in refused.headers
    document = client.get("/documents/delhi-metro", headers={"Origin": origin})
    assert document.headers["access-control-allow-origin"] == origin


# -- the page, the widget and their files ----------------------------------------------------------------------------

def test_chat_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "data-kizuna-chat" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path, media_type", [
    ("/widget.js", "text/javascript"), ("/static/chat-dom.js", "text/javascript"),
    ("/static/chat-answer.js", "text/javascript"), ("/static/chat-document.js", "text/javascript"),
    ("/static/chat.js", "text/javascript"), ("/static/chat.css", "text/css"), ("/static/chat-answer.css", "text/css"),
    ("/static/chat-document.css", "text/css"), ("/static/widget.css", "text/css"),
])
def test_web_files(client, path, media_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/index.html", "/static/..%2Fsettings.py",
                                  "/static/.hidden.js"])
def test_unknown_web_files_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "error" in response.json()


def test_the_front_end_never_inserts_html():
    """Document and answer text go in as text nodes: no HTML-parsing sinks anywhere in the front end."""
    for path in WEB_DIR.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser", "eval("):
            assert sink not in source, f"{path.name} uses {sink}"


def test_cors_default_follows_the_host_and_port_served(tiny_settings, encoder):
    settings = tiny_settings.model_copy(update={"host": "127.0.0.1", "port": 9123})
    assert settings.resolved_cors_origins == ["http://127.0.0.1:9123", "http://localhost:9123"]
    app = create_app(QAPipeline(settings, encoder))
    with TestClient(app, base_url="http://127.0.0.1:9123") as moved:
        def preflight(origin):
            return moved.options("/chat", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert preflight("http://localhost:9123").headers.get("access-control-allow-origin") == "http://localhost:9123"
        assert "access-control-allow-origin" not in preflight("http://127.0.0.1:8000").headers
