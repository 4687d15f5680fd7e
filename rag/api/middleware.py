"""The HTTP edge, as plain ASGI middleware: limits that hold before a request is read (body size, body read time,
requests in flight), and what every response carries (a request id, nosniff) and leaves behind (one JSON log
line, Prometheus metrics)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

access_log = logging.getLogger("rag.access")
# Routes that must answer under load (monitoring) and the chat page's own files (read from disk, a page load
# fetches several at once): outside the concurrency limit, which is there for the models' work.
UNLIMITED_PATHS = frozenset({"/health", "/metrics", "/", "/widget.js", "/docs", "/openapi.json"})
UNLIMITED_PREFIXES = ("/static/", "/docs/static/")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


async def _json_response(send, status: int, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    """413 for a body over `max_body_bytes` (from Content-Length before anything is read, or while a chunked body
    streams in), 408 when the body does not arrive within `read_timeout_s`, 503 with Retry-After when
    `max_in_flight` requests are already being served."""

    def __init__(self, app, max_body_bytes: int, read_timeout_s: float, max_in_flight: int,
                 max_upload_bytes: int | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.read_timeout_s = read_timeout_s
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        # Documents sent to POST/PUT /documents have their own, larger limit.
        upload = scope["method"] in ("POST", "PUT") and scope["path"].startswith("/documents")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        too_large = (f"upload over {limit / 1e6:g} MB (RAG_MAX_UPLOAD_MB)" if upload else
                     f"request body over {limit:,} bytes (RAG_MAX_BODY_BYTES)")
        # Answered without reading the body: the connection closes after it, so no unread body is left on it.
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _json_response(send, 413, too_large, [(b"connection", b"close")])
        path = scope["path"]
        limited = not (path in UNLIMITED_PATHS or (scope["method"] == "GET" and path.startswith(UNLIMITED_PREFIXES)))
        if limited and self.in_flight >= self.max_in_flight:
            return await _json_response(send, 503, "the server is busy; retry in a moment",
                                        [(b"retry-after", b"1"), (b"connection", b"close")])
        received = 0
        body_done = False
        started = refused = False

        async def refuse(status: int, message: str) -> dict:
            """Answer for the app, then tell it the client is gone, so it stops reading; whatever it still sends
            is dropped (send_tracked)."""
            nonlocal refused
            if not started:
                await _json_response(send, status, message, [(b"connection", b"close")])
            refused = True
            return {"type": "http.disconnect"}

        async def receive_limited():
            nonlocal received, body_done
            if body_done or refused:  # later receives wait for a disconnect: no deadline on those
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout_s)
            except TimeoutError:
                return await refuse(408, f"request body not received within {self.read_timeout_s:g} s")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return await refuse(413, too_large)
                body_done = not message.get("more_body", False)
            return message

        async def send_tracked(message):
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        self.in_flight += limited
        try:
            await self.app(scope, receive_limited, send_tracked)
        finally:
            self.in_flight -= limited


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("kizuna_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("kizuna_request_seconds", "HTTP request latency by route", ["route"],
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.answers = Counter("kizuna_answers", "Questions answered or withheld", ["outcome"],
                               registry=self.registry)
        self.documents = Gauge("kizuna_index_documents", "Documents in the served index", registry=self.registry)
        self.chunks = Gauge("kizuna_index_chunks", "Chunks in the served index", registry=self.registry)
        self.skipped = Gauge("kizuna_index_skipped_files", "Corpus files left out of the served index",
                             registry=self.registry)
        self.build_seconds = Gauge("kizuna_index_build_seconds", "How long the served index took to build",
                                   registry=self.registry)
        self.generation = Gauge("kizuna_index_generation_info", "The served index generation (value 1)",
                                ["generation"], registry=self.registry)

    def describe_index(self, manifest: dict) -> None:
        self.documents.set(manifest["documents"])
        self.chunks.set(manifest["chunks"])
        self.skipped.set(len(manifest.get("skipped", [])))
        self.build_seconds.set(manifest.get("build_seconds", 0.0))
        self.generation.clear()
        self.generation.labels(manifest.get("generation", "")).set(1)


class ObservabilityMiddleware:
    """X-Request-ID (the client's when it is a plain token, else a new one) and nosniff on every response; one
    JSON log line and the request metrics per request. Never logs headers (API keys live there); the question
    only when `log_questions` (RAG_LOG_QUESTIONS)."""

    def __init__(self, app, metrics: Metrics, log_questions: bool):
        self.app = app
        self.metrics = metrics
        self.log_questions = log_questions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_headers(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in (b"x-request-id", b"x-content-type-options")]
                headers += [(b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"  # the template bounds the metric's label values
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(seconds)
            state = scope.get("state", {})
            line = {"request_id": request_id, "method": scope["method"], "route": name, "status": status,
                    "ms": round(seconds * 1000, 2)}
            if "answered" in state:
                line["answered"] = state["answered"]
            if self.log_questions and "question" in state:
                line["question"] = state["question"]
            access_log.info(json.dumps(line, ensure_ascii=False))
