"""The live collection: documents added, replaced and deleted while the service answers, and new generations
picked up without a restart.

A write prepares its one document (sentences, chunks, vectors, BM25 tokens), commits it to the upload store
(rag.uploads: durable once it returns) and installs a new index snapshot derived from the current one
(rag.index.Index.changed). One writer at a time; readers keep the snapshot they started with and never wait.
Before answering, `refresh` replays changes other processes committed and, when `index/CURRENT` names a new
generation (`rag index`, or this process's own checkpoint), loads it in the background and swaps it in with the
changes since it replayed on top. Past RAG_CHECKPOINT_CHUNKS chunks added or deleted since the generation, a
background build folds them into a new one.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.chunking import Chunker, split_sentences
from rag.documents import Document
from rag.embedding import Encoder
from rag.generations import CURRENT_FILE, IndexLocked
from rag.index import Index, PreparedDocument, bm25_tokens, embedding_text, load_index
from rag.settings import Settings
from rag.store import IndexBuilder, vectors_key
from rag.uploads import Original, UploadConflict, UploadStore, now, pack_vectors

logger = logging.getLogger("rag.collection")


class DocumentConflict(RuntimeError):
    """The write contradicts the collection (409): the doc_id is taken, or the document belongs to the folder."""


class DocumentMissing(LookupError):
    """No document has this doc_id (404)."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    doc_id: str
    title: str
    chunks: int
    sentences: int
    seq: int


