"""The durable SQLite file both stores under the data dir build on (uploads, feedback): one connection per
store, opened on first use, WAL journal and synchronous=FULL, so a committed write survives a crash."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SQLiteStore:
    """One connection, used under `_lock` (SQLite serializes writers across processes, too). Subclasses name
    their FILE and SCHEMA (CREATE ... IF NOT EXISTS statements)."""

    FILE: str
    SCHEMA: str

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / self.FILE
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _db(self, create: bool) -> sqlite3.Connection | None:
        """The connection; None when the file does not exist yet and `create` is false (a read of nothing)."""
        if self._connection is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(self.SCHEMA)
            self._connection = connection
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
