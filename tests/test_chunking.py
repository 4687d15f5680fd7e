import itertools

from rag.chunking import Chunker, split_sentences
from rag.documents import Document

TEXT = (
    "India and Japan met on Jan. 16 in New Delhi. The U.S. was not part of the talks.\n"
    "Heading without a stop\n"
    "PM Modi visited Tokyo in Aug. 2025. He met Prime Minister Ishiba. They rode a train to Sendai.\n\n"
    "A final paragraph follows here."
)


def test_sentences_are_exact_trimmed_spans():
    document = Document("d", "t", TEXT)
    sentences = [TEXT[s.start:s.end] for s in split_sentences(document)]
    assert sentences == [
        "India and Japan met on Jan. 16 in New Delhi.",
        "The U.S. was not part of the talks.",
        "Heading without a stop",
        "PM Modi visited Tokyo in Aug. 2025.",
        "He met Prime Minister Ishiba.",
        "They rode a train to Sendai.",
        "A final paragraph follows here.",
    ]


def test_chunks_are_sentence_aligned_windows_with_overlap():
    document = Document("d", "t", TEXT)
    sentences = split_sentences(document)
    chunks = Chunker(chunk_words=15, overlap_words=6).run(document, sentences)
    assert chunks[0].start == 0 and chunks[-1].end == len(TEXT)
    for k, chunk in enumerate(chunks):
        assert chunk.chunk_id == f"d#{k}"
        assert chunk.start == sentences[chunk.first_sentence].start
        assert chunk.end == sentences[chunk.last_sentence - 1].end
        words = len(TEXT[chunk.start:chunk.end].split())
        assert words <= 15 or chunk.last_sentence - chunk.first_sentence == 1
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.first_sentence, chunk.last_sentence))
    assert covered == set(range(len(sentences)))
    assert any(a.last_sentence > b.first_sentence for a, b in itertools.pairwise(chunks)), "windows should overlap"
    assert all(b.first_sentence > a.first_sentence for a, b in itertools.pairwise(chunks)), "windows must advance"


def test_first_index_offsets_into_the_global_sentence_table():
    document = Document("d", "t", "One two three four. Five six seven eight.")
    sentences = split_sentences(document)
    chunks = Chunker(chunk_words=200).run(document, sentences, first_index=10)
    assert [(c.first_sentence, c.last_sentence) for c in chunks] == [(10, 12)]


def test_a_sentence_longer_than_the_window_is_its_own_chunk():
    long_sentence = " ".join(["word"] * 50) + "."
    document = Document("d", "t", f"Short one here. {long_sentence} Another short one.")
    chunks = Chunker(chunk_words=10, overlap_words=0).run(document, split_sentences(document))
    assert [c.last_sentence - c.first_sentence for c in chunks] == [1, 1, 1]
