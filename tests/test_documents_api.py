"""Live documents over real HTTP: uploads of every format answerable at once with exact citations, replace,
delete, the error statuses, readers during writes, and what the collection shows."""

from __future__ import annotations

import io
import os
import shutil
import threading
import zipfile

import httpx
import pytest

from rag.api import create_app
from rag.pipeline import QAPipeline
from rag.settings import Settings
from tests.conftest import assert_citations_exact
from tests.corpus_factory import write_docx, write_pdf
from tests.live_server import serve

KEY = "writer-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}

# Facts no folder document holds, one per format, each with the question only it answers.
FACTS = {
    "txt": ("The Velmora lighthouse was painted green in 1911 by the harbour guild.",
            "What colour was the Velmora lighthouse painted?", "green"),
    "md": ("# Orlan bridge\n\nThe Orlan bridge over the Tesk river is 412 metres long.\n",
           "How long is the Orlan bridge?", "412 metres"),
    "html": ("<html><head><title>Pemberly orchard</title></head><body><main><p>The Pemberly orchard grows "
             "quince trees planted by Mira Castell.</p></main></body></html>",
             "Who planted the quince trees of the Pemberly orchard?", "Mira Castell"),
    "pdf": (["Harrow mill", "The Harrow mill ground barley for the town of Ostwick until 1952."],
            "What grain did the Harrow mill grind for Ostwick?", "barley"),
    "docx": (["Quillon festival", "The Quillon festival is held every March on the island of Brisca."],
             "In which month is the Quillon festival held?", "March"),
}


def _file(kind: str, tmp_path) -> tuple[str, bytes]:
    content = FACTS[kind][0]
    if kind == "pdf":
        write_pdf(tmp_path / "f.pdf", content, content[0])
        return "harrow-mill.pdf", (tmp_path / "f.pdf").read_bytes()
    if kind == "docx":
        write_docx(tmp_path / "f.docx", content, content[0])
        return "quillon-festival.docx", (tmp_path / "f.docx").read_bytes()
    return f"fact-{kind}.{kind}", content.encode()


@pytest.fixture(scope="module")
def live(tiny_corpus, tmp_path_factory, encoder):
    root = tmp_path_factory.mktemp("live")
    corpus = shutil.copytree(tiny_corpus, root / "corpus")
    # No confidence cut: these tests are about what writes make answerable, not where the calibration draws its line.
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data", api_keys=[KEY],
                        chunk_words=40, chunk_overlap_words=10, write_rate_per_minute=0, max_upload_mb=0.2,
                        min_confidence=0.0)
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    with serve(create_app(pipeline)) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client, pipeline


def ask(client, question: str) -> dict:
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def texts_of(client, answer: dict) -> dict[str, str]:
    ids = {c["doc_id"] for c in answer["citations"] + answer["passages"]}
    return {d: client.get(f"/documents/{d}").json()["text"] for d in ids}


@pytest.mark.parametrize("kind", list(FACTS))
def test_an_uploaded_file_of_each_format_is_answerable_at_once_with_exact_citations(live, kind, tmp_path):
    client, _ = live
    name, data = _file(kind, tmp_path)
    response = client.post("/documents", files={"file": (name, data)}, data={"tags": "uploaded, test"},
                           headers=AUTH)
    assert response.status_code == 201, response.text
    written = response.json()
    assert written["chunks"] >= 1 and written["sentences"] >= 1 and written["took_ms"] > 0
    _, question, expected = FACTS[kind]
    answer = ask(client, question)
    assert answer["passages"][0]["doc_id"] == written["doc_id"]
    assert answer["answer"] is not None and expected in answer["answer"], answer
    assert answer["citations"][0]["doc_id"] == written["doc_id"]
    assert_citations_exact(answer, texts_of(client, answer))
    listed = {d["doc_id"]: d for d in client.get("/documents").json()["documents"]}
    assert listed[written["doc_id"]]["origin"] == "upload" and listed[written["doc_id"]]["added_at"]
    assert listed[written["doc_id"]]["metadata"]["tags"] == ["uploaded", "test"]


