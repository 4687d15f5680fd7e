"""The peers harness's run_kizuna.py with this project's encoder settings (RAG_ENCODER_BACKEND, RAG_ENCODER_THREADS).

The harness builds `Encoder(model, batch_size)`, which takes the default backend whatever the environment says;
bench/peers.sh runs this file beside the harness's copy instead, so its torch row really runs PyTorch.
Usage (from the harness's directory): <project>/.venv/bin/python peers_kizuna.py [harness arguments]
"""

from __future__ import annotations

import functools

import run_kizuna

from rag.embedding import Encoder
from rag.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    run_kizuna.Encoder = functools.partial(Encoder, backend=settings.encoder_backend,
                                           threads=settings.encoder_threads)
    run_kizuna.main()
