"""The data that flows through the pipeline. Offsets are [start, end) into Document.text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str = "folder"  # "folder" (the corpus directory) or "upload" (the documents API)
    added_at: str | None = None  # when this version entered the collection (ISO 8601, UTC)


@dataclass(slots=True, frozen=True)
class Span:
    """A piece of a document: a sentence or a chunk."""

    doc_id: str
    start: int
    end: int


@dataclass(slots=True, frozen=True)
class Chunk(Span):
    chunk_id: str
    # Indices into the store's sentence table: sentences[first_sentence:last_sentence].
    first_sentence: int
    last_sentence: int


@dataclass(slots=True)
class Passage:
    chunk: Chunk
    title: str
    text: str
    score: float
    dense_score: float = 0.0
    lexical_score: float = 0.0


@dataclass(slots=True)
class Citation:
    doc_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    text: str


@dataclass(slots=True)
class Answer:
    question: str
    answer: str | None
    confidence: float
    citations: list[Citation]
    passages: list[Passage]
    message: str | None = None
    # The sentence that holds the answer, and the answer's own span inside it (equal when no shorter span fits).
    sentence: Citation | None = None
    span: Citation | None = None
