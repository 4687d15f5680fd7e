"""Request and response models of the HTTP API, in one place."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

# C0 controls but tab, newline and carriage return; DEL; and UTF-16 surrogates, which JSON's \\uD800 escapes can
# smuggle into a string although no Unicode text holds one alone (they reached the tokenizer as a 500).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _plain_text(value: str) -> str:
    bad = _NOT_TEXT.search(value)
    if bad:
        kind = "a lone surrogate" if "\ud800" <= bad.group() <= "\udfff" else "a control character"
        raise ValueError(f"contains {kind} (U+{ord(bad.group()):04X}) at position {bad.start()}")
    return value


# The same rule for the OpenAPI schema (ECMA-262 regex): text without those control characters.
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
PlainText = Annotated[str, AfterValidator(_plain_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]


def _date_text(value):
    """JSON has no dates: a date is a "YYYY-MM-DD" string, not a number that happens to convert to one."""
    if not isinstance(value, (str, dt.date)):
        raise ValueError("must be a date as a string, YYYY-MM-DD")
    return value


DateText = Annotated[dt.date, BeforeValidator(_date_text)]


def _whole_number(value):
    """JSON's integers: 5 and 5.0, not "5", true or 5.5."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_ids: list[PlainText] | None = Field(None, description="Only these documents (an unknown doc_id matches none).")
    tags: list[PlainText] | None = Field(None, description="Documents carrying any of these tags.")
    date_from: DateText | None = Field(None, description="Documents dated on or after (YYYY-MM-DD).")
    date_to: DateText | None = Field(None, description="Documents dated on or before (YYYY-MM-DD).")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: PlainText = Field(..., description="A question in plain language (not empty; at most "
                                                 "RAG_MAX_QUESTION_CHARS).")
    top_k: WholeNumber | None = Field(None, description="How many passages to retrieve (1 to RAG_MAX_TOP_K; "
                                                "default RAG_DEFAULT_TOP_K).")
    filters: FiltersIn | None = None


class CitationOut(BaseModel):
    doc_id: str
    title: str
    chunk_id: str
    start: int = Field(..., description="Start offset into the document's stored text.")
    end: int = Field(..., description="End offset (exclusive): document.text[start:end] == text.")
    text: str


class PassageOut(CitationOut):
    score: float


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(..., description="A verbatim quote from a document, or null when the documents don't answer.")
    confidence: float = Field(..., ge=0.0, le=1.0)
    message: str | None = Field(None, description="Why there is no answer, when answer is null.")
    answer_span: CitationOut | None = Field(None, description="Where the answer itself is: its document offsets.")
    sentence: CitationOut | None = Field(None, description="The sentence holding the answer.")
    citations: list[CitationOut]
    passages: list[PassageOut]
    took_ms: float


class SearchResponse(BaseModel):
    query: str
    passages: list[PassageOut]
    took_ms: float


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    metadata: dict
    origin: Literal["folder", "upload"] = Field(description="the documents folder (RAG_CORPUS_DIR) or the API")
    added_at: str | None = Field(None, description="when this version entered the collection (UTC); for a folder "
                                                   "file, its modification time")


class DocumentOut(DocumentSummary):
    text: str


class DocumentList(BaseModel):
    count: int
    by_origin: dict[str, int]
    documents: list[DocumentSummary]


# A doc_id: letters, digits and . _ ~ - in /-separated parts, none starting with a dot (folder documents' ids are
# their paths, and "." or ".." would be read as path steps).
DOC_ID_PATTERN = r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$"
DocId = Annotated[str, Field(min_length=1, max_length=200, pattern=DOC_ID_PATTERN)]


class DocumentIn(BaseModel):
    """A document sent as JSON to POST /documents or PUT /documents/{doc_id}."""

    model_config = ConfigDict(extra="forbid")

    doc_id: DocId | None = Field(None, description="Default: made from the title (lower case, - between words).")
    title: PlainText = Field(..., min_length=1, max_length=500)
    text: PlainText = Field(..., min_length=1, description="The document's text (at most RAG_MAX_DOCUMENT_CHARS).")
    metadata: dict = Field(default_factory=dict, description="tags (a list or comma-separated), date "
                                                             "(YYYY-MM-DD), sources, or any other field.")


class DocumentWritten(BaseModel):
    doc_id: str
    title: str
    chunks: int
    sentences: int
    took_ms: float


class SkippedFile(BaseModel):
    path: str = Field(description="the file, relative to the corpus folder")
    reason: str


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    sentences: int
    model: str
    dimension: int
    dense_index: str
    built_at: str
    format_version: int
    reader: str
    generation: str = Field(description="the index generation being served (index/CURRENT)")
    by_origin: dict[str, int] = Field(description="documents from the folder and from the API")
    pending_chunks: int = Field(description="chunks added through the API since the generation was built, "
                                            "searched beside it until the next build folds them in")
    last_change: int = Field(description="the last upload change (numbered) the served collection holds")
    skipped: list[SkippedFile] = Field(description="corpus files left out of the index, with the reason")


