"""Extractive answers: the trained span reader reads the best retrieved passages, spans from every passage
compete on one score, answers that several passages give are merged, and a calibrated confidence decides
whether to answer at all.

Everything that decides an answer is learned: the span scores come from the reader (rag.span_model), the
confidence from a logistic model fitted on the gold dev split (rag.evaluation.calibration). What is left by
hand is mechanics: offsets, trimming a span's stray punctuation, keeping a span inside one line of the
document, and joining the items of an enumeration that the reader scores alike ("Alice and Bob" for "Who
founded ...?").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.documents import Answer, Citation, Passage, Span
from rag.index import Index, bm25_tokens
from rag.span_model import ScoredSpan
from rag.text import normalize_answer

NO_ANSWER_MESSAGE = "The documents do not answer this question with enough confidence."
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
# Chosen on the gold dev split (scripts/tune_answering.py): how far below the best span an enumeration's other
# items may score and still join it, and what a passage's fused retrieval score adds to a span's logit score.
LIST_MARGIN = 3.0
PASSAGE_WEIGHT = 5.0
# Spans the reader may offer per window: enough to find the other items of an enumeration.
SPANS_PER_WINDOW = 12
# What lies between two items of an enumeration.
_ITEM_GAP = re.compile(r"\s*(?:,|;|/|&|,?\s+(?:and|or)\b)\s*")
_EDGE_PUNCTUATION = ".,;:!?"
_PAIRS = {"(": ")", "[": "]", '"': '"', "\u201c": "\u201d", "'": "'", "\u2018": "\u2019"}
# A question's term counts as specific (a name, a number) unless most chunks hold it: idf below log 2.
_COMMON_IDF = math.log(2)


@dataclass(slots=True)
class Candidate:
    """One span the reader proposed, in document offsets."""

    passage: Passage
    passage_rank: int
    start: int
    end: int
    text: str
    score: float
    no_answer: float


@dataclass(slots=True)
class AnswerGroup:
    """One distinct answer and every span that gave it."""

    members: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate:
        return max(self.members, key=lambda c: c.score)

    @property
    def support(self) -> int:
        return len({m.passage.chunk.doc_id for m in self.members})


@dataclass(slots=True)
class Ranking:
    """Distinct answers, best first."""

    groups: list[AnswerGroup]

    @property
    def best(self) -> AnswerGroup:
        return self.groups[0]

    @property
    def margin(self) -> float:
        """The best answer's score over the runner-up's (another answer)."""
        return self.groups[0].best.score - self.groups[1].best.score if len(self.groups) > 1 else 10.0


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Logistic regression from answer features to P(answer is right), fitted on the gold dev split
    (`python -m rag.evaluation.calibration` writes rag/calibration.json); `threshold` is the abstention cut
    chosen there."""

    weights: tuple[float, ...] = (0.3, 0.3, 0.3, 0.5, 1.0, 0.0, 2.0, 1.0, -1.0)
    bias: float = -6.0
    threshold: float = 0.5

    FEATURES = ("score", "over_no_answer", "margin", "log_support", "passage_score", "passage_rank",
                "sentence_similarity", "idf_coverage", "specifics_missing")

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> ConfidenceModel:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        if tuple(data.get("features", ())) != cls.FEATURES:
            return cls()  # fitted for other features: refit with python -m rag.evaluation.calibration
        return cls(tuple(data["weights"]), data["bias"], data["threshold"])

    def __call__(self, features: list[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop punctuation and unpaired brackets or quotes at a span's edges ("1889." -> "1889")."""
    while end > start:
        piece = text[start:end]
        last, first = piece[-1], piece[0]
        if last in _EDGE_PUNCTUATION or last.isspace():
            end -= 1
        elif first.isspace() or first in ",;:":
            start += 1
        elif first in _PAIRS and _PAIRS[first] not in piece[1:]:
            start += 1
        elif last in _PAIRS.values() and not any(o in piece[:-1] for o, c in _PAIRS.items() if c == last):
            end -= 1
        else:
            break
    return start, end


class AnswerExtractor:
    def __init__(self, index: Index, reader, confidence: ConfidenceModel | None = None,
                 min_confidence: float | None = None, read_passages: int = 2, list_margin: float = LIST_MARGIN,
                 passage_weight: float = PASSAGE_WEIGHT):
        self.index = index
        self.reader = reader
        self.confidence = confidence or ConfidenceModel.load()
        self.min_confidence = self.confidence.threshold if min_confidence is None else min_confidence
        self.read_passages = read_passages
        self.list_margin = list_margin
        self.passage_weight = passage_weight

    def candidates(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """The reader's spans over the first `read_passages` passages, in document offsets, each span once."""
        read = passages[:self.read_passages]
        spans = self.reader.read(question, [p.text for p in read], SPANS_PER_WINDOW)
        by_passage: dict[int, list[ScoredSpan]] = {}
        for span in spans:
            by_passage.setdefault(span.context, []).append(span)
        best: dict[tuple[str, int, int], Candidate] = {}
        for rank, found in by_passage.items():
            passage = read[rank]
            for span in self._join_enumerations(passage.text, found):
                start, end = trim(passage.text, span.start, span.end)
                if end <= start or "\n" in passage.text[start:end]:
                    continue  # an answer does not run from a heading or paragraph into the next
                offset = passage.chunk.start
                key = (passage.chunk.doc_id, offset + start, offset + end)
                if key not in best or span.score > best[key].score:
                    best[key] = Candidate(passage, rank, key[1], key[2], passage.text[start:end], span.score,
                                          span.no_answer)
        return sorted(best.values(), key=lambda c: -c.score)

    def _join_enumerations(self, text: str, spans: list[ScoredSpan]) -> list[ScoredSpan]:
        """The best span of a passage, widened over the neighbouring spans the reader scores within
        `list_margin` of it when only an enumeration's commas and "and"s lie between them; the rest as they
        are. SQuAD-style readers pick one item of a list, while "Who founded ...?" wants every founder."""
        top = max(spans, key=lambda s: s.score)
        near = sorted((s for s in spans if s.score >= top.score - self.list_margin), key=lambda s: s.start)
        start, end = top.start, top.end
        grown = True
        while grown:
            grown = False
            for s in near:
                if s.end <= start and _ITEM_GAP.fullmatch(text[s.end:start]):
                    start, grown = s.start, True
                elif s.start >= end and _ITEM_GAP.fullmatch(text[end:s.start]):
                    end, grown = s.end, True
        if (start, end) == (top.start, top.end):
            return spans
        return [ScoredSpan(top.context, start, end, top.score, top.no_answer), *spans]

    def rank(self, question: str, passages: list[Passage]) -> Ranking:
        groups: list[tuple[str, AnswerGroup]] = []
        for candidate in self.candidates(question, passages):
            key = normalize_answer(candidate.text)
            for existing, group in groups:
                if key == existing or (key and existing and (key in existing or existing in key)):
                    group.members.append(candidate)
                    break
            else:
                groups.append((key, AnswerGroup([candidate])))
        ranked = [g for _, g in groups]
        # The reader's score, plus the retrieval score of the passage that says it (weight chosen on the dev
        # split), plus a small, fixed bonus per extra document that gives the same answer.
        ranked.sort(key=lambda g: max(c.score + self.passage_weight * c.passage.score for c in g.members)
                    + 0.5 * math.log(g.support), reverse=True)
        return Ranking(ranked)

    def sentence_of(self, candidate: Candidate) -> tuple[int, Span]:
        """The sentence (or run of sentences) of the candidate's passage that holds it."""
        chunk = candidate.passage.chunk
        numbers = range(chunk.first_sentence, chunk.last_sentence)
        first = next((n for n in numbers if self.index.sentences[n].end > candidate.start), numbers[0])
        last = next((n for n in numbers if self.index.sentences[n].end >= candidate.end), numbers[-1])
        sentences = self.index.sentences
        return first, Span(chunk.doc_id, min(sentences[first].start, candidate.start),
                           max(sentences[last].end, candidate.end))

    def run(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> Answer:
        ranking = self.rank(question, passages)
        if not ranking.groups:
            return Answer(question, None, 0.0, [], passages, message=NO_ANSWER_MESSAGE)
        confidence = self.confidence(self.features(question, query_vector, ranking))
        if confidence < self.min_confidence:
            return Answer(question, None, confidence, [], passages, message=NO_ANSWER_MESSAGE)
        top = ranking.best.best
        _, sentence_span = self.sentence_of(top)
        sentence = self.citation(sentence_span, top.passage)
        answer = self.citation(Span(top.passage.chunk.doc_id, top.start, top.end), top.passage)
        return Answer(question, answer.text, confidence, [sentence], passages, sentence=sentence, span=answer)

    def features(self, question: str, query_vector: np.ndarray, ranking: Ranking) -> list[float]:
        """What the confidence is computed from: the reader's own scores (the span's, over its window's
        no-answer score, over the runner-up answer), agreement across documents, retrieval (the passage's fused
        score and rank), and how much of the question the answering sentence covers: its embedding similarity,
        the IDF-weighted share of the question's terms it holds, and the share of the question's specific terms
        (names, numbers: terms most chunks lack) missing from the passage."""
        group = ranking.best
        top = group.best
        number, sentence_span = self.sentence_of(top)
        document = self.index.document(sentence_span.doc_id)
        sentence = document.text[sentence_span.start:sentence_span.end]
        similarity = float(self.index.sentence_vectors[number] @ query_vector) \
            if self.index.sentence_vectors is not None else top.passage.dense_score
        terms = bm25_tokens([question])[0]
        sentence_terms = set(bm25_tokens([sentence])[0])
        weights = [self.index.term_idf(t) for t in terms]
        covered = sum(w for t, w in zip(terms, weights) if t in sentence_terms) / sum(weights) if terms else 0.0
        passage_terms = set(bm25_tokens([top.passage.text + " " + top.passage.title])[0])
        specific = [t for t in specific_terms(question) if self.index.term_idf(t) >= _COMMON_IDF]
        missing = sum(t not in passage_terms for t in specific) / len(specific) if specific else 0.0
        return [top.score, top.score - top.no_answer, min(ranking.margin, 10.0), math.log(group.support),
                top.passage.score, 1.0 / (1 + top.passage_rank), similarity, covered, missing]

    def citation(self, span: Span, passage: Passage) -> Citation:
        document = self.index.document(span.doc_id)
        return Citation(document.doc_id, document.title, passage.chunk.chunk_id, span.start, span.end,
                        document.text[span.start:span.end])


_SPECIFIC_WORD = re.compile(r"\b(?:[A-Z][\w-]*|\w*\d[\w-]*)")


def specific_terms(question: str) -> list[str]:
    """The BM25 terms of the question's names and numbers: capitalized words after the first word, and words
    with digits."""
    words = _SPECIFIC_WORD.findall(question.split(maxsplit=1)[1] if " " in question else "")
    return [t for w in words for t in bm25_tokens([w])[0]]
