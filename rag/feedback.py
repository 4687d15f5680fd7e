"""What users said of answers, kept durably in SQLite (`<data dir>/feedback.sqlite3`), and exported as gold lines
(eval/gold.jsonl's format) so `rag eval --gold` can measure the service on its users' own questions.

A verdict is one INSERT committed with synchronous=FULL (WAL journal) before it is acknowledged, so a 201 survives
a crash of the process or the machine."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.sqlite_store import SQLiteStore
from rag.uploads import now

DATABASE_FILE = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question TEXT NOT NULL,
    answer TEXT,
    helpful INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    comment TEXT,
    doc_id TEXT,
    start INTEGER,
    "end" INTEGER,
    created_at TEXT NOT NULL
);
"""
_COLUMNS = 'id, question, answer, helpful, comment, doc_id, start, "end", created_at'


@dataclass(slots=True)
class Feedback:
    """One verdict. answer None: the service withheld its answer; start/end: the answer's offsets in doc_id."""

    question: str
    answer: str | None
    helpful: bool
    comment: str | None = None
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    id: int | None = None
    created_at: str | None = None


@dataclass(slots=True)
class ExportCounts:
    answers: int
    review: int
    superseded: int  # earlier verdicts on a question that has a later one


def _row(row) -> Feedback:
    id_, question, answer, helpful, comment, doc_id, start, end, created_at = row
    return Feedback(question, answer, bool(helpful), comment, doc_id, start, end, id_, created_at)


def _same_question(question: str) -> str:
    return " ".join(question.split()).casefold()


def gold_line(feedback: Feedback, split: str = "test") -> dict:
    """A helpful answer is a gold answer (with its span when known); anything else (an unhelpful answer, or a
    withheld one) is flagged for review: a user's "not helpful" does not make a question unanswerable."""
    line = {"id": f"feedback-{feedback.id}", "question": feedback.question}
    if feedback.helpful and feedback.answer is not None:
        line |= {"answers": [feedback.answer], "doc_ids": [feedback.doc_id] if feedback.doc_id else [],
                 "kind": "feedback", "split": split}
        if feedback.doc_id is not None and feedback.start is not None:
            line["span"] = {"doc_id": feedback.doc_id, "start": feedback.start, "end": feedback.end}
        return line
    return line | {"answers": [], "doc_ids": [], "kind": "feedback", "split": split, "review": True,
                   "helpful": feedback.helpful, "comment": feedback.comment, "rejected_answer": feedback.answer}


class FeedbackStore(SQLiteStore):
    """Users' verdicts, one row each, in the order they came."""

    FILE = DATABASE_FILE
    SCHEMA = _SCHEMA

    def add(self, feedback: Feedback) -> Feedback:
        """Store one verdict (committed on return); it comes back with its id and created_at (UTC)."""
        created_at = now()
        with self._lock:
            db = self._db(create=True)
            cursor = db.execute('INSERT INTO feedback (question, answer, helpful, comment, doc_id, start, "end", '
                                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (feedback.question, feedback.answer, int(feedback.helpful), feedback.comment,
                                 feedback.doc_id, feedback.start, feedback.end, created_at))
        stored = Feedback(**asdict(feedback))
        stored.id, stored.created_at = cursor.lastrowid, created_at
        return stored

    def list(self, limit: int, offset: int = 0) -> tuple[int, list[Feedback]]:
        """(how many there are, `limit` of them from `offset`), newest first; both read in one transaction."""
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return 0, []
            db.execute("BEGIN")
            try:
                total = int(db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
                rows = db.execute(f"SELECT {_COLUMNS} FROM feedback ORDER BY id DESC LIMIT ? OFFSET ?",
                                  (limit, offset)).fetchall()
            finally:
                db.execute("COMMIT")
        return total, [_row(r) for r in rows]

    def latest_verdicts(self) -> tuple[list[Feedback], int]:
        """The newest verdict on each question (white space and case aside), oldest first; and how many earlier
        ones they supersede."""
        with self._lock:
            db = self._db(create=False)
            rows = db.execute(f"SELECT {_COLUMNS} FROM feedback ORDER BY id").fetchall() if db else []
        latest = {_same_question(f.question): f for f in map(_row, rows)}
        kept = sorted(latest.values(), key=lambda f: f.id)
        return kept, len(rows) - len(kept)

    def export_gold(self, path: Path, split: str = "test") -> ExportCounts:
        """Write the gold JSONL (gold_line per question, all marked `split`: test to measure, dev to refit the
        confidence on, as make calibrate reads), replacing `path` whole; ValueError when there is no
        feedback at all (most likely the wrong data directory), so no empty gold file is left to evaluate."""
        verdicts, superseded = self.latest_verdicts()
        if not verdicts:
            raise ValueError(f"no feedback stored in {self.path}")
        lines = [gold_line(f, split) for f in verdicts]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        os.replace(partial, path)
        review = sum(bool(line.get("review")) for line in lines)
        return ExportCounts(len(lines) - review, review, superseded)
