"""SQuAD v1.1 for training the span reader, split by article so nothing benchmarked is ever trained on.

The articles that hold the file's first `benchmark_questions` questions stay the benchmark (`rag eval --squad
... --limit 2000`); the remaining articles are the training pool, of which a seeded share of whole articles is
held out as the learning-curve dev set.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.span_model import encode_windows


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    article: int
    question: str
    context: str
    answers: tuple[str, ...]
    answer_start: int  # the first answer's character offset in context


@dataclass(frozen=True, slots=True)
class SquadSplit:
    benchmark_articles: tuple[int, ...]
    train: list[SquadQuestion]
    dev: list[SquadQuestion]


def load_split(path: Path, benchmark_questions: int = 2000, dev_share: float = 0.05, seed: int = 0) -> SquadSplit:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    questions: list[SquadQuestion] = []
    benchmark: set[int] = set()
    for a, article in enumerate(data):
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if len(questions) < benchmark_questions:
                    benchmark.add(a)
                first = qa["answers"][0]
                answers = tuple(dict.fromkeys(ans["text"] for ans in qa["answers"]))
                questions.append(SquadQuestion(a, qa["question"], paragraph["context"], answers,
                                               int(first["answer_start"])))
    pool = sorted({q.article for q in questions} - benchmark)
    rng = random.Random(seed)
    dev_articles = set(rng.sample(pool, max(1, round(len(pool) * dev_share))))
    train = [q for q in questions if q.article not in benchmark and q.article not in dev_articles]
    dev = [q for q in questions if q.article in dev_articles]
    return SquadSplit(tuple(sorted(benchmark)), train, dev)


@dataclass(frozen=True, slots=True)
class TrainingWindows:
    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    start_positions: np.ndarray  # 0 ([CLS]) for a window without the answer
    end_positions: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def training_windows(tokenizer, questions: list[SquadQuestion], max_length: int, stride: int,
                     negative_rate: float, seed: int) -> TrainingWindows:
    """One window holding the answer per question (a random one of those that hold it whole, so the answer
    sits anywhere in the window), plus with probability `negative_rate` one window of the same paragraph
    without it, whose target is [CLS]: the no-answer score has to mean something across passages."""
    rng = random.Random(seed)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]] = []
    for q in questions:
        batch = encode_windows(tokenizer, q.question, [q.context], max_length, stride, pad_to_max=True)
        a_start, a_end = q.answer_start, q.answer_start + len(q.answers[0])
        positives, negatives = [], []
        for i in range(len(batch)):
            tokens = np.flatnonzero(batch.in_context[i])
            offs = batch.offsets[i]
            first_char, last_char = offs[tokens[0], 0], offs[tokens[-1], 1]
            if first_char <= a_start and a_end <= last_char:
                s = next(t for t in tokens if offs[t, 1] > a_start)
                e = next(t for t in reversed(tokens) if offs[t, 0] < a_end)
                positives.append((i, int(s), int(e)))
            elif a_end <= first_char or last_char <= a_start:
                negatives.append((i, 0, 0))
        chosen = [rng.choice(positives)] if positives else []
        if negatives and rng.random() < negative_rate:
            chosen.append(rng.choice(negatives))
        for i, s, e in chosen:
            rows.append((batch.input_ids[i], batch.attention_mask[i], batch.token_type_ids[i], s, e))
    return TrainingWindows(
        np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]), np.stack([r[2] for r in rows]),
        np.array([r[3] for r in rows], dtype=np.int64), np.array([r[4] for r in rows], dtype=np.int64),
    )
