"""Follow-up questions made standalone without a language model.

A chat turn like "And when was it signed?" cannot be searched on its own. FollowUpResolver rewrites the last user
message into a standalone question using the earlier user turns, with a few deterministic rules:

1. No earlier user turn, or the question stands on its own: returned unchanged.
2. Topic switch ("What about the city tramway?", "And Norway?", "How about in 2018?"): the new name or lone phrase
   replaces the previous question's focus phrase (a year replaces its year), and the previous question is asked again.
3. Personal pronouns (it, they, them, he, she, him; its, their, his, her): the first one is replaced by the previous
   question's focus phrase ("Who financed it?" -> "Who financed the city tramway?"); the previous question's other
   phrases are carried along in parentheses.
4. A bare question word ("And when?", "Where exactly?", "In which year?"): it replaces the question word that opens the
   previous question ("When did X open?" + "And where?" -> "Where did X open?").
5. Other follow-ups (demonstratives "that"/"this", "there", a leading "and"/"also"/"what about" with other words,
   or at most two content words and no name or year of its own): the previous question's phrases are appended in
   parentheses ("Who signed?" -> "Who signed (the partner-city agreement)?").

The previous turn is itself resolved first, so a chain of follow-ups keeps its topic. The "focus" of a question is its
longest noun phrase (a capitalized run such as "Kyoto and Varanasi", or a phrase opened by the/a/an or a possessive
name), the later one on ties; a subject stops before its verb ("When did the North-South rail loan agreement come
into force?"). When the previous user question has no phrase at all, the previous assistant message supplies them. A
rewrite with a dangling article or hyphen falls back to the user's own words with the previous phrases in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
CONTEXT_SUFFIX = re.compile(r"\s*\(([^()]*)\)\s*([?.!]*)\s*$")

AUXILIARIES = frozenset("is are was were be been being am do does did has have had will would shall should can could "
                        "may might must".split())
DO_AUXILIARIES = AUXILIARIES - frozenset("is are was were be been being am".split())
QUESTION_WORDS = frozenset("what when where which who whom whose why how".split())
HOW_MODIFIERS = frozenset("much many long far old often big large soon".split())
QUESTION_NOUNS = frozenset("year years date day month time".split())
PERSONAL_PRONOUNS = frozenset("it they them he she him".split())
POSSESSIVE_PRONOUNS = frozenset("its their his her".split())
PERSONS = frozenset("he she him his her".split())
DEMONSTRATIVES = frozenset("this that these those".split())
DETERMINERS = frozenset("the a an".split())
PREPOSITIONS = frozenset("in on at of for to from by with about into over under between among during after before "
                         "since until against through within without per via as than".split())
CONJUNCTIONS = frozenset("and or but nor so yet also then".split())
OTHER_STOP_WORDS = frozenset("not no yes please tell me us you i we my our your more other else any some all each "
                             "every exactly here there just only very really ok okay know explain describe give show list "
                             "say said".split())
LEADING_CONNECTIVES = ("and what about", "and how about", "what about", "how about", "what of", "and", "also", "but",
                       "so", "then", "ok", "okay")
# Words that join two capitalized words into one name: "Ministry of External Affairs", "Kyoto and Varanasi".
NAME_CONNECTORS = frozenset("of and for on de & the".split())
# "Is it true that ...": an "it" that refers to nothing.
DUMMY_IT_FOLLOWERS = frozenset("true possible likely known said reported expected necessary important".split())
# Irregular participles, and adjectives that end a question the same way: "When was X laid?", "When is X due?".
PARTICIPLES = frozenset("built held made done given taken written begun run set put paid sent won signed laid meant "
                        "known found led shown chosen spent kept left lost met sold told seen due worth".split())
# Adverbs next to the verb of an inverted question: "did the two premiers ride together", "did the drill first involve".
ADVERBS = frozenset("first together again ever never finally jointly formally officially eventually".split())
# Verbs often followed by a bare one-word object: "take effect", "send volunteers", "start service".
OBJECT_VERBS = frozenset("come go take make get gain win lose reach send start begin receive provide seek bring "
                         "keep".split())
MONTHS = frozenset("january february march april may june july august september october november december".split())
# Never the bare verb after do/will/can: "volunteers", "according", "proposed" (but "discuss", "bring", "need" may be).
NOT_BARE = re.compile(r".{2,}[^sui]s|.{4,}ing|.{2,}[^e]ed")
# What a rewrite must not contain: "the?", "North- (", "and?", "the the".
DANGLING = re.compile(r"(?:\b(?:the|a|an|and|or)|[-–—])\s*(?:[,;:?!.()]|$)|\b(?:the|a|an)\s+(?:the|a|an)\b")
YEAR = re.compile(r"^(1[5-9]\d\d|20\d\d|21\d\d)$")

BREAKERS = (AUXILIARIES | QUESTION_WORDS | PERSONAL_PRONOUNS | POSSESSIVE_PRONOUNS | DEMONSTRATIVES | DETERMINERS
            | PREPOSITIONS | CONJUNCTIONS | OTHER_STOP_WORDS)
NOT_CONTENT = BREAKERS | HOW_MODIFIERS | QUESTION_NOUNS
VERB_FOLLOWERS = (DETERMINERS | PERSONAL_PRONOUNS | POSSESSIVE_PRONOUNS | DEMONSTRATIVES | ADVERBS
                  | PREPOSITIONS - {"of"})


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def base(self) -> str:
        """Lower-cased, without a possessive 's."""
        return re.sub(r"['’]s$", "", self.lower)

    @property
    def capitalized(self) -> bool:
        return self.text[0].isupper() or (any(c.isdigit() for c in self.text) and any(c.isalpha() for c in self.text))

    @property
    def number(self) -> bool:
        return self.text.isdigit()


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str
    content: tuple[str, ...]  # lower-cased content words
    position: int
    capitalized: bool

    @property
    def date(self) -> bool:
        """"30 August 2014", "2014": context worth carrying, but not what "it" refers to."""
        return all(w in MONTHS or w.isdigit() for w in self.content)


