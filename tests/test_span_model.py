"""The span reader's mechanics on a tiny BERT the test builds: windows and their offsets, span decoding, the
PyTorch and ONNX paths agreeing, and the ONNX export `make reader` ends with."""

import argparse
import re

import numpy as np
import pytest

from rag.embedding import ModelNotAvailable
from rag.span_model import SpanModel, decode_spans, encode_windows

TEXT = ("The museum opened in 1901 after a long campaign by local teachers. It holds about 40,000 objects, "
        "among them maps, coins and letters. Its director since 2015 is Ana Ruiz. ") * 3


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-reader")
    words = sorted(set(re.findall(r"[a-z0-9]+", TEXT.lower())) | {"who", "when", "what", "did", "is", "the", "short", "text", "open"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, ",", ".", *"abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab = list(dict.fromkeys(vocab))
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertForQuestionAnswering(config).save_pretrained(directory)
    return directory


def test_windows_cover_the_context_and_offsets_point_into_it(tiny_model_dir):
    reader = SpanModel(tiny_model_dir)
    batch = encode_windows(reader.tokenizer, "When did the museum open?", [TEXT, "Short text."], 48, 16)
    assert len(batch) > 2 and set(batch.context_of.tolist()) == {0, 1}
    assert batch.input_ids.shape[1] <= 48
    covered = set()
    for i in range(len(batch)):
        context = [TEXT, "Short text."][batch.context_of[i]]
        tokens = reader.tokenizer.convert_ids_to_tokens(batch.input_ids[i])
        for t in np.flatnonzero(batch.in_context[i]):
            start, end = batch.offsets[i, t]
            assert context[start:end].lower() == tokens[t].removeprefix("##")
            if batch.context_of[i] == 0:
                covered.update(range(start, end))
    assert {i for i, ch in enumerate(TEXT) if not ch.isspace()} <= covered, "every character is in some window"
    assert not batch.in_context[:, 0].any(), "[CLS] is never a context token"


def test_decoding_takes_the_best_legal_span(tiny_model_dir):
    tokenizer = SpanModel(tiny_model_dir).tokenizer
    batch = encode_windows(tokenizer, "what", ["maps coins letters"], 16, 4)
    width = batch.input_ids.shape[1]
    start, end = np.zeros((1, width)), np.zeros((1, width))
    maps, coins, letters = np.flatnonzero(batch.in_context[0])
    start[0, coins] = 5.0  # the best start
    start[0, maps] = -1.0  # so that "maps" alone (-1 + 9) loses to "coins letters" (5 + 4)
    end[0, maps] = 9.0  # an end before the start makes no span
    end[0, letters] = 4.0
    start[0, 0] = end[0, 0] = 1.0
    best = decode_spans(batch, start, end, max_answer_tokens=5, per_window=1)
    assert len(best) == 1
    assert (best[0].start, best[0].end) == (5, 18) and best[0].score == pytest.approx(9.0)
    assert best[0].no_answer == pytest.approx(2.0)
    short = decode_spans(batch, start, end, max_answer_tokens=1, per_window=1)[0]
    assert "maps coins letters"[short.start:short.end] == "maps" and short.score == pytest.approx(8.0)


def test_every_span_read_is_a_verbatim_piece_of_its_context(tiny_model_dir):
    reader = SpanModel(tiny_model_dir)
    contexts = [TEXT, "Its director since 2015 is Ana Ruiz."]
    spans = reader.read("Who is the director?", contexts, per_window=5)
    assert spans and spans == sorted(spans, key=lambda s: -s.score)
    for span in spans:
        piece = contexts[span.context][span.start:span.end]
        assert piece and piece == piece.strip()


def test_onnx_export_matches_pytorch(tiny_model_dir, tmp_path):
    from rag.training.export import export

    (tmp_path / "work").mkdir()
    args = argparse.Namespace(max_length=64, stride=16, max_answer_tokens=20, work=tmp_path / "work")
    out = export(tiny_model_dir, tmp_path / "onnx", args)
    assert {"model.onnx", "reader.json", "tokenizer.json", "training.json"} <= {p.name for p in out.iterdir()}
    onnx_reader, torch_reader = SpanModel(out), SpanModel(tiny_model_dir)
    assert onnx_reader.max_length == 64 and onnx_reader.stride == 16
    batch = encode_windows(onnx_reader.tokenizer, "When did the museum open?", [TEXT, "It opened in 1901."], 64, 16)
    onnx_start, _ = onnx_reader.logits(batch)
    torch_start, _ = torch_reader.logits(batch)
    mask = batch.attention_mask.astype(bool)
    # int8 weights: close to the float model, not equal to it.
    assert np.corrcoef(onnx_start[mask], torch_start[mask])[0, 1] > 0.95


def test_a_missing_reader_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="RAG_READER_MODEL"):
        SpanModel(tmp_path / "no-such-model")


def test_the_pipeline_reads_with_the_configured_model(tiny_settings, tiny_pipeline, tiny_model_dir, encoder):
    from rag.pipeline import QAPipeline

    settings = tiny_settings.model_copy(update={"reader_model": str(tiny_model_dir), "min_confidence": 0.0})
    pipeline = QAPipeline(settings, encoder=encoder, index=tiny_pipeline.index)
    assert pipeline.extractor.reader.model_dir == tiny_model_dir
    answer = pipeline.ask("When did the Delhi Metro open its first line?")
    assert answer.answer is not None
    document = pipeline.document(answer.span.doc_id)
    assert document.text[answer.span.start:answer.span.end] == answer.answer
    assert answer.answer in answer.citations[0].text
