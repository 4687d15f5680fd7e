"""Readers cut the exact answer out of a sentence.

`HeuristicReader` types the question (who, when, where, how much, how many, which, what-is, why) and picks a
typed span found at index time (rag.annotation), scored by type match, closeness to the question's terms,
and not repeating the question; for untyped questions it takes the longest clause that the question does
not already say. `TransformersReader` uses a local Hugging Face extractive-QA model instead.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import Stemmer

from rag.annotation import DAY_OF_MONTH, MONTH_NAMES, EntitySpan

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9$%.,'/-]*[A-Za-z0-9%]|[A-Za-z0-9]")

STOP_WORDS = frozenset(
    """
a an the and or but of to in on at by for from with as into onto over under about after before between
during is are was were be been being am do does did has have had having will would shall should can
could may might must it its this that these those there their they them he she his her him we our us you
your i me my which what who whom whose when where why how than then so such not no nor also only very
just both each either up out off any all some more most much many other same own too s t
""".split()
)
QUESTION_WORDS = frozenset(
    """
what which who whom whose when where why how
""".split()
)
# Words that lead into an answer clause without being part of it ("is made up of | Australia, India, ...").
LEAD_VERBS = frozenset(
    """
made make makes called named known include includes included including consist consists consisted
comprise comprises comprised cover covers covered covering mean means meant refer refers stand stands
aim aims aimed seek seeks sought set sets agreed decided launched described describe describes said says
became become
""".split()
)
CLAUSE_LEAD = STOP_WORDS | LEAD_VERBS
_LIST_VERBS = LEAD_VERBS | {"is", "are", "was", "were"}


class AnswerType(Enum):
    PERSON = "person"
    DATE = "date"
    PLACE = "place"
    MONEY = "money"
    PERCENT = "percent"
    COUNT = "count"
    QUANTITY = "quantity"
    ORGANIZATION = "organization"
    NAMED = "named"  # which/what + a noun + a verb: any named thing
    THING = "thing"  # what/which + a noun otherwise ("What venue hosted ..."): any typed span, else a clause
    DEFINITION = "definition"
    REASON = "reason"
    DESCRIPTION = "description"
    ROLE = "role"  # "What post did X hold?", "What position does X play?": the title before X's name


LABELS_FOR: dict[AnswerType, frozenset[str]] = {
    AnswerType.PERSON: frozenset({"PERSON"}),
    AnswerType.DATE: frozenset({"DATE", "TIME"}),
    AnswerType.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    AnswerType.MONEY: frozenset({"MONEY"}),
    AnswerType.PERCENT: frozenset({"PERCENT"}),
    AnswerType.COUNT: frozenset({"CARDINAL", "QUANTITY"}),
    # "How long" asks for a length or a duration ("17 years" is a DATE to spaCy).
    AnswerType.QUANTITY: frozenset({"QUANTITY", "CARDINAL", "MONEY", "PERCENT", "DATE"}),
    AnswerType.ORGANIZATION: frozenset({"ORG", "NORP"}),
    AnswerType.NAMED: frozenset(
        {"ORG", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "FAC", "PERSON", "GPE", "LOC", "NORP", "LANGUAGE"}
    ),
}
# SQuAD's "what + noun" answers are mostly typed spans of some kind: any label fits better than a clause, and a
# name better than a number or a date, which "how many" and "what year" ask for.
_NUMBERS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL"})
LABELS_FOR[AnswerType.THING] = frozenset().union(*LABELS_FOR.values()) - _NUMBERS
_MEASURE_NOUN = re.compile(r"\b(?:numbers?|ratings?|scores?|dates?|years?|temperatures?|population|ages?|ranks?|"
                           r"ranking|totals?|figures?|rates?|records?)\b")

# Labels that may answer too, for less: spaCy's small model often swaps person, place and organization
# labels, and "How much of the tunnel ...?" may take a measure ("about 7 km") as well as a share.
_NAMES = LABELS_FOR[AnswerType.NAMED] - {"NORP"}
FALLBACK_LABELS: dict[AnswerType, frozenset[str]] = {
    AnswerType.PERSON: _NAMES, AnswerType.PLACE: _NAMES, AnswerType.ORGANIZATION: _NAMES,
    AnswerType.PERCENT: frozenset({"QUANTITY", "CARDINAL"}),
    AnswerType.THING: _NUMBERS,
}
# Without a fitting typed span, these take the longest clause the question doesn't say.
_CLAUSE_TYPES = frozenset({AnswerType.NAMED, AnswerType.THING, AnswerType.ORGANIZATION, AnswerType.DEFINITION,
                           AnswerType.REASON, AnswerType.DESCRIPTION, AnswerType.ROLE})

# Patterns see the lower-cased question; see answer_type for which match wins.
_TYPE_RULES: tuple[tuple[AnswerType, re.Pattern], ...] = tuple(
    (t, re.compile(p))
    for t, p in (
        (AnswerType.ROLE, r"\b(what|which) (post|position|title|office|role|job)s?\b"),
        (
            AnswerType.PERCENT,
            r"\b(what|which) (interest |growth |tax |tariff )?(percentage|percent|share|proportion|"
            r"fraction|rate)\b|\bhow much of\b",
        ),
        (
            AnswerType.DATE,
            r"\bwhen\b|\b(what|which|in what|in which|on what|on which) (year|date|dates|day|month|decade)\b"
            r"|\bwhat (were|was|are|is) the (dates?|years?|day|month)\b|\bby when\b|\bsince when\b",
        ),
        (
            AnswerType.COUNT,
            r"\bhow many\b|\b(what|which) (number|count)\b|\bwhat (is|was|were) the (total )?number of\b",
        ),
        (
            AnswerType.MONEY,
            r"\bhow much\b|\b(what|which) (amount|sum|value|cost|price|budget|investment|loan|target)\b"
            r"|\bhow (large|big) (a |an |the |(was|were|is|are) the )?([a-z-]+ ){0,3}(loan|investment|target|"
            r"amount|sum|grant|budget|package)s?\b"
            r"|\bwhat (is|was|were|are) the ([a-z-]+ ){0,2}(cost|price|value|budget|amount)\b",
        ),
        (
            AnswerType.QUANTITY,
            r"\bhow (long|far|fast|high|tall|big|large|wide|deep|heavy|old)\b|\bwhat (period|length of time)\b"
            r"|\b(what|which) (speed|length|distance|capacity|size|height)\b"
            r"|\bwhat (is|was) the ([a-z-]+ ){0,2}(speed|length|distance|capacity|size|height)\b",
        ),
        (
            AnswerType.PLACE,
            r"\bwhere\b|\b(what|which|in what|in which|at what|at which) (city|cities|country|countries|"
            r"state|states|prefecture|prefectures|place|places|region|port|venue|town|location|island|"
            r"district|capital)\b",
        ),
        (
            AnswerType.ORGANIZATION,
            r"\b(what|which) ([a-z-]+ ){0,2}(company|companies|firm|firms|organi[sz]ations?|"
            r"agency|agencies|banks?|ministry|ministries|body|bodies|institutions?|universit(y|ies)|"
            r"trading house|corporations?|operators?|manufacturers?|maker|makers|business federation)\b",
        ),
        (
            AnswerType.PERSON,
            r"^(who|whom|whose)\b|\b(who|whom|whose)\b|\b(what|which) (japanese |indian |former |then )?"
            r"(prime minister|minister|leader|official|person|people|president|ambassador|envoy|"
            r"foreign minister|emperor|chief)s?\b",
        ),
        (
            AnswerType.REASON,
            r"^why\b|\bwhy\b|\bfor what (reason|purpose)\b|\bwhat (was|is) the (reason|purpose|aim|goal)\b",
        ),
        (
            AnswerType.NAMED,
            r"^(what|which) (is|are|was|were) the names? of\b"
            r"|^([^,]*, )?(what|which) [^,]* (called|named|known as)\b",  # "What is the subsidiary called?"
        ),
        # "What was the Friendship Year commemorating?" asks what something was doing, not what it is; "What did
        # they recommit to when they met?" asks what they did, not when.
        (AnswerType.DESCRIPTION, r"^(what|who) (is|are|was|were) (an? |the )?(?!an? |the )\S+ (\S+ )*[a-z]+ing\??$"
                                 r"|^what (did|does|do|will|would|has|have|had)\b(?!.* (mean|stand for)\b)"),
        (
            AnswerType.DEFINITION,
            r"^(what|who) (is|are|was|were) (an? |the )?[^ ]+( [^ ]+){0,5}\??$|\bwhat does .* "
            r"(mean|stand for)\b|\bdefine\b|\bwhat is meant by\b",
        ),
        (
            AnswerType.NAMED,
            r"^(which|what) [a-z-]+( [a-z-]+)? (did|does|do|was|were|is|are|has|have|will)\b"
            r"|^(in|on|at|under|from) (which|what)\b",
        ),
        (
            AnswerType.THING,
            r"^(what|which) (?!(is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b)",
        ),
    )
)


def answer_type(question: str) -> AnswerType:
    """The rule matching earliest in the question wins: the leading wh-phrase, not a later "when" clause."""
    q = " ".join(question.lower().replace("?", " ").split())
    matches = [
        (m.start(), order, kind) for order, (kind, pattern) in enumerate(_TYPE_RULES) if (m := pattern.search(q))
    ]
    kind = min(matches)[2] if matches else AnswerType.DESCRIPTION
    # Case tells a name from a common noun, unless the whole question is typed in lower case.
    cased = question != question.lower()
    if cased and _COMMON_NOUN_SUBJECT.match(question.strip()) and (
        kind is AnswerType.DEFINITION or (kind is AnswerType.DESCRIPTION and not _WORDING_NOUN.search(question))
    ):
        return AnswerType.THING
    return kind


# "What was the final score?", "What is Warsaw's symbol?" ask for a thing, not for a definition of a name
# ("What is the Act East Forum?") or of a term ("What is a currency swap?").
# "What is the term for ...?", "What was Tesla's attitude to ...?" ask for wording, not for a named thing.
_WORDING_NOUN = re.compile(r"\b(?:term|name|word|phrase|theory|idea|attitude|reason|purpose|role|effect|result|"
                           r"difference|meaning|view|opinion)s?\b", re.IGNORECASE)
_COMMON_NOUN_SUBJECT = re.compile(r"(?i:what) (?:is|are|was|were) (?:the [a-z]|(?!the\b|an?\b)[a-z]|[A-Z][\w-]*'s\b)")


def words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each word of a text; numbers keep their inner dots and commas."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def content_stems(text: str) -> set[str]:
    return {
        _STEMMER.stemWord(w.lower())
        for _, _, w in words(text)
        if w.lower() not in STOP_WORDS and w.lower() not in QUESTION_WORDS
    }


@dataclass(frozen=True, slots=True)
class SentenceInput:
    """A sentence the reader may cut an answer from; offsets are into its document."""

    doc_id: str
    start: int
    text: str
    entities: tuple[EntitySpan, ...] = ()
    # Per entity, 1 when its name is rare in the collection, 0 when every document has it.
    rarity: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class SpanAnswer:
    start: int  # document offsets
    end: int
    text: str
    score: float  # in [0, 1]: how well the span fits the question
    typed: bool  # a span of the expected answer type


class Reader(Protocol):
    name: str

    def run(self, question: str, sentences: list[SentenceInput]) -> list[SpanAnswer | None]:
        """The best span of each sentence, or None where the reader finds none."""


# A date answer names a year, a month or a day: what spaCy also tags DATE ("later years", "second day") does not.
_MONTH = rf"(?:{MONTH_NAMES})"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATED = re.compile(rf"\d|\b(?:{_MONTH}|{_WEEKDAY}|century|centuries)\b", re.IGNORECASE)
_ASKS_DURATION = re.compile(r"\bhow long\b|\bwhat (?:period|length of time)\b")
# "On what date ...?" asks for a day: "10 September 2020", not "2020" or "September 2020".
_ASKS_DAY = re.compile(r"\b(?:what|which) (?:date|day)\b")
_NAMES_DAY = re.compile(rf"\b{DAY_OF_MONTH} {_MONTH}\b|\b{_MONTH} \d{{1,2}}(?!\d)|\b{_WEEKDAY}\b")
_NUMBER_WORDS = {w: n for n, w in enumerate("two three four five six seven eight nine ten eleven twelve".split(), 2)}
# "How long ...?" takes a stretch of time ("five years", "a month", "1870 to 1939"), not a point in it.
_DURATION = re.compile(
    rf"(?:\d|\b(?:an?|one|{'|'.join(_NUMBER_WORDS)}|several|few|many)\b)[\w -]{{0,12}}?"
    r"\b(?:years?|months?|weeks?|days?|decades?|hours?|minutes?|century|centuries)\b|\d\s*(?:to|until|-|\u2013)\s*\d",
    re.IGNORECASE,
)
_CAUSAL = frozenset({"because", "after", "since", "as", "so"})
_AMOUNTS = frozenset({"MONEY", "QUANTITY", "CARDINAL", "PERCENT"})
_APPROXIMATE = re.compile(r"\b(?:about|around|approximately|nearly|almost|roughly|some|over|more than|less than|"
                          r"up to|at least) $", re.IGNORECASE)
_WORD_AFTER = re.compile(r" ([a-z][a-z-]+)\b")
_ASKS_NATIONALITY = re.compile(r"\b(?:nationality|nationalities|ethnic|ethnicity|language|religion|religious|origin)\b")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,7}")
_SHORT_NAME = re.compile(r"\s*\(([A-Z][A-Za-z0-9-]{1,9})\)")
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{3,80})[\"\u201d]")
_AUXILIARY = frozenset("did does do was were is are has have had will would can could should may might".split())
_NOT_PLURAL = frozenset("does was has is this its his as us yes plus thus".split())
_ARTICLES = frozenset({"the", "a", "an"})
_MAX_ITEM_WORDS = 8
_PREDICATE_END = re.compile(
    r"[;]|, (?:and|which|who|whose|where|while|giving|held|but|with|on which|as|after|"
    r"before|so|usually|whereas|although|making|including|[a-z]+ed)\b|\.$"
)


def is_list_question(question: str) -> bool:
    """Asks for several things: "Which countries ...", "Who were ...", "Name the ..."."""
    q = question.lower().strip()
    if re.match(r"^(who|what) (were|are)\b|^(name|list) ", q):
        return True
    m = re.match(r"^(?:(?:in|on|at|from|under|with|between|among) )?(?:which|what)((?: [a-z-]+){1,4})", q)
    if not m:
        return False
    for word in m.group(1).split():
        if word in _AUXILIARY or word in _ARTICLES:
            return False  # the asked phrase ended: "What coach left the Broncos?" asks for one coach
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word not in _NOT_PLURAL:
            return True
    return False


def _asked_acronym(question: str) -> str | None:
    m = re.search(
        r"\b(?i:what (?:does|did|do) (?:the )?|what (?:is|are|was) (?:the )?)([A-Z][A-Z0-9]{1,7})\b", question
    )
    return m.group(1) if m else None


def _expansion(text: str, acronym: str) -> tuple[int, int] | None:
    """Where a text that uses an acronym spells it out: Supply Chain Resilience Initiative (SCRI)."""
    return _spelled_out(text, acronym) if acronym in text else None


def _spelled_out(text: str, acronym: str) -> tuple[int, int] | None:
    """A run of capitalized words that spells the acronym: Japan-India Maritime Exercise (JIMEX), Japan-India AI
    Cooperation Initiative (JAI), Indian Air Force (IAF)."""
    best = None
    for run in re.finditer(r"[A-Z][\w-]*(?: (?:(?:of|for|and|the|on|in|to) ){0,2}[A-Z][\w-]*)+", text):
        pieces = list(re.finditer(r"[A-Z][\w-]*", run.group()))
        for first in range(len(pieces)):  # "The India-Japan Comprehensive ..." may start mid-run
            start = run.start() + pieces[first].start()
            candidate = text[start : run.end()]
            initials = "".join(p[0] for m in pieces[first:] for p in m.group().split("-") if p[:1].isupper())
            if candidate == acronym or initials[:1] != acronym[0] or len(pieces) - first > len(acronym) + 2:
                continue
            if _subsequence(acronym, initials) or (
                _subsequence(initials, acronym) and _subsequence(acronym.lower(), candidate.lower())
            ):
                if best is None or run.end() - start > best[1] - best[0]:
                    best = (start, run.end())
                break
    return best


def _subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(ch in letters for ch in needle)


def _lead_verb_end(text: str, start: int, end: int) -> int | None:
    """Where a list starts after the last verb leading into it in text[start:end] ("covers | A, B", "were |
    A, B", "is made up of | A, B")."""
    found = None
    for m in re.finditer(r"[A-Za-z-]+", text[start:end]):
        word = m.group().lower()
        if word in _LIST_VERBS:
            found = start + m.end() + 1
        elif found is not None and start + m.start() == found and word in STOP_WORDS:
            found = start + m.end() + 1  # particles and articles after the verb: "made up of | A"
    return found if found is not None and found < end else None


def _tail_start(text: str, start: int, end: int) -> int:
    """Where the first item of an enumeration begins: after the verb leading into the list ("covers | joint
    research on models, ..."), else after the last link word before it."""
    lead = _lead_verb_end(text, start, end)
    if lead is not None and len(text[lead:end].split()) <= _MAX_ITEM_WORDS:
        return lead
    pieces = list(re.finditer(r"\S+", text[start:end]))
    first = len(pieces)
    for piece in reversed(pieces):
        word = piece.group().lower().strip("\"'(")
        if word in _ARTICLES:
            first -= 1
            break
        if word in CLAUSE_LEAD or first <= len(pieces) - _MAX_ITEM_WORDS:
            break
        first -= 1
    return start + pieces[first].start() if first < len(pieces) else end


def _enumeration(text: str, terms: set[str]) -> tuple[int, int] | None:
    """The longest "A, B, C and D" list in a sentence that is not the question's own words; items with commas of
    their own are parted by semicolons ("A; B, C and D; and E")."""
    best = None
    for conj in re.finditer(r"([,;])? (?:and|or) ", text):
        separator = conj.group(1) or ","
        items: list[tuple[int, int]] = []
        end = conj.start()
        while True:
            comma = max(text.rfind(f"{separator} ", 0, end), text.rfind(": ", 0, end), text.rfind("; ", 0, end))
            start = comma + 2 if comma >= 0 else 0
            if comma >= 0 and text[comma] == ":" and len(text[start:end].split()) <= _MAX_ITEM_WORDS:
                items.insert(0, (start, end))  # a colon opens the list: "four fields: research and development, ..."
                break
            if (comma < 0 or text[comma] != separator or len(text[start:end].split()) > _MAX_ITEM_WORDS
                    or _lead_verb_end(text, start, end) is not None):
                items.insert(0, (_tail_start(text, start, end), end))
                break
            items.insert(0, (start, end))
            end = comma
        if items[0][0] >= items[0][1]:
            continue
        after = conj.end()
        stop = re.search(rf"[{separator};:](?:\s|$)|\.(?:\s|$)|$", text[after:]).start() + after
        last_words = list(re.finditer(r"\S+", text[after:stop]))
        if not last_words:
            continue
        names = all(w[:1].isupper() or w[:1].isdigit() or w in _ARTICLES for s, e in items for w in text[s:e].split())
        count = 0
        for w in last_words:
            token = w.group()
            if names and not (token[:1].isupper() or token[:1].isdigit() or token[:1] == "(" or token in _ARTICLES):
                break
            count += 1
            if count >= _MAX_ITEM_WORDS:
                break
        if count == 0:
            continue
        span = (items[0][0], after + last_words[count - 1].end())
        if content_stems(text[span[0] : span[1]]) <= terms:
            continue
        if best is None or span[1] - span[0] > best[1] - best[0]:
            best = span
    return best


_ITEM_BREAK = re.compile(r",? (?:and|or) |, ")


def _asked_count(question: str) -> int | None:
    """How many things the question asks for, when it says: "Which three documents ...?" -> 3."""
    m = re.search(r"\b(?:which|what)(?: (?:are|were) the)? (\w+)", question.lower())
    if not m:
        return None
    word = m.group(1)
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)


