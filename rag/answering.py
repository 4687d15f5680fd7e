"""Extractive answers: rank the sentences of the retrieved passages, cut the exact span with a reader,
pool the evidence for each distinct answer, and abstain when the calibrated confidence is too low."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.documents import Answer, Citation, Passage, Span
from rag.reader import (
    AnswerType,
    HeuristicReader,
    Reader,
    SentenceInput,
    SpanAnswer,
    answer_type,
    asked_nouns,
    content_stems,
)
from rag.store import Index, bm25_tokens
from rag.text import normalize_answer

NO_ANSWER_MESSAGE = "The documents do not answer this question with enough confidence."
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
MIN_SENTENCE_WORDS = 4
# What a sentence loses for stating another year or ordinal than the question asks about.
CONTRADICTION_PENALTY = 0.4
_STATEMENT_END = re.compile(r"[.!;:)\]\"'\u201d\u2019]$")


# The two countries, and the capitals that stand for their governments ("Delhi and Tokyo signed ...").
_COMMON_NAMES = frozenset({"india", "japan", "indian", "japanese", "india-japan", "japan-india", "tokyo", "delhi",
                           "new delhi"})
# "When was X signed, and when did Y start?" asks twice; an answer answers one of the asks.
_NEXT_ASK = re.compile(r", and (?=(?:(?:on|in|at|by|for|from|to|until) )?(?:when|who|whom|what|which|where|how|why)\b)",
                       re.IGNORECASE)
_YEAR = re.compile(r"(?<![\w.,])(?:FY)?((?:1[89]|20)\d\d)\b(?![.,]\d)")
_ORDINALS = re.compile(r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))\b",
                       re.IGNORECASE)


def _asks(question: str) -> list[str]:
    return [ask for ask in _NEXT_ASK.split(question) if ask.strip()]


def _specifics(ask: str) -> list[str]:
    """An ask's numbers, ordinals and names (not its first word, not India or Japan themselves)."""
    found = []
    for word in re.findall(r"New Delhi|[A-Za-z0-9][\w+-]*", ask)[1:]:
        if word.lower() in _COMMON_NAMES:
            continue
        if word[0].isupper() or any(c.isdigit() for c in word) or _ORDINALS.fullmatch(word):
            found.append(word)
    return found


def _share_missing(specifics: list[str], context: str) -> float:
    return sum(s.lower() not in context for s in specifics) / len(specifics) if specifics else 0.0


# In a question, "before 2000" bounds a time rather than naming one, and "first" is as often "for the first time"
# as a rank.
_BOUND_YEAR = re.compile(r"\b(?:before|after|since|until|by|prior to|from|between) (?:FY)?(?:1[89]|20)\d\d\b",
                         re.IGNORECASE)
_FIRST = re.compile(r"\bfirst\b", re.IGNORECASE)


def _times(pattern: re.Pattern, text: str) -> set[str]:
    return {m.lower() for m in pattern.findall(text)}


def _years_and_ordinals(text: str) -> tuple[set[str], set[str]]:
    return _times(_YEAR, text), _times(_ORDINALS, text)


class AskedTimes:
    """The years and ordinals each ask of a question names, read once per question and held against each
    sentence."""

    def __init__(self, question: str):
        self.asks = [_years_and_ordinals(_FIRST.sub("", _BOUND_YEAR.sub("", ask))) for ask in _asks(question)]

    def contradicted_by(self, sentence: str) -> bool:
        """The sentence states another year or ordinal than every ask names: "in 2014" asked of a sentence about
        2025, "the 17th Dialogue" of one about the 18th."""
        stated = _years_and_ordinals(sentence)
        return all(any(asked and said and not asked & said for asked, said in zip(ask, stated)) for ask in self.asks)

    def confirmed_by(self, sentence: str) -> bool:
        """The sentence states a year or ordinal the question names."""
        stated = _years_and_ordinals(sentence)
        return any(asked & said for ask in self.asks for asked, said in zip(ask, stated))


def is_statement(text: str) -> bool:
    """A sentence that can answer: not a heading, not a question, not a fragment."""
    return len(text.split()) >= MIN_SENTENCE_WORDS and not text.endswith("?") and bool(_STATEMENT_END.search(text))


@dataclass(slots=True)
class SentenceCandidate:
    sentence_number: int
    sentence: Span
    passage: Passage
    similarity: float
    overlap: float
    contradicts: bool = False
    score: float = 0.0
    span: SpanAnswer | None = None


