"""What a file must be before a parser sees it: not empty, not too large, and what its extension says (text that
is text, a PDF that starts like one, a .docx whose zip entries stay small when unpacked). Each failure is a
LoadError naming the file and the reason, so a corpus build skips the file and an upload gets a 422."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})
# A share of control characters (other than tab, newline, carriage return, form feed) or undecodable bytes above
# this is binary data, not text with a stray byte.
MAX_BINARY_SHARE = 0.01
# Deflate reaches ~10:1 on XML; 100:1 and more is how zip bombs look.
MAX_ZIP_RATIO = 100


class LoadError(ValueError):
    """A file that cannot be read as a document."""


@dataclass(frozen=True, slots=True)
class LoadLimits:
    max_document_chars: int = 2_000_000
    max_pdf_pages: int = 2_000
    max_docx_unpacked_bytes: int = 100_000_000

    @classmethod
    def from_settings(cls, settings) -> LoadLimits:
        return cls(settings.max_document_chars, settings.max_pdf_pages, settings.max_docx_unpacked_mb * 1_000_000)


def _binary_share(text: str) -> float:
    controls = sum(1 for c in text if (c < " " and c not in "\t\n\r\f") or c == "\ufffd")
    return controls / max(1, len(text))


def read_text_file(path: Path, limits: LoadLimits) -> str:
    """The file as text: UTF-8 (a few undecodable bytes become U+FFFD) or else Windows-1252; refused when it is
    binary either way, or larger than the document limit allows."""
    # UTF-8 takes at most 4 bytes a character: a file this large cannot hold an allowed document.
    if path.stat().st_size > 4 * limits.max_document_chars:
        raise LoadError(f"{path.name}: too large ({path.stat().st_size:,} bytes; the limit is "
                        f"{limits.max_document_chars:,} characters, RAG_MAX_DOCUMENT_CHARS)")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise LoadError(f"{path.name}: binary data, not text (NUL bytes)")
    text = data.decode("utf-8", errors="replace")
    if _binary_share(text[:65536]) > MAX_BINARY_SHARE:
        # Not UTF-8: Windows-1252 (a superset of Latin-1) is what most other text files are written in.
        text = data.decode("cp1252", errors="replace")
    share = _binary_share(text[:65536])
    if share > MAX_BINARY_SHARE:
        raise LoadError(f"{path.name}: binary data, not text ({share:.0%} control characters or undecodable "
                        "bytes)")
    return text


def check_file(path: Path, limits: LoadLimits) -> None:
    """Refuse, before parsing, a file that is empty or whose bytes are not what its extension says."""
    size = path.stat().st_size
    if size == 0:
        raise LoadError(f"{path.name}: empty file")
    suffix = path.suffix.lower()
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if suffix == ".pdf" and b"%PDF-" not in head:
        raise LoadError(f"{path.name}: not a PDF (no %PDF- header)")
    if suffix == ".docx":
        _check_docx(path, limits)


def _check_docx(path: Path, limits: LoadLimits) -> None:
    if not zipfile.is_zipfile(path):
        raise LoadError(f"{path.name}: not a .docx (no zip archive inside)")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"{path.name}: unreadable .docx: {exc}") from None
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limits.max_docx_unpacked_bytes:
        raise LoadError(f"{path.name}: unpacks to {unpacked:,} bytes, over the limit of "
                        f"{limits.max_docx_unpacked_bytes:,} (RAG_MAX_DOCX_UNPACKED_MB)")
    for entry in entries:
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_ZIP_RATIO:
            raise LoadError(f"{path.name}: {entry.filename} unpacks {entry.file_size / entry.compress_size:.0f} "
                            "times its packed size (a zip bomb?)")
    if "word/document.xml" not in {e.filename for e in entries}:
        raise LoadError(f"{path.name}: not a .docx (no word/document.xml in the archive)")