@dataclass(slots=True)
class Analysis:
    """A question split into tokens, with its noun phrases and the parenthesized context it may carry."""

    text: str  # without the carried context
    tokens: list[Token]
    phrases: list[Phrase]
    context: list[Phrase] = field(default_factory=list)

    @property
    def focus(self) -> Phrase | None:
        candidates = [p for p in self.phrases if not p.date] or self.phrases
        return max(candidates, key=lambda p: (len(p.content), p.position), default=None)


@dataclass(frozen=True, slots=True)
class Resolution:
    question: str  # the last user message, as given (stripped)
    standalone: str  # what to search
    rule: str  # first-turn, standalone, substitution, pronoun, question-word, context or fallback

    @property
    def readable(self) -> bool:
        """A question a person would write, fit to show; not when search terms were put in parentheses."""
        return self.rule not in ("context", "fallback") and ("(" not in self.standalone or "(" in self.question)


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def _gap(text: str, tokens: list[Token], k: int) -> bool:
    """Whether punctuation separates token k from token k - 1."""
    return bool(re.search(r"[,;:?!.()\"“”]", text[tokens[k - 1].end:tokens[k].start]))


def noun_phrases(text: str, tokens: list[Token] | None = None) -> list[Phrase]:
    """Capitalized runs ("Kyoto and Varanasi") and phrases opened by the/a/an or a possessive name ("Acme's bid").

    The subject of an inverted question loses the verb that follows it: in "When did the freight corridor open?" the
    phrase is "the freight corridor"; "When was the stone of the bridge laid?" has "the stone" and "the bridge".
    """
    tokens = tokenize(text) if tokens is None else tokens
    phrases: list[Phrase] = []
    subject: tuple[str, int] | None = None  # (auxiliary, last index) of a subject that a preposition may continue
    i = 0
    while i < len(tokens):
        token = tokens[i]
        determiner = token.lower in DETERMINERS and i + 1 < len(tokens) and not _gap(text, tokens, i + 1) and (
            tokens[i + 1].lower not in BREAKERS)
        name = token.capitalized and not (i == 0 and token.lower in NOT_CONTENT) and token.lower not in DETERMINERS
        if not determiner and not name:
            i += 1
            continue
        end = i
        k = i + 1
        while k < len(tokens) and not _gap(text, tokens, k):
            word = tokens[k]
            inside_name = tokens[end].capitalized or tokens[end].number
            determiner = determiner or (inside_name and tokens[end].text.endswith(("'s", "’s")))
            if word.capitalized or (word.number and inside_name):
                end = k
            elif (word.lower in NAME_CONNECTORS and inside_name and k + 1 < len(tokens)
                  and not _gap(text, tokens, k + 1)
                  and (tokens[k + 1].capitalized or (word.lower == "of" and tokens[k + 1].lower == "the"))):
                k += 1
                continue
            elif determiner and word.lower not in BREAKERS:
                end = k
            else:
                break
            k += 1
        while end > i + 1 and tokens[end].lower in ADVERBS:  # "the two premiers ride together"
            end -= 1
        before = tokens[i - 1].lower if i else ""
        auxiliary = before if before in AUXILIARIES else (
            subject[0] if subject and before in PREPOSITIONS and subject[1] == i - 2 else None)
        length = _subject_length(tokens[i:end + 1], auxiliary, tokens[end + 1] if end + 1 < len(tokens) else None)
        subject = (auxiliary, end) if auxiliary and i + length - 1 == end else None
        end = i + length - 1
        while end > i + 1 and tokens[end].lower in ADVERBS:  # "did the drill first involve", "was it first signed"
            end -= 1
        run = tokens[i:end + 1]
        content = tuple(t.base for t in run if t.lower not in DETERMINERS and t.lower not in NAME_CONNECTORS)
        if content:
            phrases.append(Phrase(text[run[0].start:run[-1].end], content, run[0].start,
                                  any(t.capitalized for t in run if t.lower not in NOT_CONTENT)))
        i = end + 1
    return phrases