@dataclass(slots=True)
class AnswerGroup:
    """One distinct answer and every sentence that gave it."""

    members: list[SentenceCandidate] = field(default_factory=list)
    # Documents of other retrieved passages that state the answer too.
    also_stated_in: set[str] = field(default_factory=set)

    @property
    def best(self) -> SentenceCandidate:
        return max(self.members, key=lambda c: c.score)

    @property
    def support(self) -> int:
        return len({m.passage.chunk.doc_id for m in self.members} | self.also_stated_in)


@dataclass(slots=True)
class Ranking:
    """Distinct answers, best first. `closest_contradicts`: the sentence that matches the question best, before
    the contradiction penalty, states another year or ordinal than asked, and the answering sentence does not
    state the asked one. The text is then likely about another edition of what is asked ("the 2017 summit" asked
    of documents on the 2018 one), even when the answer comes from a sentence that names no year."""

    groups: list[AnswerGroup]
    closest_contradicts: bool = False

    @property
    def best(self) -> AnswerGroup:
        return self.groups[0]

    @property
    def runner_up(self) -> float:
        """The second answer's score: the margin feature measures the best answer against it."""
        return self.groups[1].best.score if len(self.groups) > 1 else 0.0


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """Logistic regression from answer features to P(answer is right), fitted on the gold set
    (`python -m rag.evaluation.calibration` writes rag/calibration.json); `threshold` is the abstention cut
    chosen there."""

    weights: tuple[float, ...] = (1.5, 0.0, 0.1, 1.5, 2.0, 1.0, 1.0, -1.0)
    bias: float = -4.0
    threshold: float = 0.5

    FEATURES = ("score", "typed", "log_support", "margin", "overlap", "similarity", "idf_coverage",
                "specifics_missing", "another_year_or_ordinal", "counted_noun_missing")

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> ConfidenceModel:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(tuple(data["weights"]), data["bias"], data["threshold"])

    def __call__(self, features: list[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


class AnswerExtractor:
    # Sentence ranking weights: a grid search on eval/gold.jsonl for the best answer F1 (0.64 -> 0.66).
    SIMILARITY, OVERLAP, PASSAGE, SPAN = 0.4, 0.4, 0.4, 0.8
    READ_TOP = 8

    def __init__(self, index: Index, reader: Reader | None = None, confidence: ConfidenceModel | None = None,
                 min_confidence: float | None = None):
        self.index = index
        self.reader = reader or HeuristicReader()
        self.confidence = confidence or ConfidenceModel.load()
        self.min_confidence = self.confidence.threshold if min_confidence is None else min_confidence

    def sentence_text(self, n: int) -> str:
        s = self.index.sentences[n]
        return self.index.document(s.doc_id).text[s.start:s.end]

    def candidates(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> list[SentenceCandidate]:
        """Every sentence of the passages once, scored by similarity, term overlap and its passage's score."""
        seen: dict[int, Passage] = {}
        for passage in passages:
            for n in range(passage.chunk.first_sentence, passage.chunk.last_sentence):
                if n not in seen or passage.score > seen[n].score:
                    seen[n] = passage
        numbers = [n for n in seen if is_statement(self.sentence_text(n))] or list(seen)
        if not numbers:
            return []
        if self.index.sentence_vectors is not None:
            similarities = self.index.sentence_vectors[numbers] @ query_vector
        else:
            similarities = np.array([seen[n].dense_score for n in numbers])
        terms = content_stems(question)
        asked_times = AskedTimes(question)
        candidates = []
        for n, similarity in zip(numbers, similarities):
            text = self.sentence_text(n)
            overlap = len(terms & content_stems(text)) / len(terms) if terms else 0.0
            candidate = SentenceCandidate(n, self.index.sentences[n], seen[n], float(similarity), overlap,
                                          asked_times.contradicted_by(text))
            candidate.score = (self.SIMILARITY * candidate.similarity + self.OVERLAP * overlap
                               + self.PASSAGE * seen[n].score - CONTRADICTION_PENALTY * candidate.contradicts)
            candidates.append(candidate)
        return candidates

    def read(self, question: str, candidates: list[SentenceCandidate]) -> list[SentenceCandidate]:
        """Run the reader on the best sentences; a typed span adds to its sentence's score."""
        top = sorted(candidates, key=lambda c: c.score, reverse=True)[:self.READ_TOP]
        inputs = []
        for c in top:
            entities = self.index.entities_in(c.sentence)
            document = self.index.document(c.sentence.doc_id)
            inputs.append(SentenceInput(c.sentence.doc_id, c.sentence.start, self.sentence_text(c.sentence_number),
                                        tuple(entities), tuple(self.index.entity_rarity(document.text[e.start:e.end])
                                                               for e in entities)))
        for candidate, span in zip(top, self.reader.run(question, inputs)):
            candidate.span = span
            if span is not None and span.typed:
                candidate.score += self.SPAN * span.score
        return sorted(top, key=lambda c: c.score, reverse=True)

    def rank(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> Ranking:
        candidates = self.candidates(question, query_vector, passages)
        if not candidates:
            return Ranking([])
        closest = max(candidates, key=lambda c: c.score + CONTRADICTION_PENALTY * c.contradicts)
        groups = self._group(self.read(question, candidates), passages)
        groups.sort(key=lambda g: g.best.score + 0.05 * math.log(g.support), reverse=True)
        answering_sentence = self.sentence_text(groups[0].best.sentence_number)
        return Ranking(groups, closest.contradicts and not AskedTimes(question).confirmed_by(answering_sentence))

    def run(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> Answer:
        ranking = self.rank(question, query_vector, passages)
        if not ranking.groups:
            return Answer(question, None, 0.0, [], passages, message=NO_ANSWER_MESSAGE)
        confidence = self.confidence(self.features(question, ranking))
        if confidence < self.min_confidence:
            return Answer(question, None, confidence, [], passages, message=NO_ANSWER_MESSAGE)
        top = ranking.best.best
        sentence = self.citation(top.sentence, top.passage)
        span = top.span
        answer = sentence if span is None else self.citation(Span(top.sentence.doc_id, span.start, span.end),
                                                             top.passage)
        return Answer(question, answer.text, confidence, [sentence], passages, sentence=sentence, span=answer)

    def features(self, question: str, ranking: Ranking) -> list[float]:
        """What the confidence is computed from; the last four catch on-topic questions the text doesn't answer:
        rare question terms missing from the answering sentence, and the numbers and names of every ask of the
        question missing from the answering passage (an ask with all of them there scores 0); a closest
        sentence that states another year or ordinal than asked (see Ranking); and an answering sentence that
        never names what a "How many ...?" counts ("How many reactors ...?" answered from a sentence about
        companies)."""
        group = ranking.best
        top = group.best
        typed = 1.0 if top.span is not None and top.span.typed else 0.0
        sentence = self.sentence_text(top.sentence_number)
        terms = bm25_tokens([question])[0]
        sentence_terms = set(bm25_tokens([sentence])[0])
        weights = [self.index.term_idf(t) for t in terms]
        covered = sum(w for t, w in zip(terms, weights) if t in sentence_terms) / sum(weights) if terms else 0.0
        context = (top.passage.text + " " + top.passage.title).lower()
        missing = min(_share_missing(_specifics(ask), context) for ask in _asks(question))
        counted = asked_nouns(question) if answer_type(question) is AnswerType.COUNT else frozenset()
        uncounted = len(counted - content_stems(sentence)) / len(counted) if counted else 0.0
        return [top.score, typed, math.log(group.support), top.score - ranking.runner_up, top.overlap, top.similarity,
                covered, missing, float(ranking.closest_contradicts), uncounted]

    def _group(self, candidates: list[SentenceCandidate], passages: list[Passage]) -> list[AnswerGroup]:
        """Merge candidates whose answers normalize alike (or one contains the other); support counts the
        passages that also state the answer."""
        groups: list[tuple[str, AnswerGroup]] = []
        for candidate in candidates:
            text = candidate.span.text if candidate.span else self.sentence_text(candidate.sentence_number)
            key = normalize_answer(text)
            for existing_key, group in groups:
                if key == existing_key or (candidate.span and key and existing_key and
                                           (key in existing_key or existing_key in key)):
                    group.members.append(candidate)
                    break
            else:
                groups.append((key, AnswerGroup([candidate])))
        for key, group in groups:
            if group.best.span is not None and key:
                pattern = re.compile(re.escape(group.best.span.text), re.IGNORECASE)
                group.also_stated_in = {p.chunk.doc_id for p in passages if pattern.search(p.text)}
        return [group for _, group in groups]

    def citation(self, span: Span, passage: Passage) -> Citation:
        document = self.index.document(span.doc_id)
        return Citation(document.doc_id, document.title, passage.chunk.chunk_id, span.start, span.end,
                        document.text[span.start:span.end])
