"""Load documents of any supported format into Document objects with normalized, stored text.

The text stored here is the one every offset points into, so all cleaning happens here, once. Every file is
checked before it is parsed (rag.file_checks); a corpus load skips a bad file with its reason instead of failing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from rag.documents import Document
from rag.file_checks import LoadError, LoadLimits, check_file, read_text_file

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
SIDECAR_SUFFIX = ".meta.yaml"

# Link teasers and share prompts that news pages paste between paragraphs.
BOILERPLATE_LINE = re.compile(
    r"^\s*(also read|read also|read more|related|recommended|click here|subscribe|follow us|advertisement)\b.*$",
    re.IGNORECASE,
)
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
HTML_DROP = "script, style, nav, header, footer, aside, noscript, form, iframe, svg, button"
HTML_BLOCKS = frozenset(
    """
p h1 h2 h3 h4 h5 h6 li blockquote pre figcaption dt dd td th caption div section article main ul ol dl
table thead tbody tfoot tr figure details summary address
""".split()
)


# C0 controls but tab and newline, and DEL: stray bytes that text extraction lets through.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class LoadedCorpus(NamedTuple):
    documents: list[Document]
    skipped: list[tuple[str, str]]  # (path relative to the corpus, why it was skipped)


def normalize_text(raw: str) -> str:
    """Unicode NFC, one space between words, paragraphs on their own lines, boilerplate lines dropped."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL_CHARACTERS.sub(" ", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t\u00a0\u2000-\u200b\u3000]+", " ", line).strip()
        if BOILERPLATE_LINE.match(line):
            continue
        lines.append(line)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def plain_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """YAML gives dates as date objects; keep metadata JSON-friendly and sources as a list."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()[:10]
        out[str(key)] = value
    sources = out.pop("sources", None) or []
    if isinstance(sources, str):
        sources = [sources]
    for single in ("source", "url"):
        if out.get(single) and out[single] not in sources:
            sources.append(out[single])
    if sources:
        out["sources"] = [str(s) for s in sources]
    if isinstance(out.get("tags"), str):
        out["tags"] = [t.strip() for t in out["tags"].split(",") if t.strip()]
    return out


def _read_txt(path: Path, limits: LoadLimits) -> tuple[str, dict[str, Any]]:
    text = read_text_file(path, limits)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return text, {"title": first_line[:200]} if first_line else {}


def _read_markdown(path: Path, limits: LoadLimits) -> tuple[str, dict[str, Any]]:
    text = read_text_file(path, limits).lstrip("\ufeff")
    meta: dict[str, Any] = {}
    match = FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"{path.name}: invalid YAML front matter: {exc}") from exc
        if not isinstance(meta, dict):
            raise LoadError(f"{path.name}: front matter must be a mapping")
        text = text.replace("\r\n", "\n")[match.end() :]
    if "title" not in meta:
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        if heading:
            meta["title"] = heading.group(1).strip()
    # Keep the words, drop the markup that would otherwise be quoted in answers.
    text = re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.MULTILINE)
    return text, meta


def _read_html(path: Path, limits: LoadLimits) -> tuple[str, dict[str, Any]]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(read_text_file(path, limits))
    meta: dict[str, Any] = {}
    title = tree.css_first("title")
    if title and title.text(strip=True):
        meta["title"] = title.text(strip=True)
    sources = []
    for node in tree.css("meta[name]"):
        name = (node.attributes.get("name") or "").lower()
        content = (node.attributes.get("content") or "").strip()
        if not content:
            continue
        if name in ("source", "sources"):
            sources.append(content)
        elif name in ("date", "type", "tags", "description", "author"):
            meta[name] = content
    if sources:
        meta["sources"] = sources
    for node in tree.css(HTML_DROP):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body
    if root is None:
        return "", meta
    if "title" not in meta and (h1 := root.css_first("h1")):
        meta["title"] = h1.text(strip=True)
    return "\n\n".join(_html_blocks(root)), meta


def _html_blocks(node) -> Iterator[str]:
    """Text of each innermost block element, so inline markup never splits a paragraph."""
    descendants = list(node.traverse(include_text=False))[1:]  # traverse() starts with the node itself
    if not any(child.tag in HTML_BLOCKS for child in descendants):
        text = " ".join(node.text(deep=True, separator="").split())
        if text:
            yield text
        return
    for child in node.iter(include_text=False):
        if child.tag in HTML_BLOCKS:
            yield from _html_blocks(child)


def _read_pdf(path: Path, limits: LoadLimits) -> tuple[str, dict[str, Any]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        if len(reader.pages) > limits.max_pdf_pages:
            raise LoadError(f"{path.name}: {len(reader.pages):,} pages, over the limit of {limits.max_pdf_pages:,} "
                            "(RAG_MAX_PDF_PAGES)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoadError(f"{path.name}: unreadable PDF: {exc}") from exc
    meta: dict[str, Any] = {}
    info = reader.metadata or {}
    if info.get("/Title"):
        meta["title"] = str(info["/Title"])
    if info.get("/Keywords"):
        meta["tags"] = str(info["/Keywords"])
    # A page break is not a paragraph break: sentences run on across pages.
    return _rejoin_pdf_lines("\n".join(page.strip() for page in pages)), meta


def _rejoin_pdf_lines(text: str) -> str:
    """PDF extraction breaks lines where the page wrapped them; rejoin wrapped lines into paragraphs.

    A line ends a paragraph when it closes a sentence, or is short and unpunctuated (a heading).
    """
    paragraphs: list[str] = []
    current: list[str] = []
    for line in (line.strip() for line in text.split("\n")):
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
        is_heading = len(current) == 1 and len(line) <= 60 and not re.search(r"[.,;:]$", line)
        if re.search(r"[.!?:][\"')\]]?$", line) or is_heading:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(re.sub(r"(\w)- (\w)", r"\1-\2", p) for p in paragraphs)


def _read_docx(path: Path, limits: LoadLimits) -> tuple[str, dict[str, Any]]:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zip and XML errors alike
        raise LoadError(f"{path.name}: unreadable .docx: {exc}") from exc
    props = document.core_properties
    meta: dict[str, Any] = {}
    if props.title:
        meta["title"] = props.title
    if props.keywords:
        meta["tags"] = props.keywords
    paragraphs = [p.text for p in document.paragraphs if p.text.strip()]
    if "title" not in meta and paragraphs:
        meta["title"] = paragraphs[0].strip()
    return "\n\n".join(paragraphs), meta


READERS: dict[str, Callable[[Path, LoadLimits], tuple[str, dict[str, Any]]]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


def doc_id_for(path: Path, root: Path) -> str:
    """Stable id from the path: relative path without its suffix, with forward slashes."""
    return path.relative_to(root).with_suffix("").as_posix()


def load_document(path: Path, root: Path | None = None, limits: LoadLimits = LoadLimits()) -> Document:
    """One file as a Document; LoadError naming the file and the reason when it is not one (empty, too large,
    not what its extension says, unparsable, no text in it)."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise LoadError(f"{path.name}: unsupported format {path.suffix!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    check_file(path, limits)
    raw, meta = reader(path, limits)
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if sidecar.exists():
        try:
            extra = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"{sidecar.name}: invalid YAML: {exc}") from exc
        meta.update(extra)
    meta = plain_metadata(meta)
    text = normalize_text(raw)
    if not text:
        raise LoadError(f"{path.name}: no text in it")
    if len(text) > limits.max_document_chars:
        raise LoadError(f"{path.name}: too large ({len(text):,} characters; the limit is "
                        f"{limits.max_document_chars:,}, RAG_MAX_DOCUMENT_CHARS)")
    doc_id = doc_id_for(path, root)
    title = str(meta.pop("title", "") or doc_id)
    meta["format"] = path.suffix.lower().lstrip(".")
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
    return Document(doc_id=doc_id, title=title, text=text, metadata=meta, added_at=modified)


def corpus_files(root: Path) -> list[Path]:
    """Every loadable file under root, in a stable order."""
    root = Path(root)
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.startswith(".")
        and p.name.lower() != "readme.md"
    )


def load_corpus(root: Path, limits: LoadLimits = LoadLimits()) -> LoadedCorpus:
    """All documents under root, and the files skipped with their reasons: one bad file never stops the rest.
    Of two files with one doc_id (same stem, two formats) the first in path order is kept."""
    root = Path(root)
    if not root.is_dir():
        raise LoadError(f"corpus directory not found: {root}")
    documents: dict[str, Document] = {}
    skipped: list[tuple[str, str]] = []
    for path in corpus_files(root):
        name = path.relative_to(root).as_posix()
        try:
            document = load_document(path, root, limits)
        except LoadError as exc:
            skipped.append((name, str(exc).removeprefix(f"{path.name}: ")))
            continue
        except Exception as exc:  # parsers raise their own types on hostile input; one file must not stop a build
            skipped.append((name, f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        if document.doc_id in documents:
            skipped.append((name, f"doc_id {document.doc_id!r} is taken by another file; rename one of them"))
            continue
        documents[document.doc_id] = document
    return LoadedCorpus(list(documents.values()), skipped)
