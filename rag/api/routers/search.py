import time
from typing import Annotated

from fastapi import APIRouter, Query

from rag.api.dependencies import AskerDep, checked_question, checked_top_k
from rag.api.schemas import ErrorOut, PlainText, SearchResponse, passage_out

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResponse, responses={422: {"model": ErrorOut}})
def search(q: Annotated[PlainText, Query(description="Search query")], pipeline: AskerDep,
           top_k: Annotated[int | None, Query(description="How many passages (1 to RAG_MAX_TOP_K)")] = None,
           ) -> SearchResponse:
    """Ranked passages for a query (hybrid dense + BM25)."""
    started = time.perf_counter()
    query = checked_question(q, pipeline.settings, field="q")
    passages = pipeline.search(query, checked_top_k(top_k, pipeline.settings))
    return SearchResponse(query=query, passages=[passage_out(p) for p in passages],
                          took_ms=round((time.perf_counter() - started) * 1000, 3))
