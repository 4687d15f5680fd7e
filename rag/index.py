"""The index as the query side reads it: one immutable snapshot of documents, sentences, chunks, vectors, FAISS
and BM25, loaded from a generation (rag.generations) and changed by deriving a new snapshot (`Index.changed`).

A change never rewrites what the generation holds. Deleted documents become tombstones (their chunks stay in the
tables, masked out of every search, as Lucene keeps deleted documents until a merge); added documents are
appended: their vectors to an in-memory tail after the memory-mapped rows, their chunks to a tail of BM25
postings scored here, and searched exactly beside the generation's FAISS index. So a change costs what the one
document costs, plus copying the tables' row lists. The next build (rag.store) folds everything into a new
generation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np
import Stemmer

from rag.documents import Chunk, Document, Span
from rag.generations import IndexDamaged, IndexNotFound, live_generation

# 3: no typed-span table. 4: every file's size and SHA-256 in the manifest. 5: documents carry their origin and
# when they were added, the manifest BM25's average chunk length and the uploads it holds (through_seq).
FORMAT_VERSION = 5
BM25_K1, BM25_B = 1.2, 0.75
_STEMMER = Stemmer.Stemmer("english")


class IndexMismatch(RuntimeError):
    """The index on disk was built with another format or model than the one configured."""


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """English stop words removed, Snowball-stemmed: the one tokenization for corpus and queries."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


def embedding_text(title: str, text: str) -> str:
    # The title gives a chunk its topic; chunks deep inside a document rarely repeat it.
    return f"{title}\n{text}" if title else text


class VectorTable:
    """Rows of a generation's vectors (memory-mapped) followed by rows added since (in memory). Appending never
    changes what an existing table sees: its row count is its own, and the shared buffer only grows past it."""

    def __init__(self, base: np.ndarray, tail: np.ndarray | None = None, tail_rows: int = 0):
        self.base = base
        self._tail = tail
        self._tail_rows = tail_rows
        self._used = [tail_rows]  # rows of the shared buffer some table already owns

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.base) + self._tail_rows, self.base.shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def tail(self) -> np.ndarray:
        return self._tail[:self._tail_rows] if self._tail is not None else self.base[:0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        rows = np.concatenate([self.base, self.tail]) if self._tail_rows else np.asarray(self.base)
        return rows if dtype is None else rows.astype(dtype)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            key = int(key) + (len(self) if key < 0 else 0)
            return self.base[key] if key < len(self.base) else self._tail[key - len(self.base)]
        if isinstance(key, slice):
            key = np.arange(len(self))[key]
        ids = np.asarray(key)
        if ids.dtype == bool:
            ids = np.flatnonzero(ids)
        if not self._tail_rows:
            return self.base[ids]
        out = np.empty((len(ids), self.base.shape[1]), dtype=np.float32)
        in_base = ids < len(self.base)
        out[in_base] = self.base[ids[in_base]]
        out[~in_base] = self._tail[ids[~in_base] - len(self.base)]
        return out

    def appended(self, rows: np.ndarray) -> VectorTable:
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, self.base.shape[1])
        needed = self._tail_rows + len(rows)
        tail, used = self._tail, self._used
        if tail is None or used[0] != self._tail_rows or len(tail) < needed:
            grown = np.empty((max(64, 2 * needed), self.base.shape[1]), dtype=np.float32)
            grown[:self._tail_rows] = self.tail
            tail, used = grown, [self._tail_rows]
        tail[self._tail_rows:needed] = rows
        used[0] = needed
        table = VectorTable(self.base, tail, needed)
        table._used = used
        return table


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 (Lucene's variant, as bm25s computes it) over the generation's chunks, precomputed by bm25s with the
    generation's statistics, and over chunks added since, scored at query time with the statistics of both."""

    base: bm25s.BM25
    base_average_length: float
    tail_start: int  # global number of the first tail chunk
    tail_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    tail_postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # term -> rows, tf

    def __post_init__(self) -> None:
        # bm25s stores its matrix by term: a column's length is the number of chunks holding the term.
        object.__setattr__(self, "_base_frequency", np.diff(np.asarray(self.base.scores["indptr"])))

    def frequency(self, stem: str) -> int:
        """Chunks holding the term, deleted ones included (until the next build)."""
        column = self.base.vocab_dict.get(stem)
        base = int(self._base_frequency[column]) if column is not None else 0
        tail = self.tail_postings.get(stem)
        return base + (len(tail[0]) if tail is not None else 0)

    def scores(self, tokens: list[str], rows: int) -> np.ndarray:
        """BM25 score of each of `rows` chunks for the (tokenized) query."""
        known = [t for t in tokens if t in self.base.vocab_dict]
        base = self.base.get_scores(known) if known else np.zeros(self.tail_start, np.float32)
        if rows == self.tail_start:
            return base
        scores = np.zeros(rows, np.float32)
        scores[:self.tail_start] = base
        count = rows
        average = (self.base_average_length * self.tail_start + float(self.tail_lengths.sum())) / count
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * self.tail_lengths / average)
        for token in tokens:
            posting = self.tail_postings.get(token)
            if posting is None:
                continue
            found = self.frequency(token)
            idf = math.log(1 + (count - found + 0.5) / (found + 0.5))
            tail_rows, tf = posting
            scores[tail_rows] += idf * tf / (norm[tail_rows - self.tail_start] + tf)
        return scores

    def appended(self, chunk_tokens: list[list[str]], first_row: int) -> LexicalIndex:
        postings = dict(self.tail_postings)
        found: dict[str, list[tuple[int, int]]] = {}
        for n, tokens in enumerate(chunk_tokens):
            counts: dict[str, int] = {}
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
            for token, tf in counts.items():
                found.setdefault(token, []).append((first_row + n, tf))
        for token, pairs in found.items():
            rows = np.array([r for r, _ in pairs], np.int64)
            tf = np.array([f for _, f in pairs], np.float32)
            if token in postings:
                rows, tf = np.concatenate([postings[token][0], rows]), np.concatenate([postings[token][1], tf])
            postings[token] = (rows, tf)
        lengths = np.concatenate([self.tail_lengths, np.array([len(t) for t in chunk_tokens], np.float32)])
        return LexicalIndex(self.base, self.base_average_length, self.tail_start, lengths, postings)


