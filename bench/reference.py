"""The reference every speed bench measures in its own run: the stock stack's first step, a bare
sentence-transformers (PyTorch) encode of each question, one at a time after a warm-up."""

from __future__ import annotations

import time


def bare_torch_encode_ms(questions: list[str], model: str | None = None) -> list[float]:
    from sentence_transformers import SentenceTransformer

    from rag.embedding import resolve_model

    bare = SentenceTransformer(resolve_model(model)[1], device="cpu")
    for question in questions[:20]:
        bare.encode([question])
    times = []
    for question in questions:
        started = time.perf_counter()
        bare.encode([question], normalize_embeddings=True)
        times.append((time.perf_counter() - started) * 1000)
    return times
