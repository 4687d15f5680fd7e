"""Indexing throughput on the default corpus: the build against the raw encoder on the same texts.

Usage: .venv/bin/python bench/bench_build.py [--backends torch onnx-int8] [--corpus docs_corpus]
           [--out reports/bench/build.json]
For each backend: the in-process build (IndexBuilder.run into a fresh directory, the model already loaded) with
its stages (loading files, sentence splitting and chunking, embedding, writing FAISS/BM25/arrays), then a bare
encode of exactly the texts the build embedded (every chunk with its title, every sentence), in one call. The
ratio of the two throughputs (texts per second) is the build's efficiency; 1.0 means the build costs no more
than embedding. Last, the cold build from the command line (`rag index` in a new process: imports, model load,
everything) of the same corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.embedding import BACKENDS, Encoder
from rag.index import embedding_text, load_index
from rag.settings import get_settings
from rag.store import IndexBuilder

ROOT = Path(__file__).resolve().parent.parent


def embedded_texts(index) -> list[str]:
    texts = [embedding_text(index.document(c.doc_id).title, index.document(c.doc_id).text[c.start:c.end])
             for c in index.chunks]
    return texts + [index.document(s.doc_id).text[s.start:s.end] for s in index.sentences]


def measure(backend: str, corpus: Path) -> dict:
    settings = get_settings().model_copy(update={"encoder_backend": backend})
    started = time.perf_counter()
    encoder = Encoder.from_settings(settings)
    model_load = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        report = IndexBuilder(settings, encoder).run(corpus, Path(tmp), force=True)
        index = load_index(tmp)
    texts = embedded_texts(index)
    assert len(texts) == report.embedded_texts, "the bench re-embeds exactly what the build embedded"
    started = time.perf_counter()
    encoder.encode(texts)
    raw = time.perf_counter() - started
    build = report.seconds
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag.cli", "index", "--quiet", "--force", "--corpus", str(corpus),
                        "--index", tmp], check=True, cwd=ROOT, env={**os.environ, "RAG_ENCODER_BACKEND": backend},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cold = time.perf_counter() - started
    return {"texts": len(texts), "chunks": report.chunks, "sentences": len(index.sentences),
            "model_load_s": round(model_load, 2), "build_s": round(build, 2), "stages_s": report.stages,
            "build_texts_per_s": round(len(texts) / build, 1), "raw_encode_s": round(raw, 2),
            "raw_texts_per_s": round(len(texts) / raw, 1), "build_over_raw_throughput": round(raw / build, 3),
            "cold_cli_build_s": round(cold, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=["torch", "onnx-int8"])
    parser.add_argument("--corpus", type=Path, default=get_settings().corpus_dir)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/bench/build.json")
    args = parser.parse_args()
    results = {}
    for backend in args.backends:
        results[backend] = measure(backend, args.corpus)
        print(backend, json.dumps(results[backend]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