@dataclass(slots=True)
class PreparedDocument:
    """A document made ready for the index: its sentences and chunks (sentence numbers local to it), their
    vectors and the chunks' BM25 tokens."""

    document: Document
    sentences: list[Span]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray | None
    chunk_tokens: list[list[str]]


@dataclass
class Index:
    """Everything the retriever and answerer read: one snapshot, never changed in place."""

    manifest: dict[str, Any]
    slots: list[Document | None]  # documents by number; None where one was deleted
    sentences: list[Span]
    chunks: list[Chunk]
    chunk_vectors: VectorTable
    sentence_vectors: VectorTable | None
    dense: faiss.Index  # the generation's chunks: the first dense.ntotal rows
    lexical: LexicalIndex
    chunk_doc: np.ndarray  # each chunk's document number
    live_chunks: np.ndarray | None = None  # False for a deleted document's chunks; None when none is deleted
    documents: list[Document] = field(init=False)
    doc_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.documents = [d for d in self.slots if d is not None]
        self.doc_index = {d.doc_id: i for i, d in enumerate(self.slots) if d is not None}

    def term_idf(self, stem: str) -> float:
        """Inverse chunk frequency of a BM25 term (stemmed); unseen terms get the highest value."""
        return math.log((len(self.chunks) + 1) / (self.lexical.frequency(stem) + 0.5))

    @property
    def last_change(self) -> int:
        """The last upload change (numbered) this index holds: replayed on top, or folded into its generation."""
        return self.manifest.get("applied_seq", self.manifest.get("through_seq", 0))

    def document(self, doc_id: str) -> Document | None:
        i = self.doc_index.get(doc_id)
        return None if i is None else self.slots[i]

    def changed(self, removed: list[str], added: list[PreparedDocument], manifest: dict[str, Any]) -> Index:
        """A new snapshot: `removed` documents deleted, then `added` ones appended (a replacement is both)."""
        slots = list(self.slots)
        live = np.ones(len(self.chunks), bool) if self.live_chunks is None else self.live_chunks.copy()
        for doc_id in removed:
            number = self.doc_index[doc_id]
            slots[number] = None
            live[self.chunk_doc == number] = False
        sentences, chunks = list(self.sentences), list(self.chunks)
        chunk_doc = [self.chunk_doc]
        chunk_vectors, sentence_vectors, lexical = self.chunk_vectors, self.sentence_vectors, self.lexical
        for prepared in added:
            number, offset = len(slots), len(sentences)
            slots.append(prepared.document)
            lexical = lexical.appended(prepared.chunk_tokens, len(chunks))
            chunks.extend(Chunk(c.doc_id, c.start, c.end, c.chunk_id, c.first_sentence + offset,
                                c.last_sentence + offset) for c in prepared.chunks)
            sentences.extend(prepared.sentences)
            chunk_doc.append(np.full(len(prepared.chunks), number, np.int64))
            chunk_vectors = chunk_vectors.appended(prepared.chunk_vectors)
            if sentence_vectors is not None:
                sentence_vectors = sentence_vectors.appended(prepared.sentence_vectors)
        live = np.concatenate([live, np.ones(len(chunks) - len(live), bool)])
        return Index(manifest, slots, sentences, chunks, chunk_vectors, sentence_vectors, self.dense, lexical,
                     np.concatenate(chunk_doc), None if live.all() else live)


