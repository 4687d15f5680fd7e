"""The HTTP edge (rag.api.middleware and create_app): body limits before reading, read timeouts and load shedding
over a real socket, host checks, request ids, nosniff, the access log, /metrics and an offline /docs."""

from __future__ import annotations

import json
import socket
import time

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.pipeline import QAPipeline
from tests.live_server import serve

QUESTION = "When did the Delhi Metro open its first line?"


def app_with(tiny_pipeline, **settings):
    pipeline = QAPipeline(tiny_pipeline.settings.model_copy(update=settings), tiny_pipeline.encoder,
                          tiny_pipeline.index)
    return create_app(pipeline)


@pytest.fixture(scope="module")
def small_body_client(tiny_pipeline):
    with TestClient(app_with(tiny_pipeline, max_body_bytes=2_000), base_url="http://127.0.0.1") as client:
        yield client


def test_a_declared_body_over_the_limit_is_413_before_it_is_read(small_body_client):
    response = small_body_client.post("/ask", content=b"{" + b" " * 5_000 + b"}",
                                      headers={"content-type": "application/json"})
    assert response.status_code == 413 and "2,000 bytes" in response.json()["error"]


def test_a_chunked_body_over_the_limit_is_413(small_body_client):
    def chunks():
        yield b'{"question": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = small_body_client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_every_response_carries_nosniff_and_a_request_id(client):
    for method, path, body in [("get", "/health", None), ("get", "/nowhere", None), ("post", "/ask", {}),
                               ("post", "/ask", {"question": QUESTION})]:
        response = client.request(method, path, json=body)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert len(response.headers["x-request-id"]) == 32, path
    assert client.get("/health", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
    hostile = client.get("/health", headers={"X-Request-ID": "<script>" * 20}).headers["x-request-id"]
    assert "<" not in hostile and len(hostile) == 32


def test_a_foreign_host_header_is_refused(client):
    response = client.get("/documents", headers={"Host": "attacker.example"})
    assert response.status_code == 400 and response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/documents", headers={"Host": "localhost:8000"}).status_code == 200


def test_one_json_log_line_per_request_without_the_question_or_keys(client, capsys):
    client.post("/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer secret-key-123"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/ask" and line["status"] == 200 and line["method"] == "POST"
    assert isinstance(line["answered"], bool) and line["ms"] > 0 and len(line["request_id"]) == 32
    assert "question" not in line and "secret-key-123" not in json.dumps(line)


def test_questions_are_logged_only_when_asked_for(tiny_pipeline, capsys):
    with TestClient(app_with(tiny_pipeline, log_questions=True), base_url="http://127.0.0.1") as client:
        client.post("/ask", json={"question": QUESTION})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines[-1]["question"] == QUESTION


def test_metrics_count_requests_answers_and_describe_the_index(tiny_pipeline):
    with TestClient(app_with(tiny_pipeline), base_url="http://127.0.0.1") as client:
        client.post("/ask", json={"question": QUESTION})
        client.post("/ask", json={"question": ""})
        client.get("/documents/no-such-doc")
        text = client.get("/metrics").text
    assert 'kizuna_requests_total{method="POST",route="/ask",status="200"} 1.0' in text
    assert 'kizuna_requests_total{method="POST",route="/ask",status="422"} 1.0' in text
    assert 'route="/documents/{doc_id:path}",status="404"' in text  # the template, not the path asked for
    assert 'kizuna_request_seconds_bucket{le="0.005",route="/ask"}' in text
    assert "kizuna_answers_total" in text
    assert "kizuna_index_documents 5.0" in text and "kizuna_index_chunks" in text
    assert f'kizuna_index_generation_info{{generation="{tiny_pipeline.index.manifest["generation"]}"}} 1.0' in text


def test_the_api_explorer_works_offline(client):
    page = client.get("/docs").text
    assert "/docs/static/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    script = client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs/static/../../settings.py").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_the_schema_states_the_limits_the_server_enforces(client):
    schema = client.get("/openapi.json").json()
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == 1000 and ask["question"]["minLength"] == 1
    assert {"type": "integer", "minimum": 1, "maximum": 50} in ask["top_k"]["anyOf"]
    search = {p["name"]: p["schema"] for p in schema["paths"]["/search"]["get"]["parameters"]}
    assert search["q"]["maxLength"] == 1000


def _half_sent_request(url: str) -> socket.socket:
    """A POST whose headers promise a body that never comes."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"question\": ")
    return sock


def test_a_stalled_body_is_408_and_past_the_limit_requests_get_a_fast_503(tiny_pipeline):
    import httpx

    app = app_with(tiny_pipeline, max_in_flight=1, request_read_timeout_s=1.5)
    with serve(app) as url:
        stalled = _half_sent_request(url)
        time.sleep(0.3)  # the stalled request holds the only slot
        started = time.monotonic()
        busy = httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=10)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert time.monotonic() - started < 1.0
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200  # monitoring is never shed
        for page_file in ("/", "/static/chat-dom.js", "/static/chat.js", "/static/chat.css", "/widget.js"):
            assert httpx.get(f"{url}{page_file}", timeout=10).status_code == 200  # nor the chat page's files
        reply = b""
        while not reply.endswith(b"}"):  # headers and body may come in separate packets
            reply += stalled.recv(4096)
        reply = reply.decode()
        assert reply.startswith("HTTP/1.1 408") and "not received within 1.5 s" in reply
        stalled.close()
        assert httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=10).status_code == 200


def test_headers_that_stall_lose_their_connection(tiny_pipeline):
    import httpx

    from rag.api.server import HeaderDeadlineProtocol

    protocol = type("Protocol", (HeaderDeadlineProtocol,), {"header_timeout": 1.0})
    with serve(create_app(tiny_pipeline), http=protocol) as url:
        host, port = url.removeprefix("http://").split(":")
        stalled = [socket.create_connection((host, int(port)), timeout=10) for _ in range(20)]
        for sock in stalled:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        started = time.monotonic()
        assert all(sock.recv(1024) == b"" for sock in stalled)  # closed by the server
        assert time.monotonic() - started < 5
        with httpx.Client(base_url=url, timeout=10) as client:  # keep-alive: a second request on one connection
            assert client.get("/health").status_code == 200
            time.sleep(0.5)
            assert client.get("/health").status_code == 200