def _item_counts(listed: str) -> tuple[int, int]:
    """The fewest and most items a list may have: "A, B and C" has three, or two if "B and C" is one thing
    ("technology and innovation")."""
    breaks = _ITEM_BREAK.findall(listed)
    inner = sum(1 for b in breaks if b == " and ")
    return len(breaks) + 1 - inner, len(breaks) + 1


def _list_fit(labels: frozenset[str], sentence: SentenceInput, start: int, end: int) -> float:
    """How well a list answers a question asking for people, places, dates or numbers: by the share of its items
    that open with a name of the asked kind ("Which ministers ...?": "Marco Rubio of the United States, ...",
    not "held between the Tokyo summit ... and ...")."""
    starts = {e.start - sentence.start for e in sentence.entities if e.label in labels}
    items = _ITEM_BREAK.split(sentence.text[start:end])
    named, offset = 0, start
    for item in items:
        offset = sentence.text.index(item, offset)
        article = re.match(r"(?:the|an?) ", item)
        named += (offset + (article.end() if article else 0)) in starts or offset in starts
        offset += len(item)
    return 0.6 + 0.4 * named / len(items)


def _predicate(text: str, tokens, stems, terms) -> tuple[int, int] | None:
    """For "What is X?": what follows the first "is/are/means" after X is named, up to the clause's end."""
    subject_end = next((e for (s, e, _), stem in zip(tokens, stems) if stem in terms), None)
    if subject_end is None:
        return None
    copula = re.compile(r"\b(?:is|are|was|were|means|refers to|stands for)\s").search(text, subject_end)
    if copula is None:
        return None
    start = copula.end()
    end_match = _PREDICATE_END.search(text, start)
    end = end_match.start() if end_match else len(text)
    end = len(text[:end].rstrip(" ,;:."))
    return (start, end) if len(text[start:end].split()) >= 2 else None


