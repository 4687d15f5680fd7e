"""Choose the answer stage's few settings on the gold **dev** split (never test): how many passages the reader
reads, the reader's window length, how close in score enumeration items must be to be joined, and how much the
passage's retrieval score adds to a span's.

Usage: .venv/bin/python scripts/tune_answering.py [--gold eval/gold.jsonl]
Prints answer EM/F1 over the dev split's answerable questions, never abstaining, for each setting.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from rag.evaluation.gold import read_gold
from rag.evaluation.metrics import best_over_golds, exact_match, token_f1
from rag.pipeline import QAPipeline
from rag.settings import get_settings


class CachedReader:
    """The reader's spans per (question, passage text), computed once: settings that only filter or re-rank
    them are then cheap to try."""

    def __init__(self, reader):
        self.reader, self.name, self.cache = reader, reader.name, {}

    def read(self, question, contexts, per_window=3):
        spans = []
        for i, context in enumerate(contexts):
            key = (question, context, per_window, self.reader.max_length)
            if key not in self.cache:
                self.cache[key] = self.reader.read(question, [context], per_window)
            spans.extend(s.__class__(i, s.start, s.end, s.score, s.no_answer) for s in self.cache[key])
        return sorted(spans, key=lambda s: -s.score)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    args = parser.parse_args()
    questions = [q for q in read_gold(args.gold, split="dev") if q.answerable]
    pipeline = QAPipeline(get_settings().model_copy(update={"min_confidence": 0.0}))
    extractor = pipeline.extractor
    reader = extractor.reader
    extractor.reader = CachedReader(reader)
    retrieved = {}
    for q in questions:
        vector = pipeline.encoder.encode_query(q.question)
        retrieved[q.id] = (vector, pipeline.retriever.run(vector, q.question, 5))
    rows = []
    grid = itertools.product((128, 192, 256), (1, 2, 3, 5), (0.0, 1.0, 2.0, 3.0), (0.0, 2.0, 5.0))
    for max_length, passages, margin, passage_weight in grid:
        reader.max_length = max_length
        extractor.read_passages, extractor.list_margin = passages, margin
        extractor.passage_weight = passage_weight
        em = f1 = 0.0
        for q in questions:
            vector, found = retrieved[q.id]
            answer = extractor.run(q.question, vector, found).answer
            em += best_over_golds(exact_match, answer, q.answers)
            f1 += best_over_golds(token_f1, answer, q.answers)
        row = {"max_length": max_length, "read_passages": passages, "list_margin": margin,
               "passage_weight": passage_weight, "em": round(em / len(questions), 4), "f1": round(f1 / len(questions), 4)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: r["f1"])
    print("best on dev:", json.dumps(best))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
