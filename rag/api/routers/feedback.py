"""Users' verdicts on answers: anyone who may ask may say whether an answer helped; reading them back needs a write
key, since they hold users' questions. `rag feedback export` turns them into gold lines for `rag eval`."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from rag.api.dependencies import AskerDep, checked_question
from rag.api.schemas import ErrorOut, FeedbackIn, FeedbackList, FeedbackOut
from rag.api.security import writer_key
from rag.feedback import Feedback

router = APIRouter(tags=["feedback"])

MAX_LIST_LIMIT = 500
MAX_OFFSET = 2**62  # SQLite's integers are 64-bit: a larger offset would be a 500, not a 422


def _out(feedback: Feedback) -> FeedbackOut:
    return FeedbackOut(**asdict(feedback))


def _checked_span(body: FeedbackIn, pipeline) -> None:
    """A doc_id must be a document of the collection (a verdict on an answer it could not have given is a
    client's mistake, and useless as gold); a span must lie inside it and hold exactly the answer."""
    if body.doc_id is None:
        return
    document = pipeline.document(body.doc_id)
    if document is None:
        raise HTTPException(422, f"unknown doc_id: {body.doc_id} (not a document of the collection)")
    if body.start is None:
        return
    if body.end > len(document.text):
        raise HTTPException(422, f"end ({body.end}) is past the end of {body.doc_id} ({len(document.text)} "
                                 "characters)")
    quoted = document.text[body.start:body.end]
    if quoted != body.answer:
        shown = quoted if len(quoted) <= 80 else f"{quoted[:77]}..."
        raise HTTPException(422, f"the answer does not match {body.doc_id}[{body.start}:{body.end}], which is "
                                 f"{shown!r}")


@router.post("/feedback", status_code=201, response_model=FeedbackOut,
             responses={status: {"model": ErrorOut} for status in (400, 401, 422, 429)})
def add_feedback(body: FeedbackIn, request: Request, pipeline: AskerDep) -> FeedbackOut:
    """Record whether an answer helped (201 once it is stored durably). answer null: the service withheld one.
    Open to whoever may ask, and within the same per-client rate (RAG_ASK_RATE_PER_MINUTE), so it cannot be
    used to fill the disk faster than questions can be asked.
    doc_id, when given, must be in the collection; start and end, the answer's offsets in it."""
    question = checked_question(body.question, pipeline.settings)
    _checked_span(body, pipeline)
    comment = (body.comment or "").strip() or None
    stored = request.app.state.feedback.add(Feedback(question, body.answer, body.helpful, comment, body.doc_id,
                                                     body.start, body.end))
    return _out(stored)


def _reviewer(request: Request) -> None:
    # A write key, as for writes (403 without RAG_API_KEYS, 401 for a missing or wrong key); a read of the
    # feedback spends none of that key's write rate.
    writer_key(request, request.app.state.pipeline.settings)


@router.get("/feedback", response_model=FeedbackList, dependencies=[Depends(_reviewer)],
            responses={status: {"model": ErrorOut} for status in (401, 403, 422)})
def list_feedback(request: Request,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="How many")] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many newer ones to skip")] = 0,
                  ) -> FeedbackList:
    """The stored feedback, newest first (a write key of RAG_API_KEYS needed)."""
    total, records = request.app.state.feedback.list(limit, offset)
    return FeedbackList(total=total, limit=limit, offset=offset, feedback=[_out(f) for f in records])
