"""Writes to a live collection: add, replace and delete of a 1,000-word document, on the default corpus and on a
large synthetic index, in-process (QAPipeline.collection, what POST/PUT/DELETE /documents call) and over HTTP.

Usage: .venv/bin/python bench/bench_documents.py [--large-chunks 100000] [--repeat 5]
           [--out reports/bench/documents.json]
The built index/ is copied to a scratch directory (nothing is written to index/ or its data), then tiled: copies
of its documents under new ids until the large size is reached, their vectors reused by document hash (nothing is
re-embedded). Each size reports the p50 of each write, the share of it that is the encoder's (embedding that one
document, the reference measured in the same run) and /ask's p50 before and after the writes; the large size
also the time of one checkpoint (the build that folds the writes into a new generation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from rag.api import create_app
from rag.documents import Document
from rag.evaluation.metrics import percentile
from rag.pipeline import QAPipeline
from rag.settings import get_settings
from rag.store import IndexBuilder

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"


def p50_ms(times: list[float]) -> float:
    return round(1000 * percentile(times, 50), 2)


SENTENCES: list[str] = []  # the default corpus's sentences, filled once


def thousand_words(pipeline: QAPipeline, n: int, rng: random.Random) -> Document:
    """A 1,000-word document of the default corpus's own sentences, shuffled: text like the corpus's."""
    if not SENTENCES:
        SENTENCES.extend(pipeline.document(s.doc_id).text[s.start:s.end] for s in pipeline.index.sentences)
    sentences = SENTENCES
    words, picked = 0, []
    while words < 1000:
        sentence = rng.choice(sentences)
        picked.append(sentence)
        words += len(sentence.split())
    return Document(f"bench/doc-{n}", f"Bench document {n}", " ".join(picked))


def query_p50s(pipeline: QAPipeline, questions: list[str]) -> tuple[float, float]:
    """p50 of /ask's pipeline call and of the search stage alone, over the questions (vectors cached)."""
    asked, searched = [], []
    for question in questions:
        started = time.perf_counter()
        pipeline.ask(question)
        asked.append(time.perf_counter() - started)
        started = time.perf_counter()
        pipeline.search(question, 5)
        searched.append(time.perf_counter() - started)
    return p50_ms(asked), p50_ms(searched)


def measure(pipeline: QAPipeline, repeat: int, rng: random.Random, questions: list[str]) -> dict:
    collection = pipeline.collection
    generation_chunks = len(pipeline.index.chunks)
    query_p50s(pipeline, questions)  # warm: question vectors cached and pages mapped, before and after alike
    ask_before, search_before = query_p50s(pipeline, questions)
    add, replace, delete, embed, apply = [], [], [], [], []
    for n in range(repeat):
        document = thousand_words(pipeline, n, rng)
        started = time.perf_counter()
        prepared = collection.prepare(document)
        embed.append(time.perf_counter() - started)
        # The in-memory part of a write alone: the new snapshot derived and installed (then dropped again).
        current = pipeline.index
        started = time.perf_counter()
        pipeline.install(current.changed([], [prepared], dict(current.manifest)))
        apply.append(time.perf_counter() - started)
        pipeline.install(current)
        started = time.perf_counter()
        collection.put(document)
        add.append(time.perf_counter() - started)
        started = time.perf_counter()
        collection.put(dataclasses.replace(document, text=thousand_words(pipeline, n + 100, rng).text), replace=True)
        replace.append(time.perf_counter() - started)
    for n in range(repeat):
        started = time.perf_counter()
        collection.delete(f"bench/doc-{n}")
        delete.append(time.perf_counter() - started)
    ask_after, search_after = query_p50s(pipeline, questions)
    return {"chunks": generation_chunks, "documents": len(pipeline.documents),
            "chunks_per_document": len(prepared.chunks), "sentences_per_document": len(prepared.sentences),
            "embed_one_document_p50_ms": p50_ms(embed), "apply_p50_ms": p50_ms(apply), "add_p50_ms": p50_ms(add),
            "replace_p50_ms": p50_ms(replace), "delete_p50_ms": p50_ms(delete), "ask_p50_ms_before": ask_before,
            "ask_p50_ms_after_writes": ask_after, "search_p50_ms_before": search_before,
            "search_p50_ms_after_writes": search_after}


def over_http(pipeline: QAPipeline, repeat: int, rng: random.Random) -> dict:
    server = uvicorn.Server(uvicorn.Config(create_app(pipeline), host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    add, delete = [], []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {KEY}"},
                      timeout=120) as client:
        for n in range(repeat):
            document = thousand_words(pipeline, 1000 + n, rng)
            started = time.perf_counter()
            response = client.post("/documents", json={"doc_id": document.doc_id, "title": document.title,
                                                       "text": document.text})
            add.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
            started = time.perf_counter()
            assert client.delete(f"/documents/{document.doc_id}").status_code == 204
            delete.append(time.perf_counter() - started)
    server.should_exit = True
    thread.join()
    return {"http_add_p50_ms": p50_ms(add), "http_delete_p50_ms": p50_ms(delete)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large-chunks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "reports/bench/documents.json")
    args = parser.parse_args()
    base = get_settings()
    rng = random.Random(0)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval/gold.jsonl").read_text().splitlines()[:40]]
    results = {}
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-docs-") as scratch:
        scratch = Path(scratch)
        shutil.copytree(base.index_dir, scratch / "index", ignore=shutil.ignore_patterns(".lock"))
        settings = base.model_copy(update={"index_dir": scratch / "index", "data_dir": scratch / "data",
                                           "api_keys": [KEY], "write_rate_per_minute": 0,
                                           "checkpoint_chunks": 10**9})
        pipeline = QAPipeline(settings)
        results["default"] = {**measure(pipeline, args.repeat, rng, questions),
                              **over_http(pipeline, args.repeat, rng)}
        print(json.dumps(results["default"]))

        # The large index: the default documents tiled under new ids, vectors reused (nothing re-embedded).
        originals = [d for d in pipeline.documents if d.origin == "folder"]
        copies = []
        for n in range(-(-args.large_chunks // pipeline.index.dense.ntotal)):  # the generation's chunks per tile
            copies += [dataclasses.replace(d, doc_id=f"tile-{n}/{d.doc_id}") for d in originals]
        started = time.perf_counter()
        IndexBuilder(settings, pipeline.encoder).build(copies, settings.index_dir, force=True)
        tiled_seconds = time.perf_counter() - started
        large = QAPipeline(settings, pipeline.encoder)
        results["large"] = {**measure(large, args.repeat, rng, questions), "tile_build_s": round(tiled_seconds, 1)}
        # A checkpoint's work: the whole collection into a new generation, vectors reused (the tiles are no folder,
        # so the build is given the documents rather than reading docs_corpus/).
        started = time.perf_counter()
        IndexBuilder(settings, pipeline.encoder).build(large.documents, settings.index_dir, force=True)
        results["large"]["checkpoint_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(results["large"]))
    for size in results.values():
        size["add_over_embed"] = round(size["add_p50_ms"] / size["embed_one_document_p50_ms"], 3)
    results["large_over_default_add"] = round(results["large"]["add_p50_ms"] / results["default"]["add_p50_ms"], 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