class LiveCollection:
    def __init__(self, settings: Settings, encoder: Encoder, index: Index, uploads: UploadStore | None,
                 install: Callable[[Index], None]):
        self.settings = settings
        self.encoder = encoder
        self.uploads = uploads
        self._install = install
        self._chunker = Chunker(settings.chunk_words, settings.chunk_overlap_words)
        self._write_lock = threading.RLock()
        self._background: threading.Thread | None = None
        self._index = index
        self.applied_seq = int(index.manifest.get("through_seq", 0))
        self._seen_current = self._current()
        self.replay()

    @property
    def index(self) -> Index:
        return self._index

    def _set(self, index: Index) -> None:
        self._index = index
        self._install(index)

    def _vectors_key(self) -> str:
        return vectors_key(IndexBuilder(self.settings, self.encoder)._parameters())

    # -- writes ------------------------------------------------------------------------------------------------

    def prepare(self, document: Document, vectors=None) -> PreparedDocument:
        """Sentences, chunks, BM25 tokens and (unless given) vectors of one document."""
        sentences = split_sentences(document)
        chunks = self._chunker.run(document, sentences)
        chunk_texts = [embedding_text(document.title, document.text[c.start:c.end]) for c in chunks]
        if vectors is None:
            sentence_texts = [document.text[s.start:s.end] for s in sentences] if self.settings.embed_sentences else []
            embedded = self.encoder.encode(chunk_texts + sentence_texts)
            vectors = embedded[:len(chunks)], embedded[len(chunks):] if self.settings.embed_sentences else None
        return PreparedDocument(document, sentences, chunks, vectors[0], vectors[1], bm25_tokens(chunk_texts))

    def put(self, document: Document, original: Original | None = None, replace: bool = False) -> WriteResult:
        """Add (replace=False) or replace an uploaded document; answerable when this returns."""
        document = dataclasses.replace(document, origin="upload", added_at=now())
        with self._write_lock:
            self.replay()
            self._check_writable(document.doc_id, must_exist=replace)
            prepared = self.prepare(document)
            try:
                seq = self.uploads.put(document, pack_vectors(prepared.chunk_vectors, prepared.sentence_vectors),
                                       self._vectors_key(), original, must_exist=replace)
            except UploadConflict as exc:
                raise (DocumentMissing if replace else DocumentConflict)(str(exc)) from None
            self.replay(through=seq - 1)  # another process's changes committed meanwhile come first
            self._apply(seq, [document.doc_id] if self._index.document(document.doc_id) else [], [prepared])
        self._maybe_checkpoint()
        return WriteResult(document.doc_id, document.title, len(prepared.chunks), len(prepared.sentences), seq)

    def delete(self, doc_id: str) -> int:
        with self._write_lock:
            self.replay()
            self._check_writable(doc_id, must_exist=True)
            try:
                seq = self.uploads.delete(doc_id)
            except UploadConflict as exc:
                raise DocumentMissing(str(exc)) from None
            self.replay(through=seq - 1)
            self._apply(seq, [doc_id] if self._index.document(doc_id) else [], [])
        self._maybe_checkpoint()
        return seq

    def _check_writable(self, doc_id: str, must_exist: bool) -> None:
        if self.uploads is None:
            raise DocumentConflict("this collection was loaded without an upload store; it is read-only")
        existing = self._index.document(doc_id)
        if existing is not None and existing.origin == "folder":
            raise DocumentConflict(f"{doc_id!r} comes from the documents folder ({self.settings.corpus_dir}); "
                                   "change or remove the file there and run `rag index`")
        if must_exist and existing is None:
            raise DocumentMissing(f"unknown doc_id: {doc_id}")
        if not must_exist and existing is not None:
            raise DocumentConflict(f"doc_id {doc_id!r} exists; replace it with PUT /documents/{doc_id}")

    def _apply(self, seq: int, removed: list[str], added: list[PreparedDocument]) -> None:
        index = self._index.changed(removed, added, dict(self._index.manifest))
        live = len(index.chunks) if index.live_chunks is None else int(index.live_chunks.sum())
        # What /health reports: the collection as served, and how much of it is not yet in a generation.
        index.manifest.update(documents=len(index.documents), chunks=live, applied_seq=seq,
                              pending_chunks=len(index.chunks) - index.dense.ntotal)
        self._set(index)
        self.applied_seq = seq

    # -- changes from elsewhere --------------------------------------------------------------------------------

    def replay(self, through: int | None = None) -> int:
        """Apply the upload store's changes after those applied (up to `through`); how many there were."""
        if self.uploads is None:
            return 0
        with self._write_lock:
            changes = [c for c in self.uploads.changes_since(self.applied_seq) if through is None or c[0] <= through]
            key = self._vectors_key() if changes else ""
            for seq, op, doc_id in changes:
                present = [doc_id] if self._index.document(doc_id) is not None else []
                stored = self.uploads.get(doc_id) if op == "put" else None
                if stored is None:  # deleted, or replaced and since deleted: nothing of it stays
                    self._apply(seq, present, [])
                    continue
                prepared = self.prepare(stored.document, stored.vectors_for(key))
                self._apply(seq, present, [prepared])
            return len(changes)

    def refresh(self) -> None:
        """Cheap when nothing changed (a file read and one SQLite query): replays other processes' writes now
        (unless a write is under way here), and starts loading a new generation in the background when CURRENT
        names one."""
        current = self._current()
        # Once per new name: a generation that fails to load (or a CURRENT that names a damaged one, served by
        # its fallback) is not retried on every request.
        if current and current != self._seen_current and not self._busy():
            self._seen_current = current
            self._start(self._reload, "reload")
        # Readers never wait for a writer: while one holds the lock, it replays these itself before it applies.
        if self.uploads is not None and self.uploads.last_seq() > self.applied_seq and \
                self._write_lock.acquire(blocking=False):
            try:
                self.replay()
            finally:
                self._write_lock.release()

    def _current(self) -> str | None:
        try:
            return (self.settings.index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def _busy(self) -> bool:
        return self._background is not None and self._background.is_alive()

    def _start(self, target: Callable[[], None], name: str) -> None:
        self._background = threading.Thread(target=target, name=f"rag-{name}", daemon=True)
        self._background.start()

    def _reload(self) -> None:
        try:
            fresh = load_index(self.settings.index_dir, self.encoder.name, self.encoder.backend)
        except Exception as exc:  # a generation that cannot be read is not served; the current one stays
            logger.warning("kept serving %s: the new generation could not be loaded (%s)",
                           self._index.manifest.get("generation"), exc)
            return
        with self._write_lock:
            self._seen_current = fresh.manifest["generation"]
            self._index, self.applied_seq = fresh, int(fresh.manifest.get("through_seq", 0))
            self.replay()
            self._set(self._index)
        logger.info("serving generation %s", fresh.manifest["generation"])

    def _needs_checkpoint(self) -> bool:
        index = self._index
        deleted = 0 if index.live_chunks is None else int((~index.live_chunks).sum())
        return len(index.chunks) - index.dense.ntotal + deleted >= self.settings.checkpoint_chunks

    def _maybe_checkpoint(self) -> None:
        if self._needs_checkpoint() and not self._busy():
            self._start(self._checkpoint, "checkpoint")

    def _checkpoint(self) -> None:
        """Builds of the folder and the uploads (what `rag index` does) until the writes made meanwhile are below
        the threshold again, each generation loaded as it lands."""
        for _ in range(3):
            started = time.perf_counter()
            try:
                IndexBuilder(self.settings, self.encoder).run(self.settings.corpus_dir, self.settings.index_dir,
                                                              uploads=self.uploads)
            except IndexLocked:
                return  # another build is writing the index: it folds the changes in
            except Exception:
                logger.exception("checkpoint failed; the changes stay in the upload store and are replayed")
                return
            logger.info("checkpoint built in %.1f s", time.perf_counter() - started)
            self._reload()
            if not self._needs_checkpoint():
                return
