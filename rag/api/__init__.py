"""create_app(): the FastAPI application. Routes translate HTTP to pipeline calls and nothing more."""

from __future__ import annotations

import logging
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from rag import __version__
from rag.api.middleware import LimitsMiddleware, Metrics, ObservabilityMiddleware, access_log
from rag.api.routers import ask, chat, collection, documents, feedback, health, metrics, search, web
from rag.api.security import RateLimiter
from rag.examples import ExampleQuestions
from rag.feedback import FeedbackStore
from rag.pipeline import QAPipeline
from rag.settings import Settings, get_settings

logger = logging.getLogger("rag.api")


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"error": "malformed JSON in request body"}, status_code=400)
    detail = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in errors]
    summary = "; ".join(f"{'.'.join(d['loc'][1:] or d['loc'])}: {d['msg']}" for d in detail)
    return JSONResponse({"error": f"invalid request: {summary}", "detail": detail}, status_code=422)


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path only; a path served by several
        # routes (GET and POST /documents) allows all of theirs.
        methods = {m for route in request.app.routes if isinstance(route, Route)
                   and route.matches({"type": "http", "path": request.url.path, "method": "GET"})[0] != Match.NONE
                   for m in route.methods or ()}
        headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal error; the server log has the details"}, status_code=500)


# A question: text (TEXT_PATTERN) with at least one character that is not white space (as Python's strip() sees
# it: ECMA-262's \s lacks U+0085, which Python strips).
_TEXT_CHAR = "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]"
QUESTION_PATTERN = f"^{_TEXT_CHAR}*[^\\s\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f\\u0085]{_TEXT_CHAR}*$"


def _state_limits(schema: dict, settings: Settings) -> dict:
    """The OpenAPI schema with the input limits the settings give, so clients and fuzzers see what the server
    enforces (RAG_MAX_QUESTION_CHARS, RAG_MAX_TOP_K)."""
    top_k = {"type": "integer", "minimum": 1, "maximum": settings.max_top_k}
    components = schema.get("components", {}).get("schemas", {})
    for name in ("AskRequest", "ChatRequest"):
        properties = components.get(name, {}).get("properties", {})
        if "top_k" in properties:
            properties["top_k"]["anyOf"] = [top_k, {"type": "null"}]
    for name in ("AskRequest", "FeedbackIn"):
        question = components.get(name, {}).get("properties", {}).get("question")
        if question is not None:
            question.update(minLength=1, maxLength=settings.max_question_chars, pattern=QUESTION_PATTERN)
    for parameter in schema.get("paths", {}).get("/search", {}).get("get", {}).get("parameters", []):
        if parameter["name"] == "q":
            parameter["schema"].update(minLength=1, maxLength=settings.max_question_chars, pattern=QUESTION_PATTERN)
        elif parameter["name"] == "top_k":
            parameter["schema"]["anyOf"] = [top_k, {"type": "null"}]
    return schema


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is logged (a process's own, or a test's capture)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _log_to_stdout() -> None:
    if not access_log.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def create_app(pipeline: QAPipeline | None = None, settings: Settings | None = None) -> FastAPI:
    """An app over a given pipeline, or over the index named by the settings (loaded once at start-up)."""
    settings = pipeline.settings if pipeline is not None else (settings or get_settings())
    metrics_registry = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "pipeline", None) is None:
            app.state.pipeline = QAPipeline(settings)
        metrics_registry.describe_index(app.state.pipeline.index.manifest)
        # Worked out in the background, so the chat page's first load rarely waits for them.
        app.state.examples.warm_up(app.state.pipeline)
        # One store per app; its connection opens with the first verdict and closes at shutdown.
        app.state.feedback = FeedbackStore(app.state.pipeline.settings.resolved_data_dir)
        yield
        app.state.feedback.close()

    # /docs is served from the installed swagger-ui-bundle (rag.api.routers.web), not a CDN; ReDoc would need one.
    app = FastAPI(title="Kizuna", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Extractive, cited question answering over a document collection.")
    app.state.pipeline = pipeline
    app.state.metrics = metrics_registry
    app.state.write_limiter = RateLimiter(settings.write_rate_per_minute, "writes for this API key")
    app.state.ask_limiter = RateLimiter(settings.ask_rate_per_minute, "questions and feedback from this client")
    app.state.examples = ExampleQuestions(settings.example_questions)
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _state_limits(default_openapi(), settings)
        return app.openapi_schema

    app.openapi = openapi
    _log_to_stdout()
    hosts = [*settings.allowed_hosts, *([settings.host] if settings.host not in ("0.0.0.0", "::") else [])]
    # Each one added wraps those before it: observability is outermost, so every response gets its request id and
    # nosniff, a 400 for a foreign host or a 413 included.
    app.add_middleware(CORSMiddleware, allow_origins=settings.resolved_cors_origins,
                       allow_methods=["GET", "POST", "PUT", "DELETE"],
                       allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                       expose_headers=["X-Request-ID", "Retry-After"])
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    # A multipart upload carries its form fields and boundaries beside the file: 64 KiB of room for them.
    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       read_timeout_s=settings.request_read_timeout_s, max_in_flight=settings.max_in_flight,
                       max_upload_bytes=int(settings.max_upload_mb * 1_000_000) + 65_536)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics_registry, log_questions=settings.log_questions)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    for module in (ask, chat, search, collection, documents, feedback, health, metrics, web):
        app.include_router(module.router)
    return app
