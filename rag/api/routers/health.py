from collections import Counter

from fastapi import APIRouter

from rag.api.dependencies import PipelineDep
from rag.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(pipeline: PipelineDep) -> Health:
    index = pipeline.index
    manifest = index.manifest
    return Health(status="ok", documents=manifest["documents"], chunks=manifest["chunks"],
                  sentences=manifest["sentences"], model=manifest["model"], dimension=manifest["dimension"],
                  dense_index=manifest["dense_index"], built_at=manifest["built_at"],
                  format_version=manifest["format_version"], reader=pipeline.extractor.reader.name,
                  generation=manifest["generation"], skipped=manifest.get("skipped", []),
                  by_origin=dict(Counter(d.origin for d in index.documents)),
                  pending_chunks=manifest.get("pending_chunks", 0),
                  last_change=index.last_change)
