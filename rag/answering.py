"""Extractive answers: pick the best-supported sentence among the retrieved passages, or abstain."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rag.documents import Answer, Citation, Passage, Span
from rag.store import Index, bm25_tokens

NO_ANSWER_MESSAGE = "The documents do not answer this question with enough confidence."
MIN_SENTENCE_WORDS = 4


@dataclass(slots=True)
class SentenceCandidate:
    sentence_number: int
    sentence: Span
    passage: Passage
    similarity: float
    overlap: float
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Logistic map from the candidate's score to a probability that the answer is right."""

    slope: float = 12.0
    intercept: float = -6.0

    def __call__(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.slope * score + self.intercept)))


class AnswerExtractor:
    def __init__(self, index: Index, min_confidence: float = 0.35, confidence: ConfidenceModel = ConfidenceModel()):
        self.index = index
        self.min_confidence = min_confidence
        self.confidence = confidence

    def candidates(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> list[SentenceCandidate]:
        """Every sentence of the passages once, with its similarity and term overlap with the question."""
        seen: dict[int, Passage] = {}
        for passage in passages:
            for n in range(passage.chunk.first_sentence, passage.chunk.last_sentence):
                if n not in seen or passage.score > seen[n].score:
                    seen[n] = passage
        numbers = [n for n in seen if self._sentence_words(n) >= MIN_SENTENCE_WORDS] or list(seen)
        if not numbers:
            return []
        texts = [self.sentence_text(n) for n in numbers]
        similarities = self.index.sentence_vectors[numbers] @ query_vector if self.index.sentence_vectors is not None \
            else np.array([seen[n].dense_score for n in numbers])
        question_terms = set(bm25_tokens([question])[0])
        sentence_terms = bm25_tokens(texts)
        return [
            SentenceCandidate(
                sentence_number=n,
                sentence=self.index.sentences[n],
                passage=seen[n],
                similarity=float(similarity),
                overlap=len(question_terms & set(terms)) / len(question_terms) if question_terms else 0.0,
            )
            for n, similarity, terms in zip(numbers, similarities, sentence_terms)
        ]

    def sentence_text(self, n: int) -> str:
        s = self.index.sentences[n]
        return self.index.document(s.doc_id).text[s.start:s.end]

    def _sentence_words(self, n: int) -> int:
        return len(self.sentence_text(n).split())

    def run(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> Answer:
        candidates = self.candidates(question, query_vector, passages)
        for c in candidates:
            c.score = 0.55 * c.similarity + 0.25 * c.overlap + 0.2 * c.passage.score
        if not candidates:
            return Answer(question, None, 0.0, [], passages, message=NO_ANSWER_MESSAGE)
        best = max(candidates, key=lambda c: c.score)
        confidence = self.confidence(best.score)
        if confidence < self.min_confidence:
            return Answer(question, None, confidence, [], passages, message=NO_ANSWER_MESSAGE)
        citation = self.citation(best.sentence, best.passage)
        return Answer(question, citation.text, confidence, [citation], passages, sentence=citation)

    def citation(self, span: Span, passage: Passage) -> Citation:
        document = self.index.document(span.doc_id)
        return Citation(document.doc_id, document.title, passage.chunk.chunk_id, span.start, span.end,
                        document.text[span.start:span.end])