def test_json_add_replace_delete(live):
    client, _ = live
    body = {"doc_id": "notes/zorblax", "title": "Zorblax", "metadata": {"tags": ["fruit"], "date": "2026-01-05"},
            "text": "The zorblax fruit of Quenland is bright purple. Farmers harvest it in late autumn."}
    assert client.post("/documents", json=body, headers=AUTH).status_code == 201
    question = "What colour is the zorblax fruit?"
    assert "purple" in ask(client, question)["answer"]
    assert client.post("/documents", json=body, headers=AUTH).status_code == 409

    replaced = client.put("/documents/notes/zorblax", json={**body, "text": "The zorblax fruit of Quenland is "
                                                              "pale yellow. Farmers harvest it in spring."},
                          headers=AUTH)
    assert replaced.status_code == 200, replaced.text
    answer = ask(client, question)
    assert "yellow" in answer["answer"] and "purple" not in str(answer)
    assert_citations_exact(answer, texts_of(client, answer))

    assert client.delete("/documents/notes/zorblax", headers=AUTH).status_code == 204
    assert client.get("/documents/notes/zorblax").status_code == 404
    after = ask(client, question)
    assert all(c["doc_id"] != "notes/zorblax" for c in after["citations"] + after["passages"])
    found = client.get("/search", params={"q": "zorblax fruit Quenland"}).json()["passages"]
    assert all(p["doc_id"] != "notes/zorblax" for p in found)
    assert "notes/zorblax" not in {d["doc_id"] for d in client.get("/documents").json()["documents"]}
    assert client.delete("/documents/notes/zorblax", headers=AUTH).status_code == 404


