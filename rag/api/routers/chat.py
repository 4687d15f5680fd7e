import time

from fastapi import APIRouter, HTTPException, Request

from rag.api.dependencies import AskerDep, answer_response, checked_filters, checked_question, checked_top_k
from rag.api.schemas import ChatRequest, ChatResponse, ErrorOut
from rag.conversation import FollowUpResolver

router = APIRouter(tags=["answers"])
resolver = FollowUpResolver()


@router.post("/chat", response_model=ChatResponse, responses={422: {"model": ErrorOut}, 400: {"model": ErrorOut}})
def chat(body: ChatRequest, request: Request, pipeline: AskerDep) -> ChatResponse:
    """Answer the last user message of a conversation; follow-ups ("And when was it signed?") are first rewritten
    into a standalone question from the earlier turns, without a language model."""
    started = time.perf_counter()
    settings = pipeline.settings
    if body.messages[-1].role != "user":
        raise HTTPException(422, "the last message must have role 'user'")
    for i, message in enumerate(body.messages):
        if message.role == "user":
            checked_question(message.content, settings, field=f"messages[{i}].content")
    top_k = checked_top_k(body.top_k, settings)
    filters = checked_filters(body.filters, pipeline)
    resolution = resolver.resolve(body.messages)
    answer = pipeline.ask(resolution.standalone, top_k, filters)
    response = answer_response(request, pipeline, resolution.standalone, answer, body.filters, started)
    return ChatResponse(**response.model_dump(exclude={"question"}), question=resolution.question,
                        standalone_question=resolution.standalone, show_rewrite=resolution.readable)