@dataclass(frozen=True, slots=True)
class _Asked:
    """What the reader takes from a question, once for all its sentences."""

    kind: AnswerType
    terms: set[str]
    question: str  # lower-cased
    acronym: str | None
    listing: bool
    nouns: frozenset[str]
    counted: frozenset[str]  # for a count, what every ask names: "How many Indians ..., and how many people ...?"
    items: int | None  # how many things a list question asks for: "What are the eight directions ...?" -> 8
    wants_day: bool  # "On what date ...?"
    wants_duration: bool  # "How long ...?", "Over what period ...?"
    original: str  # as asked, in its own case
    names: frozenset[str]  # the first four letters of its capitalized words: "India" matches "Indian"
    labels: frozenset[str] | None  # the entity labels that answer it
    wants_nationality: bool  # "What nationality ...?": a nationality answers alone

    @classmethod
    def of(cls, question: str) -> _Asked:
        kind, lower = answer_type(question), question.lower()
        labels = LABELS_FOR.get(kind)
        if kind is AnswerType.THING and _MEASURE_NOUN.search(lower):
            labels = labels | _NUMBERS  # "What was the patent number?", "What was his quarterback rating?"
        counted = asked_nouns(question, every_ask=True) if kind is AnswerType.COUNT else frozenset()
        return cls(kind, content_stems(question), lower, _asked_acronym(question), is_list_question(question),
                   asked_nouns(question), counted, _asked_count(question),
                   wants_day=kind is AnswerType.DATE and bool(_ASKS_DAY.search(lower)),
                   wants_duration=kind is AnswerType.QUANTITY and bool(_ASKS_DURATION.search(lower)),
                   original=question,
                   names=frozenset(w[:4].lower() for w in re.findall(r"\b[A-Z][a-z]+", question)[1:]),
                   labels=labels, wants_nationality=bool(_ASKS_NATIONALITY.search(lower)))


