"""create_app(): the FastAPI application. Routes translate HTTP to pipeline calls and nothing more."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag import __version__
from rag.api.routers import ask, chat, documents, health, search, web
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
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "internal error; the server log has the details"}, status_code=500)


def create_app(pipeline: QAPipeline | None = None, settings: Settings | None = None) -> FastAPI:
    """An app over a given pipeline, or over the index named by the settings (loaded once at start-up)."""
    settings = pipeline.settings if pipeline is not None else (settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "pipeline", None) is None:
            app.state.pipeline = QAPipeline(settings)
        yield

    app = FastAPI(title="Kizuna", version=__version__, lifespan=lifespan,
                  description="Extractive, cited question answering over a document collection.")
    app.state.pipeline = pipeline
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"])
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    for module in (ask, chat, search, documents, health, web):
        app.include_router(module.router)
    return app
