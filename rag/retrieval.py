"""Hybrid retrieval: dense (FAISS) and BM25 candidates, fused by a convex combination of scores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import faiss
import numpy as np

from rag.documents import Passage
from rag.index import Index, bm25_tokens


@dataclass(frozen=True, slots=True)
class Filters:
    doc_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.tags or self.date_from or self.date_to)


def _document_date(metadata: dict) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(metadata.get("date", ""))[:10])
    except ValueError:
        return None


class HybridRetriever:
    """Scores every candidate on both sides, then fuses: w * cosine + (1 - w) * BM25 / max BM25."""

    def __init__(self, index: Index, dense_weight: float = 0.5, candidates_per_side: int = 100):
        self.index = index
        self.dense_weight = dense_weight
        self.candidates_per_side = candidates_per_side
        live = index.live_chunks
        # FAISS skips a deleted document's chunks by this bitmap (bit i of byte i // 8, least significant first).
        generation_rows = index.dense.ntotal
        self._live_bitmap = None if live is None or live[:generation_rows].all() else \
            np.packbits(live[:generation_rows], bitorder="little")

    def allowed_chunks(self, filters: Filters) -> np.ndarray | None:
        """Chunk numbers that pass the filters, or None for no filtering."""
        if not filters:
            return None
        wanted_tags = {t.lower() for t in filters.tags}
        allowed_docs = []
        for i, document in enumerate(self.index.slots):
            if document is None:
                continue
            if filters.doc_ids and document.doc_id not in filters.doc_ids:
                continue
            if wanted_tags and not wanted_tags & {str(t).lower() for t in document.metadata.get("tags", [])}:
                continue
            if filters.date_from or filters.date_to:
                date = _document_date(document.metadata)
                if date is None or (filters.date_from and date < filters.date_from) or (
                        filters.date_to and date > filters.date_to):
                    continue
            allowed_docs.append(i)
        return np.flatnonzero(np.isin(self.index.chunk_doc, allowed_docs))

    def depth(self, allowed: int, top_k: int) -> int:
        """How many candidates each side contributes."""
        return min(allowed, max(self.candidates_per_side, top_k))

    def dense_candidates(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
        """The k chunks nearest the question among the allowed (else the live) ones: FAISS over the generation's
        chunks, an exact product over those added since; up to k of each."""
        rows = self.index.dense.ntotal
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed[allowed < rows].astype(np.int64)))
        elif self._live_bitmap is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(len(self._live_bitmap), faiss.swig_ptr(self._live_bitmap)))
        _, ids = self.index.dense.search(query_vector.reshape(1, -1), min(k, rows), params=params) if rows else \
            (None, np.zeros((1, 0), np.int64))
        found = ids[0][ids[0] >= 0]
        if len(self.index.chunks) == rows:
            return found
        tail = np.arange(rows, len(self.index.chunks))
        if allowed is not None:
            tail = allowed[allowed >= rows]
        elif self.index.live_chunks is not None:
            tail = tail[self.index.live_chunks[rows:]]
        if not len(tail):
            return found
        scores = self.index.chunk_vectors[tail] @ query_vector
        best = tail[np.argsort(-scores, kind="stable")[:k]]
        return np.concatenate([found, best])

    def lexical_scores(self, query: str, allowed: np.ndarray | None) -> np.ndarray:
        """BM25 score of every chunk (summed over the postings of the question's terms); -1 where not allowed,
        0 for a deleted document's chunks."""
        scores = self.index.lexical.scores(bm25_tokens([query])[0], len(self.index.chunks))
        if allowed is not None:
            masked = np.full_like(scores, -1.0)
            masked[allowed] = scores[allowed]
            scores = masked
        elif self.index.live_chunks is not None:
            scores = np.where(self.index.live_chunks, scores, 0.0).astype(np.float32)
        return scores

    def fuse(self, query_vector: np.ndarray, dense_ids: np.ndarray, bm25_scores: np.ndarray, k: int,
             top_k: int) -> list[Passage]:
        """Both sides' candidates (the k best of each), scored on both sides and fused, best first."""
        lexical_top = np.argpartition(-bm25_scores, k - 1)[:k] if k < len(bm25_scores) else np.arange(len(bm25_scores))
        ids = np.union1d(dense_ids, lexical_top[bm25_scores[lexical_top] > 0])
        dense = self.index.chunk_vectors[ids] @ query_vector
        lexical = np.clip(bm25_scores[ids], 0, None)
        top_lexical = lexical.max()
        fused = self.dense_weight * dense + (1 - self.dense_weight) * (lexical / top_lexical if top_lexical > 0 else 0)
        order = np.argsort(-fused, kind="stable")[:top_k]
        passages = []
        for j in order:
            chunk = self.index.chunks[ids[j]]
            document = self.index.slots[self.index.chunk_doc[ids[j]]]
            passages.append(Passage(chunk=chunk, title=document.title, text=document.text[chunk.start:chunk.end],
                                    score=float(fused[j]), dense_score=float(dense[j]),
                                    lexical_score=float(lexical[j])))
        return passages

    def run(self, query_vector: np.ndarray, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        allowed = self.allowed_chunks(filters or Filters())
        total = len(self.index.chunks) if allowed is None else len(allowed)
        if total == 0:
            return []
        k = self.depth(total, top_k)
        dense_ids = self.dense_candidates(query_vector, k, allowed)
        return self.fuse(query_vector, dense_ids, self.lexical_scores(query, allowed), k, top_k)