def _subject_length(run: list[Token], auxiliary: str | None, following: Token | None) -> int:
    """How many tokens of a phrase are left once its verb is cut off, when it is the subject after an auxiliary.

    After do/will/can...: the subject runs up to the bare main verb, hyphenated words and names included ("When did
    the North-South rail loan agreement come into force?"). The verb is the word before a trailing name, a verb
    with a one-word object ("take effect"), the word before a trailing plural or -ing ("carry passengers"), or else
    the last word when the end, an object or a preposition other than "of" follows ("When did the plant open?").
    After is/was: a trailing participle ("When was the agreement signed?").
    """
    if auxiliary is None or len(run) == 1:
        return len(run)
    if auxiliary not in DO_AUXILIARIES:
        last = run[-1].lower
        participle = not run[-1].capitalized and (last.endswith("ed") or last in PARTICIPLES)
        return len(run) - 1 if participle and len(run) > 2 else len(run)
    first = 1 if run[0].lower in DETERMINERS else 0
    last = len(run) - 1
    words = [j for j in range(first + 1, last + 1) if not run[j].capitalized and run[j].lower not in NAME_CONNECTORS]
    verbs = [j for j in words if j >= last - 1 and run[j].lower in OBJECT_VERBS]
    ends = following is None or following.number or following.lower in VERB_FOLLOWERS
    if not words:
        return len(run)
    if words[-1] < last or verbs:
        return words[-1] if words[-1] < last else verbs[-1]
    if ends and NOT_BARE.fullmatch(run[last].lower) and last - 1 in words and not NOT_BARE.fullmatch(run[-2].lower):
        return last - 1
    return last if ends and not NOT_BARE.fullmatch(run[last].lower) else len(run)


