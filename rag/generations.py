"""The index directory's lifecycle: one writer at a time, checksummed generations, an atomic switch, and the last
good generation kept (the pattern of Elasticsearch's write lock, checksummed segments and kept commits).

Layout: `index/CURRENT` names the live generation `index/gen-<time>-<id>/`; each generation's `manifest.json`
lists the size and SHA-256 of every other file in it. A writer holds `index/.lock` (an OS file lock, released
when its process dies, even by SIGKILL), stages a generation in `.gen-*.tmp`, fsyncs it, renames it into place
and only then replaces CURRENT. The generation before it stays on disk, so a damaged or missing CURRENT falls back
to the newest generation whose files still match their checksums.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".lock"
GENERATION_GLOB = "gen-*"
REBUILD = "rebuild it with `rag index --force`"

logger = logging.getLogger("rag.index")


class IndexNotFound(FileNotFoundError):
    pass


class IndexDamaged(RuntimeError):
    """A file of the index is missing, truncated or changed since it was written."""


class IndexLocked(RuntimeError):
    """Another process is writing the index."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(directory: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file under `directory` but the manifest, by relative path."""
    return {str(p.relative_to(directory)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(directory.rglob("*")) if p.is_file() and p.name != MANIFEST_FILE}


def verify(generation: Path) -> dict[str, Any]:
    """The generation's manifest, once every file it lists has its recorded size and checksum; IndexDamaged
    naming the first file that does not."""
    try:
        manifest = json.loads((generation / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexDamaged(f"{generation / MANIFEST_FILE} is missing; {REBUILD}") from None
    except (OSError, ValueError) as exc:
        raise IndexDamaged(f"{generation / MANIFEST_FILE} is unreadable ({exc}); {REBUILD}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise IndexDamaged(f"{generation / MANIFEST_FILE} lists no checksums (an older or damaged index); {REBUILD}")
    for name, expected in files.items():
        path = generation / name
        if not path.is_file():
            raise IndexDamaged(f"{path} is missing; {REBUILD}")
        if path.stat().st_size != expected.get("bytes"):
            raise IndexDamaged(f"{path} is {path.stat().st_size} bytes, {expected.get('bytes')} were written; {REBUILD}")
        if _sha256(path) != expected.get("sha256"):
            raise IndexDamaged(f"{path} does not match its checksum (changed or damaged on disk); {REBUILD}")
    return manifest


def _pointed(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    generation = index_dir / name
    ok = name.startswith("gen-") and "/" not in name and generation.is_dir()
    return generation if ok else None


def live_generation(index_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The generation CURRENT names, verified; when CURRENT is missing or names a damaged generation, the newest
    intact one, with a warning. None when the directory holds no generation at all; IndexDamaged when it holds
    only damaged ones."""
    index_dir = Path(index_dir)
    pointed = _pointed(index_dir)
    problem = None
    if pointed is not None:
        try:
            return pointed, verify(pointed)
        except IndexDamaged as exc:
            problem = str(exc)
    others = sorted((g for g in index_dir.glob(GENERATION_GLOB) if g.is_dir() and g != pointed), reverse=True)
    for generation in others:
        try:
            manifest = verify(generation)
        except IndexDamaged:
            continue
        logger.warning("%s; serving the previous generation %s until the next build",
                       problem or f"{index_dir / CURRENT_FILE} is missing or names no generation", generation.name)
        return generation, manifest
    if problem:
        raise IndexDamaged(problem)
    if others:
        raise IndexDamaged(f"no intact generation in {index_dir}; {REBUILD}")
    return None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The live generation's manifest, or None when there is no intact one (a build then starts afresh)."""
    try:
        found = live_generation(Path(index_dir))
    except IndexDamaged:
        return None
    return None if found is None else found[1]


@contextlib.contextmanager
def write_lock(index_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the index's write lock: IndexLocked when another process holds it for longer than `timeout`
    seconds. The OS drops the lock with its holder, so a killed build never leaves the index locked."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(index_dir / LOCK_FILE, "a+", encoding="utf-8") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    raise IndexLocked(f"{index_dir} is being written by {holder}; try again when it has "
                                      "finished") from None
                time.sleep(0.05)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(index_dir: Path, staging: Path, name: str, manifest: dict[str, Any]) -> Path:
    """Make a staged generation the live one: checksums into its manifest, every file and directory synced,
    renamed into place, then CURRENT replaced atomically. Call with the write lock held."""
    manifest = {**manifest, "files": file_checksums(staging)}
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for path in sorted(staging.rglob("*"), reverse=True):  # files before the directories that hold them
        _fsync(path)
    _fsync(staging)
    generation = index_dir / name
    staging.rename(generation)
    _fsync(index_dir)
    _point(index_dir, name)
    return generation


def _point(index_dir: Path, name: str) -> None:
    pointer = index_dir / f".{CURRENT_FILE}.{name}.tmp"
    with open(pointer, "w", encoding="utf-8") as fh:
        fh.write(name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / CURRENT_FILE)
    _fsync(index_dir)


def _intact(generation: Path) -> bool:
    try:
        verify(generation)
    except IndexDamaged:
        return False
    return True


def clean(index_dir: Path) -> None:
    """Remove what interrupted writes left (staging directories, pointer files); point a missing or damaged
    CURRENT at the newest intact generation; keep that one and the newest intact one before it, delete the
    rest. With no intact generation at all, nothing but the leftovers is touched. Call with the write lock held."""
    index_dir = Path(index_dir)
    for leftover in [*index_dir.glob(".gen-*.tmp"), *index_dir.glob(f".{CURRENT_FILE}.*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    try:
        found = live_generation(index_dir)
    except IndexDamaged:
        return
    if found is None:
        return
    live = found[0]
    if live != _pointed(index_dir):
        _point(index_dir, live.name)
        logger.warning("%s now names %s, the newest intact generation", index_dir / CURRENT_FILE, live.name)
    generations = sorted((g for g in index_dir.glob(GENERATION_GLOB) if g.is_dir()), reverse=True)
    previous = next((g for g in generations if g != live and _intact(g)), None)
    for stale in generations:
        if stale not in (live, previous):
            shutil.rmtree(stale, ignore_errors=True)