def check_compatible(manifest: dict[str, Any], model_name: str, backend: str | None = None) -> None:
    how = "rebuild it with `rag index` (or `make run`, which rebuilds a stale index)"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatch(
            f"index format {manifest.get('format_version')} does not match this version's format {FORMAT_VERSION}; {how}"
        )
    if manifest.get("model") != model_name:
        raise IndexMismatch(f"index was built with model {manifest.get('model')!r}, configured model is {model_name!r}; {how}")
    if backend is not None and manifest.get("encoder_backend") != backend:
        raise IndexMismatch(f"index vectors were made by encoder backend {manifest.get('encoder_backend')!r}, "
                            f"configured backend is {backend!r} (RAG_ENCODER_BACKEND); {how}")


def load_index(index_dir: Path, model_name: str | None = None, backend: str | None = None) -> Index:
    index_dir = Path(index_dir)
    found = live_generation(index_dir)
    if found is None:
        raise IndexNotFound(f"no index in {index_dir}; build it with `rag index`")
    generation, manifest = found
    manifest = {**{k: v for k, v in manifest.items() if k != "files"}, "generation": generation.name}
    if model_name is not None:
        check_compatible(manifest, model_name, backend)
    try:
        return _read_generation(generation, manifest)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # intact checksums, yet a library refuses a file
        raise IndexDamaged(f"{generation} cannot be read ({type(exc).__name__}: {exc}); "
                           "rebuild it with `rag index --force`") from None


def _read_generation(generation: Path, manifest: dict[str, Any]) -> Index:
    documents = []
    with open(generation / "documents.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            documents.append(Document(row["doc_id"], row["title"], row["text"], row["metadata"],
                                      row.get("origin", "folder"), row.get("added_at")))
    doc_ids = [d.doc_id for d in documents]
    sentence_rows = np.load(generation / "sentences.npy")
    sentences = [Span(doc_ids[d], int(s), int(e)) for d, s, e in sentence_rows]
    chunk_rows = np.load(generation / "chunks.npy")
    chunks = []
    ordinal: dict[int, int] = {}
    for d, s, e, fs, ls in chunk_rows:
        k = ordinal.get(int(d), 0)
        ordinal[int(d)] = k + 1
        chunks.append(Chunk(doc_ids[d], int(s), int(e), f"{doc_ids[d]}#{k}", int(fs), int(ls)))
    sentence_path = generation / "sentence_vectors.npy"
    return Index(
        manifest=manifest,
        slots=documents,
        sentences=sentences,
        chunks=chunks,
        # Memory-mapped: FAISS holds its own copy of the chunk vectors, and only the few rows a question's
        # candidates need are read from these (a file replaced by a rebuild stays readable while mapped).
        chunk_vectors=VectorTable(np.load(generation / "chunk_vectors.npy", mmap_mode="r")),
        sentence_vectors=VectorTable(np.load(sentence_path, mmap_mode="r")) if sentence_path.exists() else None,
        dense=faiss.read_index(str(generation / "dense.faiss")),
        lexical=LexicalIndex(bm25s.BM25.load(str(generation / "bm25"), show_progress=False),
                             float(manifest["bm25_average_length"]), len(chunks)),
        chunk_doc=chunk_rows[:, 0].astype(np.int64) if len(chunk_rows) else np.zeros(0, np.int64),
    )
