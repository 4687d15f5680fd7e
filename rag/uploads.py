"""Documents written through the API, kept durably in SQLite (`<data dir>/documents.sqlite3`): each one's
original file, its stored text and metadata, and its vectors; and the numbered log of changes. A write is one
transaction (WAL journal, synchronous=FULL), so it is there after a crash once acknowledged and absent when the
crash came first. A generation's manifest records the last change it holds (`through_seq`); a server replays the
changes after it, and a build folds them in."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

import numpy as np

from rag.documents import Document
from rag.sqlite_store import SQLiteStore

DATABASE_FILE = "documents.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    doc_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    added_at TEXT NOT NULL,
    filename TEXT,
    media_type TEXT,
    original BLOB,
    vectors BLOB,
    vectors_key TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
    doc_id TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class UploadConflict(RuntimeError):
    """Another process changed the same document between the check and the write."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class Original:
    """The file as it was uploaded (None for a JSON body: its text is the original)."""

    filename: str
    media_type: str
    data: bytes


@dataclass(slots=True)
class StoredUpload:
    document: Document
    seq: int
    vectors_key: str | None
    vectors: bytes | None

    def vectors_for(self, key: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(chunk vectors, sentence vectors) when they were made the way `key` says, else None."""
        if self.vectors is None or self.vectors_key != key:
            return None
        with np.load(io.BytesIO(self.vectors)) as arrays:
            return arrays["chunks"], (arrays["sentences"] if "sentences" in arrays else None)


def pack_vectors(chunk_vectors: np.ndarray, sentence_vectors: np.ndarray | None) -> bytes:
    buffer = io.BytesIO()
    arrays = {"chunks": chunk_vectors} | ({"sentences": sentence_vectors} if sentence_vectors is not None else {})
    np.savez(buffer, **arrays)
    return buffer.getvalue()


class UploadStore(SQLiteStore):
    """Uploaded documents (originals, text, vectors) and the numbered log of their changes."""

    FILE = DATABASE_FILE
    SCHEMA = _SCHEMA

    def put(self, document: Document, vectors: bytes, vectors_key: str, original: Original | None,
            must_exist: bool | None = None) -> int:
        """Add or replace one document; its change number once committed. With `must_exist` True (a replacement)
        or False (an addition), UploadConflict when another process's write made that untrue meanwhile."""
        with self._lock:
            db = self._db(create=True)
            db.execute("BEGIN IMMEDIATE")
            try:
                exists = db.execute("SELECT 1 FROM uploads WHERE doc_id = ?", (document.doc_id,)).fetchone()
                if must_exist is not None and bool(exists) != must_exist:
                    raise UploadConflict(f"doc_id {document.doc_id!r} was {'deleted' if must_exist else 'added'} "
                                         "by another writer meanwhile")
                seq = db.execute("INSERT INTO changes (op, doc_id, at) VALUES ('put', ?, ?)",
                                 (document.doc_id, now())).lastrowid
                db.execute(
                    "INSERT OR REPLACE INTO uploads (doc_id, seq, title, text, metadata, added_at, filename, "
                    "media_type, original, vectors, vectors_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (document.doc_id, seq, document.title, document.text, json.dumps(document.metadata),
                     document.added_at or now(), original.filename if original else None,
                     original.media_type if original else None, original.data if original else None, vectors,
                     vectors_key))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return seq

    def delete(self, doc_id: str) -> int:
        with self._lock:
            db = self._db(create=True)
            db.execute("BEGIN IMMEDIATE")
            try:
                if not db.execute("SELECT 1 FROM uploads WHERE doc_id = ?", (doc_id,)).fetchone():
                    raise UploadConflict(f"doc_id {doc_id!r} was deleted by another writer meanwhile")
                seq = db.execute("INSERT INTO changes (op, doc_id, at) VALUES ('delete', ?, ?)",
                                 (doc_id, now())).lastrowid
                db.execute("DELETE FROM uploads WHERE doc_id = ?", (doc_id,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return seq

    def last_seq(self) -> int:
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return 0
            return int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])

    def changes_since(self, seq: int) -> list[tuple[int, str, str]]:
        """(seq, op, doc_id) of every change after `seq`, oldest first."""
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return []
            return db.execute("SELECT seq, op, doc_id FROM changes WHERE seq > ? ORDER BY seq", (seq,)).fetchall()

    def get(self, doc_id: str) -> StoredUpload | None:
        with self._lock:
            db = self._db(create=False)
            row = db.execute(f"{_SELECT} WHERE doc_id = ?", (doc_id,)).fetchone() if db else None
        return _stored(row) if row else None

    def snapshot(self) -> tuple[list[StoredUpload], int]:
        """Every stored upload and the last change number, read in one transaction (what a build holds)."""
        with self._lock:
            db = self._db(create=False)
            if db is None:
                return [], 0
            db.execute("BEGIN")
            try:
                rows = db.execute(f"{_SELECT} ORDER BY doc_id").fetchall()
                seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])
            finally:
                db.execute("COMMIT")
        return [_stored(r) for r in rows], seq

    def original(self, doc_id: str) -> Original | None:
        with self._lock:
            db = self._db(create=False)
            row = db.execute("SELECT filename, media_type, original FROM uploads WHERE doc_id = ?",
                             (doc_id,)).fetchone() if db else None
        return Original(*row) if row and row[2] is not None else None

    def forget_changes_through(self, seq: int) -> None:
        """Drop the log up to `seq` (changes every kept generation holds); the uploads stay."""
        with self._lock:
            db = self._db(create=False)
            if db is not None:
                db.execute("DELETE FROM changes WHERE seq <= ? AND seq < (SELECT MAX(seq) FROM changes)", (seq,))


_SELECT = "SELECT doc_id, seq, title, text, metadata, added_at, vectors_key, vectors FROM uploads"


def _stored(row) -> StoredUpload:
    doc_id, seq, title, text, metadata, added_at, key, vectors = row
    return StoredUpload(Document(doc_id, title, text, json.loads(metadata), "upload", added_at), seq, key, vectors)
