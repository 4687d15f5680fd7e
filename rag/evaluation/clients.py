"""Two ways to ask the questions, one result shape: in-process through QAPipeline, or over HTTP like any client.

Both return the API's JSON shapes (the /ask and /search response bodies), so every later step is shared.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from rag.settings import Settings


class EvaluationError(ValueError):
    """The evaluation cannot run (bad input, unreachable server); the CLI reports it and exits 2."""


def _span(doc_id: str, title: str, chunk_id: str, start: int, end: int, text: str) -> dict[str, Any]:
    return {"doc_id": doc_id, "title": title, "chunk_id": chunk_id, "start": start, "end": end, "text": text}


def citation_dict(citation) -> dict[str, Any]:
    return _span(citation.doc_id, citation.title, citation.chunk_id, citation.start, citation.end, citation.text)


def passage_dict(passage) -> dict[str, Any]:
    chunk = passage.chunk
    return {**_span(chunk.doc_id, passage.title, chunk.chunk_id, chunk.start, chunk.end, passage.text),
            "score": float(passage.score)}


def answer_dict(answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "confidence": float(answer.confidence),
        "message": answer.message,
        "sentence": citation_dict(answer.sentence) if getattr(answer, "sentence", None) else None,
        "citations": [citation_dict(c) for c in answer.citations],
        "passages": [passage_dict(p) for p in answer.passages],
    }


class InProcessClient:
    """Calls the pipeline directly: pipeline.ask / pipeline.search / pipeline.document."""

    mode = "in-process"

    def __init__(self, pipeline):
        self.pipeline = pipeline
        self.settings: Settings = pipeline.settings

    def ask(self, question: str, doc_ids: list[str] | None = None) -> tuple[dict[str, Any], float]:
        from rag.retrieval import Filters

        started = time.perf_counter()
        answer = self.pipeline.ask(question, filters=Filters(doc_ids=doc_ids) if doc_ids else None)
        elapsed = (time.perf_counter() - started) * 1000
        return answer_dict(answer), elapsed

    def search(self, query: str, top_k: int) -> tuple[list[dict[str, Any]], float]:
        started = time.perf_counter()
        passages = self.pipeline.search(query, top_k)
        elapsed = (time.perf_counter() - started) * 1000
        return [passage_dict(p) for p in passages], elapsed

    def document_text(self, doc_id: str) -> str | None:
        document = self.pipeline.document(doc_id)
        return None if document is None else document.text

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "index": self.pipeline.index.manifest,
                "settings": self.settings.model_dump(mode="json")}

    def close(self) -> None:
        pass


class HttpClient:
    """POST /ask, GET /search, GET /documents/{doc_id}: exactly what any client of the service sends."""

    mode = "http"

    def __init__(self, url: str, settings: Settings, timeout: float = 60.0):
        import httpx

        self.url = url.rstrip("/")
        self.settings = settings
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._documents: dict[str, str | None] = {}
        try:
            response = self._http.get("/health")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self._http.close()
            raise EvaluationError(f"cannot reach the server at {self.url} (GET /health): {exc}") from exc
        self.health = response.json()

    def ask(self, question: str, doc_ids: list[str] | None = None) -> tuple[dict[str, Any], float]:
        body: dict[str, Any] = {"question": question}
        if doc_ids:
            body["filters"] = {"doc_ids": doc_ids}
        started = time.perf_counter()
        response = self._http.post("/ask", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        return self._json(response, "POST /ask"), elapsed

    def search(self, query: str, top_k: int) -> tuple[list[dict[str, Any]], float]:
        started = time.perf_counter()
        response = self._http.get("/search", params={"q": query, "top_k": top_k})
        elapsed = (time.perf_counter() - started) * 1000
        return self._json(response, "GET /search")["passages"], elapsed

    def document_text(self, doc_id: str) -> str | None:
        if doc_id not in self._documents:
            response = self._http.get(f"/documents/{quote(doc_id, safe='/')}")
            self._documents[doc_id] = None if response.status_code == 404 else \
                self._json(response, "GET /documents")["text"]
        return self._documents[doc_id]

    def describe(self) -> dict[str, Any]:
        # The server's own settings are not exposed; /health carries its index manifest.
        return {"mode": self.mode, "url": self.url, "index": self.health,
                "settings": {"note": "client-side settings; the server's settings are not visible over HTTP",
                             **self.settings.model_dump(mode="json")}}

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _json(response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:
                detail = response.text
            raise RuntimeError(f"{what} returned {response.status_code}: {detail}")
        return response.json()
