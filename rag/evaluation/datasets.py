"""External benchmarks as in-memory corpora: SQuAD v1.1 (open retrieval + answers) and BEIR (retrieval only).

Nothing is written into the repository's corpus or index; the benchmark builds its own index from these
Document objects (IndexBuilder.build).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from rag.documents import Document
from rag.evaluation.clients import EvaluationError
from rag.evaluation.gold import GoldQuestion


@dataclass(slots=True)
class SquadSet:
    documents: list[Document]
    questions: list[GoldQuestion]


@dataclass(slots=True)
class BeirSet:
    documents: list[Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, float]]


def load_squad(path: Path, limit: int | None = None) -> SquadSet:
    """One document per paragraph, titled by its article; every question keeps its own paragraph as gold.

    The corpus is always every paragraph in the file; `limit` only takes the first N questions.
    doc_id is "<article number>-<paragraph number>" (e.g. "003-12"), stable for the file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise EvaluationError(f"{path}: not a SQuAD v1.1 JSON file ({exc})") from exc
    documents: list[Document] = []
    questions: list[GoldQuestion] = []
    for a, article in enumerate(data):
        title = str(article.get("title", "")).replace("_", " ")
        for p, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{a:03d}-{p:02d}"
            documents.append(Document(doc_id, title, paragraph["context"], {"article": article.get("title", "")}))
            for qa in paragraph["qas"]:
                if limit is None or len(questions) < limit:
                    answers = list(dict.fromkeys(ans["text"] for ans in qa["answers"]))
                    questions.append(GoldQuestion(str(qa["id"]), qa["question"], answers, [doc_id], None))
    if not documents:
        raise EvaluationError(f"{path}: no paragraphs")
    return SquadSet(documents, questions)


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_beir(root: Path, split: str = "test", limit: int | None = None) -> BeirSet:
    """BEIR layout: corpus.jsonl ({_id, title, text}), queries.jsonl ({_id, text}), qrels/<split>.tsv.

    Only queries with a positive judgment in the split are evaluated (as BEIR does); the document is its
    title (as the Document title, which indexing prepends to every chunk) plus its text.
    """
    root = Path(root)
    needed = [root / "corpus.jsonl", root / "queries.jsonl", root / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise EvaluationError(f"not a BEIR dataset directory, missing: {', '.join(missing)}")
    documents = []
    for row in _read_jsonl(needed[0]):
        text = str(row.get("text") or "").strip()
        title = str(row.get("title") or "").strip()
        if text or title:
            documents.append(Document(str(row["_id"]), title, text or title, {}))
    queries_all = {str(row["_id"]): str(row["text"]) for row in _read_jsonl(needed[1])}
    qrels: dict[str, dict[str, float]] = {}
    with open(needed[2], encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        for row in reader:
            if not row or row[0] == "query-id":
                continue
            query_id, doc_id, score = row[0], row[1], float(row[2])
            if score > 0:
                qrels.setdefault(query_id, {})[doc_id] = score
    queries = {q: queries_all[q] for q in qrels if q in queries_all}
    if limit is not None:
        queries = dict(list(queries.items())[:limit])
    qrels = {q: qrels[q] for q in queries}
    if not documents or not queries:
        raise EvaluationError(f"{root}: no documents or no judged queries in qrels/{split}.tsv")
    return BeirSet(documents, queries, qrels)
