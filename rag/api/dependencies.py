"""Request-scoped access to the pipeline and settings, and the input checks every route shares."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from rag.api.schemas import AskResponse, FiltersIn, answer_out
from rag.api.security import check_reader, writer_key
from rag.pipeline import QAPipeline
from rag.retrieval import Filters
from rag.settings import Settings


def get_pipeline(request: Request) -> QAPipeline:
    """The pipeline, after it has caught up with writes other processes made and new generations."""
    pipeline = request.app.state.pipeline
    pipeline.collection.refresh()
    return pipeline


def get_reader_pipeline(request: Request) -> QAPipeline:
    """For reads of the collection: a read key first when RAG_READ_API_KEYS is set."""
    check_reader(request, request.app.state.pipeline.settings)
    return get_pipeline(request)


def get_asker_pipeline(request: Request) -> QAPipeline:
    """For questions: a read key when needed, then the per-client rate limit (RAG_ASK_RATE_PER_MINUTE)."""
    check_reader(request, request.app.state.pipeline.settings)
    request.app.state.ask_limiter.check(request.client.host if request.client else "unknown")
    return get_pipeline(request)


def get_writer(request: Request) -> QAPipeline:
    """For writes: a write key (RAG_API_KEYS), then that key's rate limit (RAG_WRITE_RATE_PER_MINUTE)."""
    pipeline = request.app.state.pipeline
    request.app.state.write_limiter.check(writer_key(request, pipeline.settings))
    return get_pipeline(request)


def get_settings(request: Request) -> Settings:
    return request.app.state.pipeline.settings


def checked_question(question: str, settings: Settings, field: str = "question") -> str:
    # The limit is on what was sent (as the schema states it), white space included.
    if len(question) > settings.max_question_chars:
        raise HTTPException(422, f"{field} is {len(question)} characters long; the limit is {settings.max_question_chars}")
    question = question.strip()
    if not question:
        raise HTTPException(422, f"{field} must not be empty")
    return question


def checked_top_k(top_k: int | None, settings: Settings) -> int:
    if top_k is None:
        return settings.default_top_k
    if not 1 <= top_k <= settings.max_top_k:
        raise HTTPException(422, f"top_k must be between 1 and {settings.max_top_k}, got {top_k}")
    return top_k


def checked_filters(filters: FiltersIn | None, pipeline: QAPipeline) -> Filters:
    """The filters to search with. A doc_id or tag the collection does not hold, or a date range that ends
    before it starts, is not an error: like any filter, it matches no document (_unmatched_filters says why)."""
    if filters is None:
        return Filters()
    return Filters(tuple(filters.doc_ids or ()), tuple(filters.tags or ()), filters.date_from, filters.date_to)


PipelineDep = Annotated[QAPipeline, Depends(get_pipeline)]
ReaderDep = Annotated[QAPipeline, Depends(get_reader_pipeline)]
AskerDep = Annotated[QAPipeline, Depends(get_asker_pipeline)]
WriterDep = Annotated[QAPipeline, Depends(get_writer)]


def _unmatched_filters(filters: FiltersIn | None, pipeline: QAPipeline) -> str | None:
    """Why filters leave nothing to search, when a doc_id or tag they name is in no document or the dates are
    the wrong way round."""
    if filters is None:
        return None
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        return "No document matches the filters (date_from is after date_to)."
    unknown_ids = [d for d in filters.doc_ids or [] if pipeline.document(d) is None]
    tags = {t for d in pipeline.documents for t in d.metadata.get("tags", [])}
    unknown_tags = [t for t in filters.tags or [] if t not in tags]
    if (filters.doc_ids and len(unknown_ids) == len(filters.doc_ids)) or \
            (filters.tags and len(unknown_tags) == len(filters.tags)):
        named = [f"doc_id {d!r}" for d in unknown_ids] + [f"tag {t!r}" for t in unknown_tags]
        return f"No document matches the filters (no {' or '.join(named)} in the collection)."
    return None


def answer_response(request: Request, pipeline: QAPipeline, question: str, answer, filters: FiltersIn | None,
                    started: float) -> AskResponse:
    """The HTTP answer (/ask and /chat alike): recorded for the access log and the metrics, and when nothing
    matched the filters, a message that says why instead of "no answer"."""
    request.state.answered = answer.answer is not None
    request.state.question = question
    request.app.state.metrics.answers.labels("answered" if answer.answer is not None else "withheld").inc()
    response = answer_out(answer, (time.perf_counter() - started) * 1000)
    if response.answer is None and (why := _unmatched_filters(filters, pipeline)):
        response.message = why
    return response
