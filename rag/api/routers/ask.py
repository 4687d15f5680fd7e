import time

from fastapi import APIRouter, Request

from rag.api.dependencies import (
    PipelineDep,
    checked_filters,
    checked_question,
    checked_top_k,
    note_answer,
    unmatched_filters,
)
from rag.api.schemas import AskRequest, AskResponse, ErrorOut, answer_out

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorOut}, 400: {"model": ErrorOut}})
def ask(body: AskRequest, request: Request, pipeline: PipelineDep) -> AskResponse:
    """Answer a question with a verbatim, cited quote, or answer null when the documents don't say."""
    started = time.perf_counter()
    question = checked_question(body.question, pipeline.settings)
    top_k = checked_top_k(body.top_k, pipeline.settings)
    filters = checked_filters(body.filters, pipeline)
    answer = pipeline.ask(question, top_k, filters)
    note_answer(request, question, answer)
    response = answer_out(answer, (time.perf_counter() - started) * 1000)
    if response.answer is None and (why := unmatched_filters(body.filters, pipeline)):
        response.message = why
    return response
