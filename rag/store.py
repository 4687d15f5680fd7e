"""The on-disk index: documents, sentences, chunks, vectors, FAISS and BM25, with a manifest.

A build holds the index's write lock, writes a new generation and switches to it (rag.generations: checksums,
fsync, atomic CURRENT, the previous generation kept), so a crash mid-build leaves the old index live.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from rag.chunking import Chunker, split_sentences
from rag.documents import Chunk, Document, Span
from rag.embedding import Encoder, resolve_model
from rag.file_checks import LoadLimits
from rag.generations import clean, commit, read_manifest, write_lock
from rag.index import BM25_B, BM25_K1, FORMAT_VERSION, bm25_tokens, embedding_text, load_index
from rag.loaders import load_corpus
from rag.settings import Settings
from rag.uploads import UploadStore

# Manifest entries that decide what vectors a document gets.
REUSE_KEYS = ("format_version", "model", "encoder_backend", "chunking", "sentence_vectors")


def vectors_key(parameters: dict[str, Any]) -> str:
    """What a document's vectors depend on: vectors stored under the same key can be reused."""
    return json.dumps({k: parameters[k] for k in REUSE_KEYS}, sort_keys=True)


def corpus_fingerprint(corpus_dir: Path) -> str:
    """Hash of every file under the corpus (documents and their sidecars): changes when any byte does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(corpus_dir).rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(path.relative_to(corpus_dir).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def document_hash(document: Document) -> str:
    return hashlib.sha256(f"{document.title}\n{document.text}".encode()).hexdigest()


def documents_fingerprint(documents: list[Document]) -> str:
    """Hash of in-memory documents (ids, titles, texts, metadata), in order: the fingerprint of a built corpus."""
    digest = hashlib.sha256()
    for d in documents:
        digest.update(json.dumps([d.doc_id, d.title, d.text, d.metadata], ensure_ascii=False, sort_keys=True,
                                 default=str).encode())
    return digest.hexdigest()


@dataclass(slots=True)
class CachedDocument:
    """What a rebuild can reuse for an unchanged document."""

    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray | None


@dataclass
class BuildReport:
    status: str  # "built" or "up to date"
    documents: int
    chunks: int
    embedded_documents: int
    reused_documents: int
    seconds: float
    path: Path
    # Seconds per build stage (load, chunk, model_load, embed, write) and how many texts were embedded.
    stages: dict[str, float] = field(default_factory=dict)
    embedded_texts: int = 0
    # Files of the corpus left out, with the reason (path relative to the corpus, why).
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _dense_index(vectors: np.ndarray, settings: Settings) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) > settings.ann_threshold:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        index.hnsw.efSearch = settings.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


class IndexBuilder:
    """Builds or refreshes the index for a corpus; re-embeds only documents whose text changed."""

    def __init__(self, settings: Settings, encoder: Encoder | None = None):
        self.settings = settings
        self._encoder = encoder
        self.chunker = Chunker(settings.chunk_words, settings.chunk_overlap_words)

    # The model loads only when something must be embedded: an up-to-date check stays fast.
    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = Encoder.from_settings(self.settings)
        return self._encoder

    def _parameters(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "model": self._encoder.name if self._encoder else resolve_model(self.settings.model)[0],
            "encoder_backend": self._encoder.backend if self._encoder else self.settings.encoder_backend,
            "chunking": {"chunk_words": self.settings.chunk_words, "overlap_words": self.settings.chunk_overlap_words},
            "sentence_vectors": self.settings.embed_sentences,
            "ann_threshold": self.settings.ann_threshold,
        }

    def _up_to_date(self, previous: dict | None, fingerprint: str) -> bool:
        return (previous is not None and previous.get("corpus_fingerprint") == fingerprint
                and all(previous.get(k) == v for k, v in self._parameters().items()))

    def run(self, corpus_dir: Path, index_dir: Path, progress: bool = False, force: bool = False,
            uploads: UploadStore | None = None) -> BuildReport:
        """Build or refresh the index of a corpus folder and of the documents uploaded through the API (`uploads`),
        holding the index's write lock throughout (IndexLocked when another build holds it past
        RAG_INDEX_LOCK_TIMEOUT_S). An unreadable or damaged live index is rebuilt as if there were none. A folder
        file whose doc_id an upload holds is skipped: the upload was acknowledged, the file can be renamed."""
        started = time.perf_counter()
        corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
        with write_lock(index_dir, self.settings.index_lock_timeout_s):
            clean(index_dir)
            stored, through_seq = uploads.snapshot() if uploads is not None else ([], 0)
            fingerprint = (corpus_fingerprint(corpus_dir) if corpus_dir.is_dir() else "") + \
                (f"+uploads@{through_seq}" if through_seq else "")
            previous = read_manifest(index_dir)
            if not force and self._up_to_date(previous, fingerprint):
                return self._unchanged(previous, index_dir, started)
            documents, skipped = load_corpus(corpus_dir, LoadLimits.from_settings(self.settings)) \
                if corpus_dir.is_dir() or not stored else ([], [])
            taken = {u.document.doc_id for u in stored}
            skipped += [(f"{d.doc_id}.{d.metadata.get('format', '')}",
                         f"doc_id {d.doc_id!r} is taken by an uploaded document; rename the file or delete the "
                         "upload") for d in documents if d.doc_id in taken]
            documents = [d for d in documents if d.doc_id not in taken] + [u.document for u in stored]
            if not documents:
                reasons = "".join(f"\n  skipped {name}: {why}" for name, why in skipped)
                raise ValueError(f"no documents with text in {corpus_dir} (supported: .txt .md .html .pdf .docx)"
                                 + reasons)
            key = vectors_key(self._parameters())
            cached = {}
            for upload in stored:
                if (found := upload.vectors_for(key)) is not None:
                    cached[document_hash(upload.document)] = CachedDocument(*found)
            loaded = time.perf_counter()
            report = self._build(documents, index_dir, fingerprint, progress, previous, skipped, through_seq,
                                 cached)
        if uploads is not None and previous is not None:
            # Both kept generations hold every change up to the older one's: the log before it is not needed.
            uploads.forget_changes_through(int(previous.get("through_seq", 0)))
        report.stages = {"load": round(loaded - started, 3), **report.stages}
        report.seconds = time.perf_counter() - started
        return report

    def build(self, documents: list[Document], index_dir: Path, fingerprint: str | None = None,
              progress: bool = False, force: bool = False) -> BuildReport:
        """Index in-memory documents (benchmarks build their corpora this way, with no files on disk), under the
        write lock like `run`.

        `fingerprint` identifies the collection; by default a hash of the documents themselves. Unless
        `force`, an index built from the same fingerprint and parameters is left as it is.
        """
        started = time.perf_counter()
        index_dir = Path(index_dir)
        if not documents:
            raise ValueError("no documents to index")
        if len({d.doc_id for d in documents}) != len(documents):
            raise ValueError("documents to index must have distinct doc_ids")
        fingerprint = documents_fingerprint(documents) if fingerprint is None else fingerprint
        with write_lock(index_dir, self.settings.index_lock_timeout_s):
            clean(index_dir)
            previous = read_manifest(index_dir)
            if not force and self._up_to_date(previous, fingerprint):
                return self._unchanged(previous, index_dir, started)
            return self._build(documents, index_dir, fingerprint, progress, previous)

    @staticmethod
    def _unchanged(previous: dict, index_dir: Path, started: float) -> BuildReport:
        return BuildReport("up to date", previous["documents"], previous["chunks"], 0, previous["documents"],
                           time.perf_counter() - started, index_dir,
                           skipped=[(s["path"], s["reason"]) for s in previous.get("skipped", [])])

    def _build(self, documents: list[Document], index_dir: Path, fingerprint: str, progress: bool,
               previous: dict | None, skipped: list[tuple[str, str]] = (), through_seq: int = 0,
               cached_uploads: dict[str, CachedDocument] | None = None) -> BuildReport:
        started = time.perf_counter()
        parameters = self._parameters()
        reusable = {**(cached_uploads or {}), **self._reusable(index_dir, previous, parameters)}

        sentences: list[Span] = []
        chunks: list[Chunk] = []
        hashes: list[str] = []
        cached: list[CachedDocument | None] = []
        for document in documents:
            doc_sentences = split_sentences(document)
            doc_chunks = self.chunker.run(document, doc_sentences, first_index=len(sentences))
            digest = document_hash(document)
            hit = reusable.get(digest)
            cached.append(hit if hit is not None and len(hit.chunk_vectors) == len(doc_chunks) else None)
            sentences.extend(doc_sentences)
            chunks.extend(doc_chunks)
            hashes.append(digest)

        # Only changed documents are embedded, chunks and sentences in one call so the encoder batches texts of
        # similar length across both; when none changed, the model does not load.
        changed = [i for i, hit in enumerate(cached) if hit is None]
        changed_ids = {documents[i].doc_id for i in changed}
        titles = {d.doc_id: d.title for d in documents}
        texts = {d.doc_id: d.text for d in documents}
        new_chunks = [c for c in chunks if c.doc_id in changed_ids]
        new_sentences = [s for s in sentences if s.doc_id in changed_ids] if self.settings.embed_sentences else []
        to_embed = [embedding_text(titles[c.doc_id], texts[c.doc_id][c.start:c.end]) for c in new_chunks] + \
            [texts[s.doc_id][s.start:s.end] for s in new_sentences]
        split = time.perf_counter()
        encoder = self.encoder if to_embed else None
        loaded = time.perf_counter()
        vectors = encoder.encode(to_embed, progress=progress) if encoder else None
        dimension = self.encoder.dimension if changed else previous["dimension"]
        chunk_vectors = iter(vectors[:len(new_chunks)] if vectors is not None else [])
        sentence_vectors = iter(vectors[len(new_chunks):] if vectors is not None else [])
        embedded = time.perf_counter()
        chunk_counts = Counter(c.doc_id for c in new_chunks)
        sentence_counts = Counter(s.doc_id for s in new_sentences)
        chunk_parts, sentence_parts = [], []
        for document, hit in zip(documents, cached):
            if hit is None:
                hit = CachedDocument(
                    np.array([next(chunk_vectors) for _ in range(chunk_counts[document.doc_id])], dtype=np.float32),
                    np.array([next(sentence_vectors) for _ in range(sentence_counts[document.doc_id])],
                             dtype=np.float32)
                    if self.settings.embed_sentences else None)
            chunk_parts.append(hit.chunk_vectors)
            sentence_parts.append(hit.sentence_vectors)

        manifest = {
            **parameters,
            "corpus_fingerprint": fingerprint,
            "documents": len(documents),
            "chunks": len(chunks),
            "sentences": len(sentences),
            "dimension": dimension,
            "dense_index": "hnsw" if len(chunks) > self.settings.ann_threshold else "flat",
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),  # chunking and embedding, before the write
            "skipped": [{"path": name, "reason": why} for name, why in skipped],
            "through_seq": through_seq,  # the last upload change (rag.uploads) this generation holds
        }
        self._write(index_dir, manifest, documents, hashes, sentences, chunks,
                    np.concatenate(chunk_parts).reshape(-1, dimension),
                    np.concatenate(sentence_parts).reshape(-1, dimension)
                    if self.settings.embed_sentences else None)
        done = time.perf_counter()
        stages = {"chunk": split - started, "model_load": loaded - split, "embed": embedded - loaded,
                  "write": done - embedded}
        return BuildReport("built", len(documents), len(chunks), len(changed), len(documents) - len(changed),
                           done - started, index_dir, {k: round(v, 3) for k, v in stages.items()}, len(to_embed),
                           list(skipped))

    def _reusable(self, index_dir: Path, previous: dict | None, parameters: dict) -> dict[str, CachedDocument]:
        """Vectors of the live index by document hash, when made the same way (the search index type, for one,
        does not change them)."""
        if previous is None or any(previous.get(k) != parameters[k] for k in REUSE_KEYS):
            return {}
        try:
            old = load_index(index_dir)
        except (OSError, ValueError, KeyError, RuntimeError):  # an unreadable old index is simply not reused
            return {}
        # The generation load_index verified, not a second lookup (which would hash every file again).
        hashes = json.loads((index_dir / old.manifest["generation"] / "document_hashes.json").read_text())
        chunk_doc = np.array([old.doc_index[c.doc_id] for c in old.chunks])
        sentence_doc = np.array([old.doc_index[s.doc_id] for s in old.sentences])
        return {
            digest: CachedDocument(
                old.chunk_vectors[chunk_doc == i],
                old.sentence_vectors[sentence_doc == i] if old.sentence_vectors is not None else None)
            for i, digest in enumerate(hashes)
        }

    def _write(self, index_dir: Path, manifest: dict, documents: list[Document], hashes: list[str],
               sentences: list[Span], chunks: list[Chunk], chunk_vectors: np.ndarray,
               sentence_vectors: np.ndarray | None) -> None:
        # Names sort by time (to the microsecond): the newest intact generation is the fallback.
        name = f"gen-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
        staging = index_dir / f".{name}.tmp"
        staging.mkdir()
        try:
            doc_number = {d.doc_id: i for i, d in enumerate(documents)}
            with open(staging / "documents.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps({"doc_id": d.doc_id, "title": d.title, "metadata": d.metadata,
                                          "origin": d.origin, "added_at": d.added_at, "text": d.text},
                                         ensure_ascii=False) + "\n" for d in documents)
            (staging / "document_hashes.json").write_text(json.dumps(hashes))
            np.save(staging / "sentences.npy",
                    np.array([(doc_number[s.doc_id], s.start, s.end) for s in sentences], dtype=np.int64).reshape(-1, 3))
            np.save(staging / "chunks.npy",
                    np.array([(doc_number[c.doc_id], c.start, c.end, c.first_sentence, c.last_sentence)
                              for c in chunks], dtype=np.int64).reshape(-1, 5))
            np.save(staging / "chunk_vectors.npy", chunk_vectors)
            if sentence_vectors is not None:
                np.save(staging / "sentence_vectors.npy", sentence_vectors)
            faiss.write_index(_dense_index(chunk_vectors, self.settings), str(staging / "dense.faiss"))
            by_id = {d.doc_id: d for d in documents}
            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
            tokens = bm25_tokens([embedding_text(by_id[c.doc_id].title, by_id[c.doc_id].text[c.start:c.end])
                                  for c in chunks])
            bm25.index(tokens, show_progress=False)
            bm25.save(str(staging / "bm25"), show_progress=False)
            # Chunks added to a live index later are scored with this (rag.index.LexicalIndex).
            manifest["bm25_average_length"] = sum(map(len, tokens)) / len(tokens)
            commit(index_dir, staging, name, manifest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        clean(index_dir)