def asked_nouns(question: str, every_ask: bool = False) -> frozenset[str]:
    """Stems of the words naming what is asked for: "How many solo tackles did ..." -> {solo, tackl}; of the first
    ask, or of every ask ("How many Indians ..., and how many people ...?")."""
    nouns = []
    for m in re.finditer(r"\b(?:which|what|how many|how much)((?: [\w-]+){1,3})", question.lower()):
        for word in m.group(1).split():
            if word in STOP_WORDS or word in _AUXILIARY:
                break
            nouns.append(_STEMMER.stemWord(word))
        if not every_ask:
            break
    return frozenset(nouns)


def _surname(name: str) -> str | None:
    """The stem of a person's family name: "Jawaharlal Nehru's" -> "nehru"; none for "Duke William II"."""
    last = name.split()[-1].removesuffix("'s").removesuffix("\u2019s")
    if re.fullmatch(r"[IVX]+|Jr\.?|Sr\.?", last) or not last[:1].isupper():
        return None
    return _STEMMER.stemWord(last.lower())


def _modified_noun_end(label: str, asked: _Asked, text: str, end: int) -> int:
    """A modifier answers together with the noun it qualifies: "What animal ...?" -> "Indian elephant" (a nationality
    alone answers only a question about nationality), "Which anniversary ...?" -> "75th anniversary"."""
    noun = _WORD_AFTER.match(text, end)
    if noun is None or noun.group(1) in STOP_WORDS:
        return end
    if label == "NORP" and asked.kind in (AnswerType.THING, AnswerType.NAMED) and not asked.wants_nationality:
        return noun.end()
    if label == "ORDINAL" and _STEMMER.stemWord(noun.group(1)) in asked.nouns:
        return noun.end()
    return end