def analyse(text: str) -> Analysis:
    context: list[Phrase] = []
    match = CONTEXT_SUFFIX.search(text)
    if match:
        for part in match.group(1).split(","):
            context.extend(noun_phrases(part.strip()) or [])
        text = text[:match.start()] + match.group(2)
    text = text.strip()
    tokens = tokenize(text)
    return Analysis(text, tokens, noun_phrases(text, tokens), context)


def strip_connective(text: str) -> str:
    lowered = text.lower()
    for connective in LEADING_CONNECTIVES:
        if re.match(rf"{re.escape(connective)}\b", lowered):
            return text[len(connective):].lstrip(" ,;:-–—")
    return text


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _ending(text: str) -> tuple[str, str]:
    """(body, final punctuation): "Who?" -> ("Who", "?")."""
    match = re.search(r"[\s?.!]*$", text)
    body, tail = text[:match.start()], match.group().strip()
    return body, (tail[-1] if tail else "?")


def _with_context(text: str, phrases: list[Phrase]) -> str:
    body, mark = _ending(text)
    return f"{body} ({', '.join(p.text for p in phrases)}){mark}" if phrases else text


def _as_reference(phrase: Phrase, at_start: bool) -> str:
    """A phrase as it reads in another sentence: "A civil nuclear deal" -> "the civil nuclear deal"."""
    first, _, rest = phrase.text.partition(" ")
    if rest and (first.lower() in ("a", "an") or (first == "The" and not at_start)):
        return ("The " if at_start else "the ") + rest
    return phrase.text