def test_error_statuses(live, tmp_path):
    client, _ = live
    fine = {"title": "Status test", "text": "A status test document about the Kelvar dam."}
    assert client.post("/documents", json=fine).status_code == 401
    wrong = client.post("/documents", json=fine, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid API key"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.put("/documents/no-such-doc", json=fine, headers=AUTH).status_code == 404
    assert client.delete("/documents/no-such-doc", headers=AUTH).status_code == 404
    folder = client.delete("/documents/bullet-train", headers=AUTH)
    assert folder.status_code == 409 and "folder" in folder.json()["error"]
    big = client.post("/documents", files={"file": ("big.txt", b"word " * 60_000)}, headers=AUTH)
    assert big.status_code == 413 and "RAG_MAX_UPLOAD_MB" in big.json()["error"]

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:t>" + b" " * 5_000_000 + b"</w:t>")
    bad_files = {
        "corrupt.pdf": (b"%PDF-1.4\n" + os.urandom(3000), "unreadable PDF"),
        "fake.pdf": (b"just words, no pdf", "not a PDF"),
        "bomb.docx": (bomb.getvalue(), "zip bomb"),
        "noise.txt": (os.urandom(5000), "binary data"),
        "empty.md": (b"", "empty file"),
        "tool.exe": (b"MZ", "unsupported file type"),
    }
    before = client.get("/health").json()["documents"]
    for name, (data, reason) in bad_files.items():
        response = client.post("/documents", files={"file": (name, data)}, headers=AUTH)
        assert response.status_code == 422, (name, response.text)
        assert reason in response.json()["error"] and name in response.json()["error"], response.json()
    assert client.get("/health").json()["documents"] == before  # nothing of them entered the index
    for body in ({"title": "x"}, {"title": "x", "text": "   "}, {"title": "x", "text": "y", "doc_id": "../etc"},
                 {"title": "x", "text": "y", "extra": 1}):
        assert client.post("/documents", json=body, headers=AUTH).status_code == 422, body
    assert client.post("/documents", content=b"text", headers={**AUTH, "Content-Type": "text/plain"}
                       ).status_code == 415


def test_writes_are_refused_without_configured_keys_and_reads_can_be_closed(tiny_pipeline):
    app = create_app(tiny_pipeline)
    with serve(app) as url:
        response = httpx.post(f"{url}/documents", json={"title": "t", "text": "x"}, headers=AUTH)
        assert response.status_code == 403 and "RAG_API_KEYS" in response.json()["error"]
    closed = tiny_pipeline.settings.model_copy(update={"read_api_keys": ["reader"], "api_keys": [KEY]})
    original = tiny_pipeline.settings
    tiny_pipeline.settings = closed
    try:
        with serve(create_app(tiny_pipeline)) as url:
            assert httpx.post(f"{url}/ask", json={"question": "What is the bullet train?"}).status_code == 401
            for key in ("reader", KEY):
                response = httpx.post(f"{url}/ask", json={"question": "What is the bullet train?"},
                                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
                assert response.status_code == 200
            assert httpx.get(f"{url}/documents").status_code == 401
            assert httpx.get(f"{url}/health").status_code == 200  # monitoring stays open
    finally:
        tiny_pipeline.settings = original


def test_rate_limits_answer_429_with_retry_after(tiny_pipeline):
    limited = tiny_pipeline.settings.model_copy(update={"ask_rate_per_minute": 3, "api_keys": [KEY],
                                                        "write_rate_per_minute": 2})
    original = tiny_pipeline.settings
    tiny_pipeline.settings = limited
    try:
        with serve(create_app(tiny_pipeline)) as url:
            statuses = [httpx.get(f"{url}/search", params={"q": "bullet train"}).status_code for _ in range(5)]
            assert statuses[:3] == [200] * 3 and statuses[3:] == [429, 429]
            refused = httpx.get(f"{url}/search", params={"q": "bullet train"})
            assert int(refused.headers["retry-after"]) >= 1 and "retry" in refused.json()["error"]
            # Writes are limited per key; the third is refused before anything is read or written.
            writes = [httpx.delete(f"{url}/documents/none-{i}", headers=AUTH).status_code for i in range(3)]
            assert writes[:2] != [429, 429] and writes[2] == 429
    finally:
        tiny_pipeline.settings = original


def test_readers_during_writes_see_one_version_or_the_other(live):
    client, _ = live
    versions = {n: f"The Ardent comet returns every {n} years, the observatory of Lusk reports." for n in (76, 83)}
    body = {"doc_id": "ardent-comet", "title": "Ardent comet", "text": versions[76]}
    assert client.post("/documents", json=body, headers=AUTH).status_code == 201
    errors, seen = [], set()
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=60) as reader:
            while not stop.is_set():
                response = reader.post("/ask", json={"question": "How often does the Ardent comet return?"})
                if response.status_code != 200:
                    errors.append(response.status_code)
                    continue
                for cited in response.json()["citations"] + response.json()["passages"]:
                    if cited["doc_id"] == "ardent-comet":
                        # A mixed state would cite offsets of one version with the text of another.
                        matching = [n for n, text in versions.items() if text[cited["start"]:cited["end"]] ==
                                    cited["text"]]
                        if not matching:
                            errors.append(cited)
                        seen.update(matching)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    for n in (83, 76, 83, 76, 83):
        assert client.put("/documents/ardent-comet", json={**body, "text": versions[n]}, headers=AUTH
                          ).status_code == 200
    stop.set()
    for thread in readers:
        thread.join()
    assert not errors and seen
    assert "83" in ask(client, "How often does the Ardent comet return?")["answer"]


def test_health_and_documents_show_origins_and_generation(live):
    client, pipeline = live
    health = client.get("/health").json()
    assert health["by_origin"]["folder"] == 5 and health["by_origin"].get("upload", 0) >= 1
    assert health["generation"].startswith("gen-") and health["last_change"] >= 1
    assert health["documents"] == sum(health["by_origin"].values()) == len(pipeline.documents)
    listing = client.get("/documents").json()
    assert listing["count"] == health["documents"] and listing["by_origin"] == health["by_origin"]
    folder = next(d for d in listing["documents"] if d["origin"] == "folder")
    assert folder["added_at"]
