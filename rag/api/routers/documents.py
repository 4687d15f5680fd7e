from fastapi import APIRouter, HTTPException

from rag.api.dependencies import PipelineDep
from rag.api.schemas import DocumentList, DocumentOut, DocumentSummary, ErrorOut

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=DocumentList)
def list_documents(pipeline: PipelineDep) -> DocumentList:
    return DocumentList(documents=[DocumentSummary(doc_id=d.doc_id, title=d.title, metadata=d.metadata)
                                   for d in pipeline.documents])


@router.get("/documents/{doc_id:path}", response_model=DocumentOut, responses={404: {"model": ErrorOut}})
def get_document(doc_id: str, pipeline: PipelineDep) -> DocumentOut:
    """A document's stored text: citation offsets index into this text."""
    document = pipeline.document(doc_id)
    if document is None:
        raise HTTPException(404, f"unknown doc_id: {doc_id}")
    return DocumentOut(doc_id=document.doc_id, title=document.title, metadata=document.metadata, text=document.text)
