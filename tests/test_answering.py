import dataclasses
import json

import pytest

from rag.answering import CALIBRATION_FILE, AnswerExtractor, AnswerGroup, ConfidenceModel, specific_terms, trim
from rag.documents import Chunk, Passage
from rag.pipeline import QAPipeline
from rag.settings import Settings
from rag.span_model import ScoredSpan


def check_citations(pipeline, answer):
    for citation in [*answer.citations, answer.sentence, answer.span]:
        document = pipeline.document(citation.doc_id)
        assert document.text[citation.start:citation.end] == citation.text
    assert answer.answer == answer.span.text
    assert answer.span.start >= answer.sentence.start and answer.span.end <= answer.sentence.end
    assert answer.citations[0] == answer.sentence


# The shipped reader on plain questions over a small collection it was never trained on.
@pytest.mark.parametrize("question, expected", [
    ("When did the Delhi Metro open its first line?", "24 December 2002"),
    ("When did Kyoto and Varanasi sign their partner-city agreement?", "30 August 2014"),
    ("How long is the Mumbai-Ahmedabad High-Speed Rail line?", "508 kilometres"),
])
def test_answer_is_the_exact_span_inside_its_cited_sentence(tiny_pipeline, question, expected):
    answer = tiny_pipeline.ask(question)
    # The answer holds what was asked and little else ("about 508 kilometres" and "508 kilometres long" are
    # both right), and is shorter than its sentence.
    assert expected in answer.answer and len(answer.answer.split()) <= len(expected.split()) + 2
    assert answer.answer in answer.sentence.text and answer.sentence.text != answer.answer
    check_citations(tiny_pipeline, answer)


def test_off_topic_question_is_withheld(tiny_pipeline):
    answer = tiny_pipeline.ask("What is the best recipe for strawberry cheesecake?")
    assert answer.answer is None and answer.citations == [] and answer.span is None
    assert 0.0 <= answer.confidence < tiny_pipeline.extractor.min_confidence


def test_threshold_comes_from_the_calibration_file(tiny_pipeline):
    calibration = json.loads(CALIBRATION_FILE.read_text())
    model = ConfidenceModel.load()
    assert calibration["features"] == list(ConfidenceModel.FEATURES)
    assert calibration["fitted_on"]["split"] == "dev", "fitted on the dev split, never on test"
    assert model.threshold == calibration["threshold"] == tiny_pipeline.extractor.min_confidence
    assert len(model.weights) == len(ConfidenceModel.FEATURES) == len(calibration["weights"])


@pytest.mark.parametrize("text, span, expected", [
    ("It opened in 1889.", (13, 18), "1889"),
    ("(the AEF) was", (0, 9), "(the AEF)"),
    ("called (the AEF) now", (7, 12), "the"),
    ("said \"the first\", and", (5, 17), "\"the first\""),
    ("a, b", (1, 4), "b"),
])
def test_trim_drops_stray_punctuation_at_the_edges(text, span, expected):
    start, end = trim(text, *span)
    assert text[start:end] == expected


class _FixedReader:
    """Spans as a reader would give them, fixed by the test: what is tested is what the extractor makes of them."""

    def __init__(self, spans):
        self.spans = spans

    def read(self, question, contexts, per_window=3):
        return self.spans


def _passage(text: str) -> Passage:
    return Passage(Chunk("d", 100, 100 + len(text), "d#0", 0, 1), "T", text, 0.9)


def test_items_of_an_enumeration_scored_alike_are_one_answer(tiny_pipeline):
    text = "The firm was founded by Alice Smith and Bob Jones in Leeds."
    alice, bob, leeds = (text.index(w) for w in ("Alice Smith", "Bob Jones", "Leeds"))
    spans = [ScoredSpan(0, alice, alice + 11, 8.0, 0.0), ScoredSpan(0, bob, bob + 9, 7.5, 0.0),
             ScoredSpan(0, leeds, leeds + 5, 3.0, 0.0)]
    extractor = AnswerExtractor(tiny_pipeline.index, _FixedReader(spans), list_margin=2.0)
    candidates = extractor.candidates("Who founded the firm?", [_passage(text)])
    assert candidates[0].text == "Alice Smith and Bob Jones"
    assert (candidates[0].start, candidates[0].end) == (100 + alice, 100 + bob + 9), "document offsets"
    far_apart = AnswerExtractor(tiny_pipeline.index, _FixedReader(spans), list_margin=0.1)
    assert far_apart.candidates("Who founded the firm?", [_passage(text)])[0].text == "Alice Smith"


def test_specific_terms_are_the_names_and_numbers_after_the_first_word():
    assert specific_terms("When did Suzuki open its plant in 1982?") == ["suzuki", "1982"]
    assert specific_terms("What is a swap?") == []


@pytest.fixture(scope="module")
def twice_told(tmp_path_factory, encoder):
    corpus = tmp_path_factory.mktemp("twice")
    (corpus / "metro.md").write_text("# Metro\nThe Delhi Metro opened its first line on 24 December 2002.\n"
                                     "Japanese loans paid for much of the work on the network.\n")
    (corpus / "history.md").write_text("# History\nService on the Delhi Metro began on 24 December 2002.\n"
                                       "The network has grown to many lines since that year.\n")
    (corpus / "rail.md").write_text("# Rail\nThe freight corridor was planned for goods trains only.\n"
                                    "Its construction started in 2006 with Japanese support.\n")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("twice-index"))
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    return pipeline


def test_one_answer_stated_twice_is_one_better_supported_answer(twice_told):
    question = "When did the Delhi Metro open?"
    query_vector = twice_told.encoder.encode_query(question)
    passages = twice_told.retriever.run(query_vector, question, 5)
    extractor = twice_told.extractor
    ranking = extractor.rank(question, passages)
    best = ranking.best
    assert best.best.text == "24 December 2002"
    assert best.support == 2
    assert [g for g in ranking.groups if g.best.text == "24 December 2002"] == [best], "merged"

    features = extractor.features(question, query_vector, ranking)
    single = AnswerGroup([m for m in best.members if m.passage.chunk.doc_id == best.best.passage.chunk.doc_id])
    assert single.support == 1
    model = ConfidenceModel.load()
    told_once = dataclasses.replace(ranking, groups=[single, *ranking.groups[1:]])
    assert model(features) >= model(extractor.features(question, query_vector, told_once))
    check_citations(twice_told, twice_told.ask(question))


def test_names_and_numbers_missing_from_the_answering_passage_are_counted(twice_told):
    extractor = twice_told.extractor
    position = ConfidenceModel.FEATURES.index("specifics_missing")
    missing = {}
    for question in ("When did the Delhi Metro open in 2002?", "When did the Delhi Metro open in 1931?",
                     "When did the Kolkata Tramway open?"):
        query_vector = twice_told.encoder.encode_query(question)
        ranking = extractor.rank(question, twice_told.retriever.run(query_vector, question, 5))
        missing[question] = extractor.features(question, query_vector, ranking)[position]
    # In three documents, "Delhi", "Metro" and "2002" are in most chunks and so not specific; "1931", "Kolkata"
    # and "Tramway" are in none.
    assert list(missing.values()) == [0.0, 1.0, 1.0]
