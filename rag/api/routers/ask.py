import time

from fastapi import APIRouter

from rag.api.dependencies import PipelineDep, checked_filters, checked_question, checked_top_k
from rag.api.schemas import AskRequest, AskResponse, ErrorOut, answer_out

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorOut}, 400: {"model": ErrorOut}})
def ask(request: AskRequest, pipeline: PipelineDep) -> AskResponse:
    """Answer a question with a verbatim, cited quote, or answer null when the documents don't say."""
    started = time.perf_counter()
    question = checked_question(request.question, pipeline.settings)
    top_k = checked_top_k(request.top_k, pipeline.settings)
    filters = checked_filters(request.filters, pipeline)
    answer = pipeline.ask(question, top_k, filters)
    return answer_out(answer, (time.perf_counter() - started) * 1000)
