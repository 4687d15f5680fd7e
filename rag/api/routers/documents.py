"""The collection over HTTP: list and read documents; add, replace and delete uploaded ones (write key needed)."""

import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError

from rag.api.dependencies import ReaderDep, WriterDep
from rag.api.schemas import (
    DOC_ID_PATTERN,
    DateText,
    DocumentIn,
    DocumentList,
    DocumentOut,
    DocumentSummary,
    DocumentWritten,
    ErrorOut,
)
from rag.collection import DocumentConflict, DocumentMissing
from rag.documents import Document
from rag.file_checks import LoadError, LoadLimits
from rag.loaders import SUPPORTED_SUFFIXES, load_document, normalize_text, plain_metadata
from rag.uploads import Original

router = APIRouter(tags=["documents"])

_ERRORS = {status: {"model": ErrorOut} for status in (401, 403, 409, 413, 415, 422, 429)}
_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": DocumentIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": f"one of {', '.join(SUPPORTED_SUFFIXES)}"},
        "doc_id": {"type": "string", "description": "default: the file's name without its suffix"},
        "title": {"type": "string", "description": "default: the file's own title or first line"},
        "tags": {"type": "string", "description": "comma-separated"},
        "date": {"type": "string", "format": "date"}}}}}}}
_DATE = TypeAdapter(DateText)


def _summary(document: Document) -> DocumentSummary:
    return DocumentSummary(doc_id=document.doc_id, title=document.title, metadata=document.metadata,
                           origin=document.origin, added_at=document.added_at)


@router.get("/documents", response_model=DocumentList)
def list_documents(pipeline: ReaderDep) -> DocumentList:
    documents = pipeline.documents
    return DocumentList(count=len(documents), by_origin=dict(Counter(d.origin for d in documents)),
                        documents=[_summary(d) for d in documents])


@router.get("/documents/{doc_id:path}", response_model=DocumentOut, responses={404: {"model": ErrorOut}})
def get_document(doc_id: str, pipeline: ReaderDep) -> DocumentOut:
    """A document's stored text: citation offsets index into this text."""
    document = pipeline.document(doc_id)
    if document is None:
        raise HTTPException(404, f"unknown doc_id: {doc_id}")
    return DocumentOut(**_summary(document).model_dump(), text=document.text)


@router.post("/documents", status_code=201, response_model=DocumentWritten, responses=_ERRORS,
             openapi_extra=_BODY)
async def add_document(request: Request, pipeline: WriterDep) -> DocumentWritten:
    """Add a document (a file as multipart/form-data, or JSON); 201 once the next question can cite it."""
    return await _write(request, pipeline, None)


@router.put("/documents/{doc_id:path}", response_model=DocumentWritten,
            responses={**_ERRORS, 404: {"model": ErrorOut}}, openapi_extra=_BODY)
async def replace_document(doc_id: str, request: Request, pipeline: WriterDep) -> DocumentWritten:
    """Replace an uploaded document (same bodies as POST)."""
    return await _write(request, pipeline, doc_id)


@router.delete("/documents/{doc_id:path}", status_code=204, responses={**_ERRORS, 404: {"model": ErrorOut}})
async def delete_document(doc_id: str, pipeline: WriterDep) -> Response:
    """Delete an uploaded document: no answer, search or GET returns it afterwards."""
    try:
        await run_in_threadpool(pipeline.collection.delete, doc_id)
    except DocumentMissing as exc:
        raise HTTPException(404, str(exc)) from None
    except DocumentConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return Response(status_code=204)


async def _write(request: Request, pipeline, path_doc_id: str | None) -> DocumentWritten:
    started = time.perf_counter()
    document, original = await _received_document(request, pipeline.settings, path_doc_id)
    try:
        result = await run_in_threadpool(pipeline.collection.put, document, original, path_doc_id is not None)
    except DocumentMissing as exc:
        raise HTTPException(404, str(exc)) from None
    except DocumentConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return DocumentWritten(doc_id=result.doc_id, title=result.title, chunks=result.chunks,
                           sentences=result.sentences, took_ms=round((time.perf_counter() - started) * 1000, 3))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "document"


def _checked_doc_id(doc_id: str | None, default: str, path_doc_id: str | None) -> str:
    doc_id = doc_id or path_doc_id or default
    if path_doc_id is not None and doc_id != path_doc_id:
        raise HTTPException(422, f"doc_id {doc_id!r} in the body differs from {path_doc_id!r} in the path")
    if len(doc_id) > 200 or not re.fullmatch(DOC_ID_PATTERN, doc_id):
        raise HTTPException(422, f"invalid doc_id {doc_id!r}: letters, digits and . _ ~ - in /-separated parts "
                                 "not starting with a dot, at most 200 characters")
    return doc_id


async def _received_document(request: Request, settings, path_doc_id: str | None) -> tuple[Document, Original | None]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limits = LoadLimits.from_settings(settings)
    if kind == "application/json":
        try:
            body = DocumentIn.model_validate_json(await request.body())
        except ValidationError as exc:
            summary = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise HTTPException(422, f"invalid document: {summary}") from None
        text = normalize_text(body.text)
        if not text:
            raise HTTPException(422, "invalid document: text has no words in it")
        if len(text) > limits.max_document_chars:
            raise HTTPException(422, f"text is {len(text):,} characters; the limit is {limits.max_document_chars:,} "
                                     "(RAG_MAX_DOCUMENT_CHARS)")
        doc_id = _checked_doc_id(body.doc_id, _slug(body.title), path_doc_id)
        return Document(doc_id, body.title.strip(), text, {**plain_metadata(body.metadata), "format": "text"}), None
    if kind == "multipart/form-data":
        return await _received_file(request, limits, path_doc_id)
    raise HTTPException(415, "send the document as application/json ({title, text, ...}) or as "
                             "multipart/form-data with a file field")


async def _received_file(request: Request, limits: LoadLimits, path_doc_id: str | None) -> tuple[Document, Original]:
    try:
        form = await request.form(max_files=1, max_fields=8)
    except Exception as exc:  # a malformed multipart body, or one over the part limits
        raise HTTPException(422, f"unreadable multipart body: {exc}") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "the multipart body needs a file field holding the document")
    filename = Path(upload.filename or "").name
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise HTTPException(422, f"unsupported file type {suffix or '(none)'!r} for {filename or 'the file'}; "
                                 f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    data = await upload.read()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    with tempfile.TemporaryDirectory(prefix="kizuna-upload-") as folder:
        path = Path(folder) / f"document{suffix}"
        path.write_bytes(data)
        try:
            document = load_document(path, limits=limits)
        except LoadError as exc:
            raise HTTPException(422, f"{filename}: {str(exc).removeprefix(f'{path.name}: ')}") from None
        except Exception as exc:  # parsers' own errors on hostile files: the file is refused, nothing indexed
            raise HTTPException(422, f"{filename}: unreadable ({type(exc).__name__})") from None
    metadata = dict(document.metadata)
    if fields.get("tags"):
        metadata["tags"] = [t.strip() for t in fields["tags"].split(",") if t.strip()]
    if fields.get("date"):
        try:
            metadata["date"] = _DATE.validate_python(fields["date"]).isoformat()
        except ValidationError:
            raise HTTPException(422, f"date must be YYYY-MM-DD, got {fields['date']!r}") from None
    doc_id = _checked_doc_id(fields.get("doc_id"), _slug(Path(filename).stem), path_doc_id)
    title = (fields.get("title") or "").strip() or (document.title if document.title != "document" else doc_id)
    original = Original(filename, upload.content_type or "application/octet-stream", data)
    return Document(doc_id, title, document.text, metadata), original