def _followed_by(text: str, tokens, stems, positions: list[int], words: Set[str], reach: int = 3) -> bool:
    """One of the words comes within a few words after the span, in the same phrase: "five | solo tackles"."""
    if not words or not positions:
        return False
    for i in range(positions[-1] + 1, min(positions[-1] + 1 + reach, len(tokens))):
        if re.search(r"[,;:()]", text[tokens[i - 1][1]:tokens[i][0]]):
            return False
        if stems[i] in words:
            return True
    return False


# A clause break (";", ", and", ", which" ...) counts as this many words of distance: the question's words in the
# next clause say little about a span ("killed on 8 July 2022, and India declared mourning ... on 9 July 2022").
_CLAUSE_GAP = 8
_CLAUSE_LINKS = frozenset({"and", "but", "while", "whereas", "which", "who"})


def _clause_numbers(text: str, tokens) -> list[int]:
    """Each word's clause in the sentence, counting from 0."""
    numbers, clause = [], 0
    for i, (start, _, word) in enumerate(tokens):
        gap = text[tokens[i - 1][1]:start] if i else ""
        if ";" in gap or ("," in gap and word.lower() in _CLAUSE_LINKS):
            clause += 1
        numbers.append(clause)
    return numbers


def _closeness(stems: list[str], anchors: list[int], positions: list[int], default: int, clauses: list[int]) -> float:
    """How near a span sits to the question's words in its sentence, in (0, 1]: mostly to the nearest one, partly
    to all of them (the mean over each question word the sentence has), so of two spans equally near one word
    the one among more of the question's words wins. Words in another clause count as further away."""
    nearest: dict[str, int] = {}
    for a in anchors:
        d = min((abs(a - p) + _CLAUSE_GAP * abs(clauses[a] - clauses[p]) for p in positions), default=default)
        nearest[stems[a]] = min(nearest.get(stems[a], d), d)
    if not nearest:
        return 1 / (1 + default / 4)
    closest = 1 / (1 + min(nearest.values()) / 4)
    spread = sum(1 / (1 + d / 4) for d in nearest.values()) / len(nearest)
    return 0.7 * closest + 0.3 * spread


