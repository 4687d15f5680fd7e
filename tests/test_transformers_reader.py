"""The pluggable reader path: a Hugging Face extractive-QA model from a local directory.

No trained reader exists offline, so the test builds a tiny randomly initialised BERT and its vocabulary
itself. Its answers are arbitrary; what is tested is that the loading and offset mapping are right: every
answer is a verbatim span of its sentence, and the pipeline keeps the citation invariant.
"""

import pytest

from rag.embedding import ModelNotAvailable
from rag.pipeline import QAPipeline
from rag.reader import SentenceInput, TransformersReader, make_reader


@pytest.fixture(scope="module")
def tiny_reader_model(tmp_path_factory, tiny_corpus):
    import re

    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-reader")
    words = set()
    for path in tiny_corpus.iterdir():
        if path.suffix in (".md", ".txt", ".html"):
            words.update(re.findall(r"[a-z0-9]+", path.read_text().lower()))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *"abcdefghijklmnopqrstuvwxyz0123456789"]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt")).save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertForQuestionAnswering(config).save_pretrained(directory)
    return directory


def test_reader_returns_verbatim_spans_with_document_offsets(tiny_reader_model):
    reader = make_reader(str(tiny_reader_model))
    assert isinstance(reader, TransformersReader)
    sentence = "The Delhi Metro opened its first line on 24 December 2002."
    document = "Some text before. " + sentence
    offset = document.index(sentence)
    [span] = reader.run("When did the Delhi Metro open?", [SentenceInput("d", offset, sentence)])
    assert span is not None and span.text
    assert document[span.start:span.end] == span.text
    assert span.text in sentence and 0.0 <= span.score <= 1.0


def test_pipeline_uses_the_configured_reader(tiny_settings, tiny_pipeline, tiny_reader_model, encoder):
    settings = tiny_settings.model_copy(update={"reader_model": str(tiny_reader_model), "min_confidence": 0.0})
    pipeline = QAPipeline(settings, encoder=encoder, index=tiny_pipeline.index)
    assert isinstance(pipeline.extractor.reader, TransformersReader)
    answer = pipeline.ask("When did the Delhi Metro open its first line?")
    assert answer.answer is not None
    document = pipeline.document(answer.span.doc_id)
    assert document.text[answer.span.start:answer.span.end] == answer.answer
    assert answer.answer in answer.citations[0].text


def test_a_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="RAG_READER_MODEL"):
        TransformersReader(str(tmp_path / "no-such-model"))
