import time

from fastapi import APIRouter, Request

from rag.api.dependencies import AskerDep, answer_response, checked_filters, checked_question, checked_top_k
from rag.api.schemas import AskRequest, AskResponse, ErrorOut

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorOut}, 400: {"model": ErrorOut}})
def ask(body: AskRequest, request: Request, pipeline: AskerDep) -> AskResponse:
    """Answer a question with a verbatim, cited quote, or answer null when the documents don't say."""
    started = time.perf_counter()
    question = checked_question(body.question, pipeline.settings)
    top_k = checked_top_k(body.top_k, pipeline.settings)
    filters = checked_filters(body.filters, pipeline)
    answer = pipeline.ask(question, top_k, filters)
    return answer_response(request, pipeline, question, answer, body.filters, started)