def _qualifier(sentence: SentenceInput, start: int, end: int) -> str | None:
    """The nationality of a name: right before it past at most two title words ("Indian Ambassador | Sibi George"),
    or its country right after it ("S. Jaishankar | of India")."""
    for e in sentence.entities:
        e_start, e_end = e.start - sentence.start, e.end - sentence.start
        if e.label == "NORP" and e_end <= start:
            between = sentence.text[e_end:start]
            title = between.split()
            if len(title) <= 2 and all(w[:1].isupper() for w in title) and not re.search(r"[,;:()]", between):
                return sentence.text[e_start:e_end]
        if e.label == "GPE" and re.fullmatch(r" of (?:the )?", sentence.text[end:e_start]):
            return sentence.text[e_start:e_end]
    return None


def _title_of_asked_person(asked: _Asked, sentence: SentenceInput, tokens) -> tuple[int, int] | None:
    """The words right before the name of a person the question names, up to a function word, punctuation or
    another name: "Foreign Secretary | S. Jaishankar", "Broncos | linebacker | Von Miller"."""
    named = [(e.start - sentence.start, e.end - sentence.start) for e in sentence.entities]
    for start, end in named:
        if _surname(sentence.text[start:end]) not in asked.terms:
            continue
        title_start = start
        for word_start, word_end, word in reversed([t for t in tokens if t[1] <= start]):
            inside_a_name = any(s <= word_start < e for s, e in named)
            title_word = word.isalpha() and word.lower() not in STOP_WORDS and not inside_a_name
            if sentence.text[word_end:title_start] != " " or not title_word:
                break
            title_start = word_start
        if title_start < start:
            return title_start, start - 1
    return None


def _span(sentence: SentenceInput, start: int, end: int, score: float) -> SpanAnswer:
    return SpanAnswer(sentence.start + start, sentence.start + end, sentence.text[start:end], score, True)


