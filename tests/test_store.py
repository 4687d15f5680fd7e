import json
import shutil

import numpy as np
import pytest

from rag import index as index_module
from rag import store
from rag.generations import IndexNotFound, read_manifest
from rag.index import IndexMismatch, load_index
from rag.settings import Settings
from rag.store import IndexBuilder


@pytest.fixture
def corpus_copy(tiny_corpus, tmp_path):
    return shutil.copytree(tiny_corpus, tmp_path / "corpus")


def build(settings, encoder, **kwargs):
    return IndexBuilder(settings, encoder).run(settings.corpus_dir, settings.index_dir, **kwargs)


def test_manifest_and_index_contents(tiny_pipeline, tiny_settings):
    manifest = read_manifest(tiny_settings.index_dir)
    assert manifest["format_version"] == index_module.FORMAT_VERSION
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["chunking"] == {"chunk_words": 40, "overlap_words": 10}
    assert manifest["documents"] == 5 and manifest["dense_index"] == "flat"
    assert len(manifest["corpus_fingerprint"]) == 64
    index = tiny_pipeline.index
    assert index.chunk_vectors.shape == (manifest["chunks"], 384)
    assert index.sentence_vectors.shape == (manifest["sentences"], 384)
    assert np.allclose(np.linalg.norm(index.chunk_vectors, axis=1), 1, atol=1e-4)


def test_rebuild_reembeds_only_changed_documents(corpus_copy, tmp_path, encoder):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    first = build(settings, encoder)
    assert (first.status, first.embedded_documents) == ("built", 5)
    assert build(settings, encoder).status == "up to date"

    (corpus_copy / "bullet-train.txt").write_text("The Mumbai-Ahmedabad bullet train\nIt will cross the Sabarmati river.\n")
    (corpus_copy / "new-note.md").write_text("# Shinkansen\nThe E5 series runs at 320 km/h.\n")
    third = build(settings, encoder)
    assert (third.status, third.documents, third.embedded_documents, third.reused_documents) == ("built", 6, 2, 4)

    index = load_index(settings.index_dir, "all-MiniLM-L6-v2")
    first_doc = index.documents[0]
    fresh = encoder.encode([first_doc.title + "\n" + first_doc.text[c.start:c.end]
                            for c in index.chunks if c.doc_id == first_doc.doc_id])
    # int8 activations are scaled per batch, so a vector re-embedded in another batch is close, not identical.
    similarity = index.chunk_vectors[:len(fresh)] @ fresh.T
    assert np.all(np.diag(similarity) > 0.98), "reused vectors stay aligned with their chunks"
    assert np.all(np.argmax(similarity, axis=1) == np.arange(len(fresh)))
    assert "Sabarmati" in index.document("bullet-train").text


def test_loading_with_another_model_says_how_to_rebuild(tiny_settings, tiny_pipeline):
    with pytest.raises(IndexMismatch, match="rag index"):
        load_index(tiny_settings.index_dir, "some-other-model")


def test_loading_another_format_version_says_how_to_rebuild(corpus_copy, tmp_path, encoder, monkeypatch):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    build(settings, encoder)
    monkeypatch.setattr(index_module, "FORMAT_VERSION", index_module.FORMAT_VERSION + 1)
    expected = f"format {index_module.FORMAT_VERSION - 1} does not match this version's format {index_module.FORMAT_VERSION}"
    with pytest.raises(IndexMismatch, match=f"{expected}.*`rag index`"):
        load_index(settings.index_dir, "all-MiniLM-L6-v2")


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFound, match="rag index"):
        load_index(tmp_path)


def test_a_crash_mid_build_leaves_the_previous_index_live(corpus_copy, tmp_path, encoder, monkeypatch):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    build(settings, encoder)
    before = read_manifest(settings.index_dir)
    (corpus_copy / "extra.md").write_text("# Extra\nA new document about the Delhi Mumbai corridor.\n")

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.faiss, "write_index", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        build(settings, encoder)
    assert read_manifest(settings.index_dir) == before
    assert load_index(settings.index_dir).manifest["documents"] == 5
    leftovers = [p.name for p in settings.index_dir.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    assert leftovers == []


def test_past_the_threshold_an_hnsw_index_is_built_and_searched(corpus_copy, tmp_path, encoder):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", ann_threshold=2, chunk_words=20)
    build(settings, encoder)
    index = load_index(settings.index_dir)
    assert index.manifest["dense_index"] == "hnsw"
    assert type(index.dense).__name__ == "IndexHNSWFlat"
    _scores, ids = index.dense.search(index.chunk_vectors[:1], 1)
    assert ids[0][0] == 0


def test_written_documents_keep_stored_text(tiny_settings, tiny_pipeline):
    generation = tiny_settings.index_dir / (tiny_settings.index_dir / "CURRENT").read_text()
    rows = [json.loads(line) for line in (generation / "documents.jsonl").read_text().splitlines()]
    assert {r["doc_id"]: r["text"] for r in rows} == {d.doc_id: d.text for d in tiny_pipeline.documents}


def test_changing_the_search_index_type_reuses_every_vector(corpus_copy, tmp_path, encoder):
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    build(settings, encoder)
    switched = build(settings.model_copy(update={"ann_threshold": 2}), encoder)
    assert (switched.status, switched.embedded_documents, switched.reused_documents) == ("built", 0, 5)
    assert read_manifest(settings.index_dir)["dense_index"] == "hnsw"
