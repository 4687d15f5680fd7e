from fastapi import APIRouter, Request

from rag.api.dependencies import ReaderDep
from rag.api.schemas import CollectionOut

router = APIRouter(tags=["documents"])
MAX_TITLES = 100


@router.get("/collection", response_model=CollectionOut)
def collection(request: Request, pipeline: ReaderDep) -> CollectionOut:
    """What the collection is: its description, size, titles and example questions (the chat page's empty state)."""
    documents = pipeline.documents
    return CollectionOut(description=pipeline.settings.collection_description, documents=len(documents),
                         chunks=pipeline.index.manifest["chunks"], titles=[d.title for d in documents[:MAX_TITLES]],
                         examples=request.app.state.examples.run(pipeline))