class FollowUpResolver:
    """Turns the last user message of a conversation into a standalone question (see the module docstring)."""

    max_context_phrases = 3

    def run(self, messages: Iterable[Any]) -> str:
        return self.resolve(messages).standalone

    def resolve(self, messages: Iterable[Any]) -> Resolution:
        """messages: dicts or objects with role ("user" | "assistant") and content, oldest first."""
        previous: str | None = None
        previous_answer: str | None = None
        resolution: Resolution | None = None
        for role, content in (_role_content(m) for m in messages):
            content = (content or "").strip()
            if role == "assistant":
                previous_answer = content
                continue
            if role != "user" or not content:
                continue
            if resolution is not None:
                previous = resolution.standalone
            resolution = self.rewrite(content, previous, previous_answer)
            previous_answer = None
        if resolution is None:
            raise ValueError("the conversation has no user message")
        return resolution

    def rewrite(self, question: str, previous: str | None, previous_answer: str | None = None) -> Resolution:
        """The standalone form of `question` given the previous (already standalone) user question.

        A rewrite that would not read as a question (a dangling article, "and" or hyphen, a doubled article) falls back
        to the user's own words with the previous question's phrases in parentheses: rule "fallback".
        """
        question = " ".join(question.split())
        resolution = self._rewrite(question, previous, previous_answer)
        if not DANGLING.search(resolution.standalone) or DANGLING.search(question):
            return resolution
        core = strip_connective(question)
        phrases = self._context(analyse(previous or ""), exclude=None, present=core)
        return Resolution(question, _capitalize(_with_context(core, phrases)), "fallback")

    def _rewrite(self, question: str, previous: str | None, previous_answer: str | None) -> Resolution:
        if not previous:
            return Resolution(question, question, "first-turn")
        before = analyse(previous)
        if not before.phrases and not before.context and previous_answer:
            answer_phrases = [p for p in noun_phrases(previous_answer) if p.capitalized and not p.date][:2]
            before = Analysis(before.text, before.tokens, answer_phrases)
        if not before.phrases and not before.context:
            content = [t.text for t in before.tokens if t.lower not in NOT_CONTENT]
            if not content:
                return Resolution(question, question, "standalone")
            before.context = [Phrase(" ".join(content), tuple(w.lower() for w in content), 0, False)]

        core = strip_connective(question)
        led = core != question or bool(re.match(r"(what|how) about\b", question, re.IGNORECASE))
        tokens = tokenize(core)
        lowered = [t.lower for t in tokens]
        own_phrases = noun_phrases(core, tokens)
        own_names = [p for p in own_phrases if p.capitalized]
        lone_phrase = len(own_phrases) == 1 and own_phrases[0].text == _ending(core)[0]  # "And the mayor?"
        years = [t for t in tokens if YEAR.match(t.text)]
        content_words = [t for t in tokens if t.lower not in NOT_CONTENT]
        clause = any(w in AUXILIARIES or w in QUESTION_WORDS for w in lowered)

        # 4. A bare question word: "And when?", "Where exactly?", "In which year?"
        if tokens and not content_words and any(w in QUESTION_WORDS for w in lowered) and all(
                w in QUESTION_WORDS | HOW_MODIFIERS | QUESTION_NOUNS | PREPOSITIONS | {"exactly", "then", "else"}
                for w in lowered):
            return Resolution(question, self._swap_question_word(core, before), "question-word")

        # 2. Topic switch: "What about the city tramway?", "And in 2018?"
        if led and tokens and not clause and not self._pronouns(tokens) and (own_names or years or lone_phrase):
            return Resolution(question, self._substitute(core, own_phrases, years, before), "substitution")

        # 3. Personal pronouns.
        replaced = self._replace_pronoun(core, tokens, before)
        if replaced is not None:
            text, used = replaced
            others = [p for p in self._context(before, exclude=used, present=text) if p.capitalized]
            return Resolution(question, _capitalize(_with_context(text, others)), "pronoun")

        # 5. Demonstratives, "there", a leading connective, or too little to search on.
        refers = self._demonstrative(tokens) or self._locative_there(tokens)
        if refers or (led and not own_names) or (len(content_words) <= 2 and not own_names and not years):
            others = self._context(before, exclude=None, present=core)
            if others:
                return Resolution(question, _capitalize(_with_context(core, others)), "context")
        return Resolution(question, question, "standalone")

    # -- rules -------------------------------------------------------------------------------------------------------

    def _context(self, before: Analysis, exclude: Phrase | None, present: str) -> list[Phrase]:
        """The previous question's phrases worth carrying: not the one already used, not already in the question."""
        present_words = {t.base for t in tokenize(present)}
        chosen: list[Phrase] = []
        seen: set[str] = set()
        for phrase in sorted(before.phrases, key=lambda p: -len(p.content)) + before.context:
            key = " ".join(phrase.content)
            if phrase is exclude or key in seen or set(phrase.content) <= present_words or (
                    exclude is not None and set(phrase.content) <= set(exclude.content)):
                continue
            seen.add(key)
            chosen.append(phrase)
        return chosen[:self.max_context_phrases]

    @staticmethod
    def _pronouns(tokens: list[Token]) -> list[int]:
        words = ["", *(t.lower for t in tokens), "", ""]
        return [j - 1 for j, word in enumerate(words) if (word in PERSONAL_PRONOUNS or word in POSSESSIVE_PRONOUNS)
                and not (word == "it" and ((words[j + 1] in ("is", "was") and words[j + 2] in DUMMY_IT_FOLLOWERS)
                                           or (words[j - 1] in ("is", "was") and words[j + 1] in DUMMY_IT_FOLLOWERS)))]

    def _replace_pronoun(self, text: str, tokens: list[Token], before: Analysis) -> tuple[str, Phrase] | None:
        positions = self._pronouns(tokens)
        if not positions:
            return None
        i = positions[0]
        token = tokens[i]
        focus = before.focus
        if token.lower in PERSONS:
            # People are named without an article: prefer "Shinzo Abe" over "the speech" for he/she/his/her.
            names = [p for p in before.phrases if p.capitalized and p.text.split(" ", 1)[0].lower() not in DETERMINERS]
            focus = max(names, key=lambda p: (len(p.content), p.position)) if names else focus
        focus = focus or (before.context[0] if before.context else None)
        if focus is None:
            return None
        reference = _as_reference(focus, at_start=i == 0)
        if token.lower in POSSESSIVE_PRONOUNS and not (
                token.lower == "her" and (i + 1 >= len(tokens) or tokens[i + 1].lower in BREAKERS)):
            reference += "'" if reference.endswith("s") else "'s"
        return text[:token.start] + reference + text[token.end:], focus

    @staticmethod
    def _demonstrative(tokens: list[Token]) -> bool:
        """A "this"/"that" pointing back ("Who paid for that?", "that agreement"), not "... true that Norway ..."."""
        return any(token.lower in DEMONSTRATIVES and (
            following is None or following.lower in AUXILIARIES or following.lower in PREPOSITIONS
            or (not following.capitalized and following.lower not in BREAKERS))
            for token, following in zip(tokens, [*tokens[1:], None]))

    @staticmethod
    def _locative_there(tokens: list[Token]) -> bool:
        """"there" meaning a place ("Who lives there?"), not "Is there ...?" or "there are"."""
        words = ["", *(t.lower for t in tokens), ""]
        return any(word == "there" and words[j - 1] not in AUXILIARIES and words[j + 1] not in AUXILIARIES
                   for j, word in enumerate(words))

    @staticmethod
    def _swap_question_word(core: str, before: Analysis) -> str:
        """Put the new question word in place of the one that opens the previous question."""
        new_words, mark = _ending(core)
        tokens = before.tokens
        j = 0
        while j < len(tokens) and tokens[j].lower in PREPOSITIONS:
            j += 1
        # "How much did X cost?" + "And where?": no question word can take the place of "how much".
        measure = j + 1 < len(tokens) and tokens[j].lower == "how" and tokens[j + 1].lower in HOW_MODIFIERS
        if j < len(tokens) and tokens[j].lower in QUESTION_WORDS and not measure:
            j += 1
            while j < len(tokens) and tokens[j].lower in QUESTION_NOUNS:
                j += 1
            rest = before.text[tokens[j].start:] if j < len(tokens) else ""
        elif tokens and tokens[0].lower in AUXILIARIES:
            first = tokens[0]
            rest = before.text[:first.start] + first.lower + before.text[first.end:]
        else:
            return _capitalize(_with_context(new_words + mark, before.phrases + before.context))
        body, _ = _ending(rest)
        standalone = _capitalize(f"{new_words} {body}".strip()) + mark
        return _with_context(standalone, before.context) if before.context else standalone

    @staticmethod
    def _substitute(core: str, own_phrases: list[Phrase], years: list[Token], before: Analysis) -> str:
        """Ask the previous question again about the new entity or year."""
        body, mark = _ending(before.text)
        names = [p for p in own_phrases if not all(YEAR.match(w) for w in p.content)]
        if names:
            new = max(names, key=lambda p: len(p.content))
            focus = before.focus
            if focus is not None:
                reference = _as_reference(new, focus.position == 0) if new.text.split(" ", 1)[0].lower() in \
                    DETERMINERS else new.text
                body = body[:focus.position] + reference + body[focus.position + len(focus.text):]
            else:
                body = f"{body} ({new.text})"
        if years:
            year = years[-1].text
            old_years = [t for t in tokenize(body) if YEAR.match(t.text)]
            if old_years:
                body = body[:old_years[-1].start] + year + body[old_years[-1].end:]
            else:
                phrase = year if names else _ending(core)[0]
                preposition = "" if re.match(r"(in|during|since|after|before|by|until)\b", phrase, re.I) else "in "
                body = f"{body} {preposition}{phrase}"
        return _capitalize(body) + mark


def _role_content(message: Any) -> tuple[str, str]:
    get = message.get if isinstance(message, Mapping) else lambda name, default: getattr(message, name, default)
    return str(get("role", "")), str(get("content", "") or "")
