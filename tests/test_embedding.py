import shutil

import numpy as np
import pytest

from rag import embedding
from rag.embedding import Encoder
from rag.generations import read_manifest
from rag.index import IndexMismatch, load_index
from rag.settings import Settings
from rag.store import IndexBuilder

TEXTS = [
    "When did the high-speed rail project start construction?",
    "The corridor will link the two cities in about two hours, with trains running at 320 km/h. " * 6,
    "Mount Fuji",
    "Solar capacity reached 70 gigawatts by the end of the year, a record for the region.",
]


@pytest.fixture(scope="module")
def torch_encoder():
    return Encoder(backend="torch")


def test_onnx_backends_match_sentence_transformers(torch_encoder, encoder):
    reference = torch_encoder.encode(TEXTS)
    fp32 = Encoder(backend="onnx").encode(TEXTS)
    int8 = encoder.encode(TEXTS)
    assert encoder.backend == "onnx-int8" and int8.shape == reference.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1, atol=1e-4)
    assert np.all(np.sum(fp32 * reference, axis=1) > 0.9999)
    assert np.all(np.sum(int8 * reference, axis=1) > 0.97)
    # Length-sorted batching returns rows in the caller's order.
    assert np.allclose(Encoder(backend="onnx", batch_size=2).encode(TEXTS), fp32, atol=1e-5)


def test_the_export_is_made_once_and_reused(tmp_path):
    first = Encoder(backend="onnx-int8", cache_dir=tmp_path)
    exported = first._model.path
    assert exported.parent.parent == tmp_path and (exported.parent / "export.json").exists()
    made = exported.stat().st_mtime_ns
    second = Encoder(backend="onnx-int8", cache_dir=tmp_path)
    assert second._model.path == exported and exported.stat().st_mtime_ns == made
    assert [p.name for p in tmp_path.iterdir()] == [exported.parent.name], "no staging directory left behind"
    assert np.allclose(first.encode(TEXTS), second.encode(TEXTS))


def test_another_model_gets_its_own_export(tmp_path):
    model = shutil.copytree(embedding.resolve_model(None)[1], tmp_path / "model")
    config = model / "1_Pooling" / "config.json"
    config.write_text(config.read_text().replace('"pooling_mode_cls_token": false', '"pooling_mode_cls_token": true')
                      .replace('"pooling_mode_mean_tokens": true', '"pooling_mode_mean_tokens": false'))
    cls = Encoder(str(model), backend="onnx", cache_dir=tmp_path / "cache")
    mean = Encoder(backend="onnx", cache_dir=tmp_path / "cache")
    assert cls._model.path != mean._model.path
    reference = Encoder(str(model), backend="torch").encode(TEXTS)
    assert np.all(np.sum(cls.encode(TEXTS) * reference, axis=1) > 0.9999)


def test_query_vectors_are_cached_read_only_and_bounded(encoder, monkeypatch):
    monkeypatch.setattr(embedding, "QUERY_CACHE_SIZE", 2)
    encoder._queries.clear()
    vector = encoder.encode_query(TEXTS[0])
    assert encoder.encode_query(TEXTS[0]) is vector and not vector.flags.writeable
    assert np.allclose(vector, encoder.encode([TEXTS[0]])[0])
    encoder.encode_query(TEXTS[2])
    encoder.encode_query(TEXTS[3])
    assert list(encoder._queries) == [TEXTS[2], TEXTS[3]]


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="onnx-int8"):
        Encoder(backend="tensorrt")
    with pytest.raises(ValueError):
        Settings(encoder_backend="tensorrt")


def test_vectors_of_one_backend_are_never_queried_by_another(tiny_corpus, tmp_path, encoder, torch_encoder):
    settings = Settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "index")
    IndexBuilder(settings, encoder).run(settings.corpus_dir, settings.index_dir)
    assert read_manifest(settings.index_dir)["encoder_backend"] == "onnx-int8"
    with pytest.raises(IndexMismatch, match="RAG_ENCODER_BACKEND"):
        load_index(settings.index_dir, encoder.name, "torch")
    # Changing the backend makes the index stale: every document is embedded again, none reused.
    torch_settings = settings.model_copy(update={"encoder_backend": "torch"})
    report = IndexBuilder(torch_settings, torch_encoder).run(settings.corpus_dir, settings.index_dir)
    assert (report.status, report.embedded_documents, report.reused_documents) == ("built", 5, 0)
    assert load_index(settings.index_dir, encoder.name, "torch").manifest["encoder_backend"] == "torch"