class HeuristicReader:
    name = "heuristic"

    def run(self, question: str, sentences: list[SentenceInput]) -> list[SpanAnswer | None]:
        asked = _Asked.of(question)
        return [self._read(asked, s) for s in sentences]

    def _read(self, asked: _Asked, sentence: SentenceInput) -> SpanAnswer | None:
        kind, terms = asked.kind, asked.terms
        tokens = words(sentence.text)
        stems = [_STEMMER.stemWord(w.lower()) for _, _, w in tokens]
        if asked.acronym:
            expansion = _expansion(sentence.text, asked.acronym)
            if expansion:
                return _span(sentence, *expansion, 0.9)
        labels = asked.labels
        listed = None
        if asked.listing:
            enumeration = _enumeration(sentence.text, terms)
            if enumeration:
                # A list of another length than asked for is likely not the one asked about.
                fewest, most = _item_counts(sentence.text[slice(*enumeration)])
                length_fit = 1.0 if asked.items is None or fewest <= asked.items <= most else 0.6
                if kind in _CLAUSE_TYPES:
                    return _span(sentence, *enumeration, length_fit)  # topics, areas, names: any list answers
                listed = _span(sentence, *enumeration, length_fit * _list_fit(labels, sentence, *enumeration))
        if kind is AnswerType.ROLE and (title := _title_of_asked_person(asked, sentence, tokens)):
            return _span(sentence, *title, 0.8)
        if kind is AnswerType.DEFINITION:
            predicate = _predicate(sentence.text, tokens, stems, terms)
            if predicate:
                # "X is a bilateral group ..." defines X; "X is to deal with ..." says what it is for.
                noun_phrase = re.match(r"(?:an?|the)\s", sentence.text[predicate[0]:])
                return _span(sentence, *predicate, 0.7 if noun_phrase else 0.6)
        if labels:
            typed = self._typed_span(asked, sentence, tokens, stems)
            best = max((s for s in (listed, typed) if s is not None), key=lambda s: s.score, default=None)
            if best is not None:
                return best
        if kind in _CLAUSE_TYPES:
            return self._clause(sentence, tokens, stems, terms, kind is AnswerType.REASON)
        return None  # a date, number or name was asked for and the sentence has none: quote it whole

    def _typed_span(self, asked: _Asked, sentence: SentenceInput, tokens, stems) -> SpanAnswer | None:
        labels, fallback = asked.labels, FALLBACK_LABELS.get(asked.kind, frozenset())
        terms, nouns = asked.terms, asked.nouns
        anchors = [i for i, stem in enumerate(stems) if stem in terms]
        clauses = _clause_numbers(sentence.text, tokens)
        # Only a number is told by the noun after it; "the year 2024" is no better an answer than "2024".
        counting = asked.kind in (AnswerType.COUNT, AnswerType.QUANTITY)
        best: SpanAnswer | None = None
        best_score = 0.0  # uncapped: of two spans past the cap, the better one still wins
        entities = list(sentence.entities)
        rarity = list(sentence.rarity or (1.0,) * len(entities))
        if asked.kind in (AnswerType.THING, AnswerType.NAMED):  # a quoted phrase names a thing: a "teleforce" weapon
            quoted = [EntitySpan(sentence.start + m.start(1), sentence.start + m.end(1), "WORK_OF_ART")
                      for m in _QUOTED.finditer(sentence.text)]
            entities += quoted
            rarity += [1.0] * len(quoted)
        for entity, rare in zip(entities, rarity):
            if entity.label not in labels and entity.label not in fallback:
                continue
            text = sentence.text[entity.start - sentence.start : entity.end - sentence.start]
            if asked.kind is AnswerType.DATE and not _DATED.search(text):
                continue  # "about five years", "the same year" do not say when
            if asked.wants_duration and not (entity.label == "QUANTITY" or _DURATION.search(text)):
                continue  # "How long ...?" asks for a stretch of time or a length: not "20 July 2023", "2008", "four"
            vague = asked.wants_day and not _NAMES_DAY.search(text)
            entity_stems = content_stems(text)
            if (entity_stems and entity_stems <= terms) or text.lower() in asked.question:
                continue  # the question already says it
            if entity.label == "PERSON" and _surname(text) in terms:
                continue  # "Jawaharlal Nehru" is the "Nehru" the question names
            short = _SHORT_NAME.match(sentence.text, entity.end - sentence.start)
            if short and _STEMMER.stemWord(short.group(1).lower()) in terms:
                continue  # "Japan Aerospace Exploration Agency (JAXA)" is the "JAXA" the question names
            if _ACRONYM.fullmatch(text) and _spelled_out(asked.original, text):
                continue  # "IAF" is the "Indian Air Force" the question names
            # The asked noun inside a name is no repeat but a type match: "Which Super Bowl" -> "Super Bowl XX";
            # not in a span of a fallback label ("Which minister" -> a person, not "Minister of Finance").
            primary = entity.label in labels
            named_as_asked = primary and bool(entity_stems & nouns)
            repeated = len((entity_stems & terms) - nouns) / len(entity_stems) if entity_stems else 0.0
            local_start = entity.start - sentence.start
            positions = [i for i, (s, e, _) in enumerate(tokens) if s >= local_start and e <= local_start + len(text)]
            if entity.label == "NORP" and _followed_by(sentence.text, tokens, stems, positions, terms, reach=1):
                continue  # "an Indian | elephant" for "the elephant Nehru gave": it qualifies what the question says
            base = 0.4 if primary else 0.2
            qualifier = _qualifier(sentence, local_start, local_start + len(text)) if primary else None
            if qualifier is not None:
                base += 0.25 * (qualifier[:4].lower() in asked.names)
            score = base + 0.4 * _closeness(stems, anchors, positions, len(tokens), clauses) + 0.2 * rare - 0.6 * repeated
            if counting and _followed_by(sentence.text, tokens, stems, positions, asked.counted or nouns):
                score += 0.3  # "How many tackles?": "five solo tackles", not the 2.5 sacks beside it
            score += 0.2 * named_as_asked - 0.2 * vague
            if best is None or score > best_score:
                best_score = score
                start = entity.start
                if entity.label in _AMOUNTS and (lead := _APPROXIMATE.search(sentence.text, 0, local_start)):
                    start = sentence.start + lead.start()  # "about 7 km": the sentence does not say exactly 7
                end = sentence.start + _modified_noun_end(entity.label, asked, sentence.text, entity.end - sentence.start)
                best = SpanAnswer(start, end, sentence.text[start - sentence.start:end - sentence.start],
                                  round(min(score, 1.0), 4), True)
        return best

    def _clause(self, sentence: SentenceInput, tokens, stems, terms, reason: bool = False) -> SpanAnswer | None:
        """The longest run of words the question does not contain, without its leading link words."""
        best_run: tuple[int, int] | None = None
        best_len = 0
        run_start = None
        for i in range(len(tokens) + 1):
            inside = i < len(tokens) and stems[i] not in terms
            if inside and run_start is None:
                run_start = i
            if not inside and run_start is not None:
                first, last = run_start, i - 1
                while first <= last and tokens[first][2].lower() in CLAUSE_LEAD and not (
                        reason and tokens[first][2].lower() in _CAUSAL):  # "Why ...?": "after the summit was moved"
                    first += 1
                while last >= first and tokens[last][2].lower() in STOP_WORDS:
                    last -= 1
                size = sum(1 for k in range(first, last + 1) if tokens[k][2].lower() not in STOP_WORDS)
                if size > best_len:
                    best_run, best_len = (first, last), size
                run_start = None
        if best_run is None or best_len < 2 or best_len >= sum(1 for s in stems if s not in terms):
            return None  # nothing shorter than the sentence itself
        start, end = tokens[best_run[0]][0], tokens[best_run[1]][1]
        text = sentence.text[start:end]
        coverage = len(terms & set(stems)) / len(terms) if terms else 0.0
        return SpanAnswer(sentence.start + start, sentence.start + end, text, round(0.3 + 0.4 * coverage, 4), False)


