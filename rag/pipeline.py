"""QAPipeline wires the stages together; the API, the CLI and the evaluation all call this one object.

It answers from one index snapshot at a time: a question reads the snapshot once, so a write or a new generation
(installed by rag.collection) is seen whole or not at all, and never waits for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.answering import AnswerExtractor, ConfidenceModel
from rag.collection import LiveCollection
from rag.documents import Answer, Document, Passage
from rag.embedding import Encoder
from rag.index import Index, load_index
from rag.retrieval import Filters, HybridRetriever
from rag.settings import Settings
from rag.span_model import PACKAGED_MODEL_DIR, SpanModel
from rag.store import BuildReport, IndexBuilder
from rag.uploads import UploadStore


@dataclass(frozen=True, slots=True)
class _Snapshot:
    index: Index
    retriever: HybridRetriever
    extractor: AnswerExtractor


class QAPipeline:
    def __init__(self, settings: Settings, encoder: Encoder | None = None, index: Index | None = None,
                 uploads: UploadStore | None = None):
        """Over `index`, or the live generation of settings.index_dir with the uploads' changes since it
        (settings.data_dir) replayed on top."""
        self.settings = settings
        self.encoder = encoder or Encoder.from_settings(settings)
        if index is None:
            index = load_index(settings.index_dir, self.encoder.name, self.encoder.backend)
            uploads = uploads or UploadStore(settings.resolved_data_dir)
        self._reader = SpanModel(settings.reader_model or PACKAGED_MODEL_DIR, settings.reader_threads)
        self._confidence = ConfidenceModel.load()
        self._snapshot = self._snapshot_of(index)
        self.collection = LiveCollection(settings, self.encoder, index, uploads, self.install)

    @classmethod
    def build(cls, settings: Settings, corpus_dir: Path | None = None, index_dir: Path | None = None,
              encoder: Encoder | None = None, progress: bool = False) -> tuple[QAPipeline, BuildReport]:
        """Build (or refresh) the index of the folder and the uploads, then load a pipeline over it."""
        encoder = encoder or Encoder.from_settings(settings)
        index_dir = Path(index_dir or settings.index_dir)
        settings = settings.model_copy(update={"index_dir": index_dir})
        uploads = UploadStore(settings.resolved_data_dir)
        report = IndexBuilder(settings, encoder).run(Path(corpus_dir or settings.corpus_dir), index_dir, progress,
                                                     uploads=uploads)
        return cls(settings, encoder, load_index(index_dir, encoder.name, encoder.backend), uploads), report

    def _snapshot_of(self, index: Index) -> _Snapshot:
        retriever = HybridRetriever(index, self.settings.dense_weight, self.settings.candidates_per_side)
        extractor = AnswerExtractor(index, self._reader, self._confidence, self.settings.min_confidence,
                                    self.settings.reader_passages)
        return _Snapshot(index, retriever, extractor)

    def install(self, index: Index) -> None:
        """Answer from `index` from now on (one reference swapped: requests under way keep theirs)."""
        self._snapshot = self._snapshot_of(index)

    @property
    def index(self) -> Index:
        return self._snapshot.index

    @property
    def retriever(self) -> HybridRetriever:
        return self._snapshot.retriever

    @property
    def extractor(self) -> AnswerExtractor:
        return self._snapshot.extractor

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        return self._snapshot.retriever.run(self.encoder.encode_query(query), query, top_k, filters)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> Answer:
        snapshot = self._snapshot
        query_vector = self.encoder.encode_query(question)
        passages = snapshot.retriever.run(query_vector, question, top_k or self.settings.default_top_k, filters)
        return snapshot.extractor.run(question, query_vector, passages)

    def document(self, doc_id: str) -> Document | None:
        return self._snapshot.index.document(doc_id)

    @property
    def documents(self) -> list[Document]:
        return self._snapshot.index.documents