class CollectionOut(BaseModel):
    """What the chat page's empty state says about the collection."""
    description: str | None = Field(description="RAG_COLLECTION_DESCRIPTION, when set")
    documents: int
    chunks: int
    titles: list[str] = Field(description="document titles, at most 100, in the collection's order")
    examples: list[str] = Field(description="questions to try: RAG_EXAMPLE_QUESTIONS, or those the collection "
                                            "answers most confidently among the ones its documents ask")


class ErrorOut(BaseModel):
    error: str
    detail: list[dict] | None = None


def citation_out(citation) -> CitationOut:
    return CitationOut(doc_id=citation.doc_id, title=citation.title, chunk_id=citation.chunk_id,
                       start=citation.start, end=citation.end, text=citation.text)


def passage_out(passage) -> PassageOut:
    chunk = passage.chunk
    return PassageOut(doc_id=chunk.doc_id, title=passage.title, chunk_id=chunk.chunk_id, start=chunk.start,
                      end=chunk.end, text=passage.text, score=round(passage.score, 6))


def answer_out(answer, took_ms: float) -> AskResponse:
    return AskResponse(
        question=answer.question,
        answer=answer.answer,
        confidence=round(answer.confidence, 4),
        message=answer.message,
        answer_span=citation_out(answer.span) if answer.span else None,
        sentence=citation_out(answer.sentence) if answer.sentence else None,
        citations=[citation_out(c) for c in answer.citations],
        passages=[passage_out(p) for p in answer.passages],
        took_ms=round(took_ms, 3),
    )


# -- /chat -------------------------------------------------------------------------------------------------------------

MAX_CHAT_MESSAGES = 50
MAX_ASSISTANT_MESSAGE_CHARS = 20_000


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: PlainText = Field(..., max_length=MAX_ASSISTANT_MESSAGE_CHARS,
                         description="The text of the turn. User turns: not empty, at most RAG_MAX_QUESTION_CHARS.")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(..., min_length=1, max_length=MAX_CHAT_MESSAGES,
                                        description="The conversation, oldest first; the last message is the user's.")
    top_k: WholeNumber | None = Field(None, description="How many passages to retrieve (1 to RAG_MAX_TOP_K; "
                                                "default RAG_DEFAULT_TOP_K).")
    filters: FiltersIn | None = None


class ChatResponse(AskResponse):
    standalone_question: str = Field(..., description="The question actually searched: the last user message with "
                                                      "the earlier turns' entities and terms carried over.")
    show_rewrite: bool = Field(..., description="Whether standalone_question reads as a question to show the user; "
                                                "false when it is the user's words with search terms carried over "
                                                "in parentheses, for retrieval only")


# -- /feedback ---------------------------------------------------------------------------------------------------------

MAX_FEEDBACK_ANSWER_CHARS = 10_000
MAX_FEEDBACK_COMMENT_CHARS = 2_000
# The bound before the validator, so the OpenAPI schema says "minimum" (after it, pydantic can only write "ge").
Offset = Annotated[int, Field(ge=0), BeforeValidator(_whole_number)]


class FeedbackIn(BaseModel):
    """A user's verdict on one answer of /ask or /chat."""

    model_config = ConfigDict(extra="forbid")

    question: PlainText = Field(..., description="The question asked (not empty; at most RAG_MAX_QUESTION_CHARS).")
    answer: PlainText | None = Field(..., min_length=1, max_length=MAX_FEEDBACK_ANSWER_CHARS,
                                     description="The answer given, verbatim; null when the service withheld one.")
    helpful: StrictBool
    comment: PlainText | None = Field(None, max_length=MAX_FEEDBACK_COMMENT_CHARS)
    doc_id: DocId | None = Field(None, description="The document the answer was cited from (in the collection).")
    start: Offset | None = Field(None, description="The answer's start offset in doc_id's text.")
    end: Offset | None = Field(None, description="Its end offset (exclusive): text[start:end] == answer.")

    @model_validator(mode="after")
    def _span(self) -> FeedbackIn:
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end go together: give both or neither")
        if self.start is not None:
            if self.end < self.start:
                raise ValueError(f"end ({self.end}) is before start ({self.start})")
            if self.doc_id is None or self.answer is None:
                raise ValueError("start and end locate the answer in a document: they need doc_id and answer")
        return self


class FeedbackOut(BaseModel):
    id: int
    question: str
    answer: str | None
    helpful: bool
    comment: str | None
    doc_id: str | None
    start: int | None
    end: int | None
    created_at: str = Field(..., description="When it was stored (UTC, ISO 8601).")


class FeedbackList(BaseModel):
    total: int
    limit: int
    offset: int
    feedback: list[FeedbackOut] = Field(..., description="Newest first.")