class TransformersReader:
    """A Hugging Face extractive-QA model from a local path (no download), used instead of the heuristic."""

    def __init__(self, model_path: str, max_answer_tokens: int = 30):
        import torch
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from rag.embedding import ModelNotAvailable

        self.name = f"transformers:{model_path}"
        self._torch = torch
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
            self._model = AutoModelForQuestionAnswering.from_pretrained(model_path, local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise ModelNotAvailable(
                f"cannot load the reader model {model_path!r} (RAG_READER_MODEL) offline: {exc}"
            ) from exc
        self.max_answer_tokens = max_answer_tokens

    def run(self, question: str, sentences: list[SentenceInput]) -> list[SpanAnswer | None]:
        if not sentences:
            return []
        encoded = self._tokenizer(
            [question] * len(sentences),
            [s.text for s in sentences],
            truncation="only_second",
            max_length=256,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping")
        with self._torch.no_grad():
            output = self._model(
                **{k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            )
        start_probs = output.start_logits.softmax(-1)
        end_probs = output.end_logits.softmax(-1)
        answers: list[SpanAnswer | None] = []
        for row, sentence in enumerate(sentences):
            context = [i for i, seq in enumerate(encoded.sequence_ids(row)) if seq == 1]
            best, best_score = None, 0.0
            for i in context:
                for j in context:
                    if j < i or j - i >= self.max_answer_tokens:
                        continue
                    score = float(start_probs[row, i] * end_probs[row, j])
                    if score > best_score:
                        best, best_score = (int(offsets[row, i, 0]), int(offsets[row, j, 1])), score
            if best is None or best[1] <= best[0]:
                answers.append(None)
                continue
            answers.append(
                SpanAnswer(
                    sentence.start + best[0],
                    sentence.start + best[1],
                    sentence.text[best[0] : best[1]],
                    round(best_score, 4),
                    True,
                )
            )
        return answers


def make_reader(model_path: str | None) -> Reader:
    return TransformersReader(model_path) if model_path else HeuristicReader()
