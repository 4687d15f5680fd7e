"""QAPipeline wires the stages together; the API, the CLI and the evaluation all call this one object."""

from __future__ import annotations

from pathlib import Path

from rag.answering import AnswerExtractor
from rag.documents import Answer, Document, Passage
from rag.embedding import Encoder
from rag.retrieval import Filters, HybridRetriever
from rag.settings import Settings
from rag.span_model import PACKAGED_MODEL_DIR, SpanModel
from rag.store import BuildReport, Index, IndexBuilder, load_index


class QAPipeline:
    def __init__(self, settings: Settings, encoder: Encoder | None = None, index: Index | None = None):
        self.settings = settings
        self.encoder = encoder or Encoder.from_settings(settings)
        self.index = index or load_index(settings.index_dir, self.encoder.name, self.encoder.backend)
        self.retriever = HybridRetriever(self.index, settings.dense_weight, settings.candidates_per_side)
        reader = SpanModel(settings.reader_model or PACKAGED_MODEL_DIR, settings.reader_threads)
        self.extractor = AnswerExtractor(self.index, reader, min_confidence=settings.min_confidence,
                                         read_passages=settings.reader_passages)

    @classmethod
    def build(cls, settings: Settings, corpus_dir: Path | None = None, index_dir: Path | None = None,
              encoder: Encoder | None = None, progress: bool = False) -> tuple[QAPipeline, BuildReport]:
        """Build (or refresh) the index, then load a pipeline over it."""
        encoder = encoder or Encoder.from_settings(settings)
        index_dir = Path(index_dir or settings.index_dir)
        report = IndexBuilder(settings, encoder).run(Path(corpus_dir or settings.corpus_dir), index_dir, progress)
        return cls(settings, encoder, load_index(index_dir, encoder.name, encoder.backend)), report

    def search(self, query: str, top_k: int, filters: Filters | None = None) -> list[Passage]:
        return self.retriever.run(self.encoder.encode_query(query), query, top_k, filters)

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> Answer:
        query_vector = self.encoder.encode_query(question)
        passages = self.retriever.run(query_vector, question, top_k or self.settings.default_top_k, filters)
        return self.extractor.run(question, query_vector, passages)

    def document(self, doc_id: str) -> Document | None:
        return self.index.document(doc_id)

    @property
    def documents(self) -> list[Document]:
        return self.index.documents

