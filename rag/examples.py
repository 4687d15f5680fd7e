"""Example questions for a newcomer: asked of the collection itself, kept only when it answers them.

Candidates are the questions the documents ask themselves (FAQ entries, headings that end in "?"); each is asked
through the pipeline and the most confident answers, from different documents, are offered. Questions made up
from titles read badly ("What is annual report 2024?") and users' questions are private, so a collection that
asks none offers none: RAG_EXAMPLE_QUESTIONS gives questions of one's own.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from itertools import chain, zip_longest

# A sentence that opens like an English wh-question (a yes/no question has no span to quote) and ends with "?",
# on a line of its own (after a "Q:" or a list marker) or after another sentence.
_QUESTION = re.compile(
    r"(?:^[^\w\n]*|(?<=[.!?:]\s))((?:What|When|Where|Who|Whom|Which|Why|How)"
    r"\b[^.?!\n]{8,150}\?)", re.MULTILINE)
# A pronoun or "this" points at a sentence before it: out of its context, the question is not one.
_DEPENDENT = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    answer: str
    doc_id: str
    confidence: float


def candidate_questions(documents, per_document: int = 8) -> list[str]:
    """Questions found in the documents, taken round-robin so that one FAQ does not fill the list."""
    found = []
    for document in documents:
        questions = [q for q in dict.fromkeys(m.group(1).strip() for m in _QUESTION.finditer(document.text))
                     if not _DEPENDENT.search(q)]
        found.append(questions[:per_document])
    return list(dict.fromkeys(q for q in chain.from_iterable(zip_longest(*found)) if q))


def choose_examples(pipeline, candidates: list[str], count: int, max_asked: int = 24) -> list[Example]:
    """The `count` most confident of the candidates the service answers (does not withhold), one per document
    as long as there are enough documents."""
    answered = []
    for question in candidates[:max_asked]:
        answer = pipeline.ask(question)
        if answer.answer is not None and answer.sentence is not None:
            answered.append(Example(question, answer.answer, answer.sentence.doc_id, answer.confidence))
    answered.sort(key=lambda e: -e.confidence)
    documents: set[str] = set()
    distinct = [e for e in answered if not (e.doc_id in documents or documents.add(e.doc_id))]
    return (distinct + [e for e in answered if e not in distinct])[:count]


class ExampleQuestions:
    """The examples of the collection as it is now: worked out once per index state (a write or a new generation
    changes it), in a background thread started by warm_up so that the first page load does not wait."""

    def __init__(self, configured: list[str], count: int = 3):
        self.configured = configured
        self.count = count
        self._lock = threading.Lock()
        self._state: tuple | None = None
        self._examples: list[Example] = []

    @staticmethod
    def _state_of(pipeline) -> tuple:
        return pipeline.index.manifest["generation"], pipeline.index.last_change

    def warm_up(self, pipeline) -> None:
        threading.Thread(target=self.run, args=(pipeline,), name="example-questions", daemon=True).start()

    def run(self, pipeline) -> list[str]:
        if self.configured:
            return list(self.configured)
        with self._lock:
            state = self._state_of(pipeline)
            if state != self._state:
                self._examples = choose_examples(pipeline, candidate_questions(pipeline.documents), self.count)
                self._state = state
            return [e.question for e in self._examples]
