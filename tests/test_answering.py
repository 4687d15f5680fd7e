import json

import pytest

from rag.answering import CALIBRATION_FILE, AnswerGroup, ConfidenceModel, runner_up
from rag.pipeline import QAPipeline
from rag.settings import Settings


def check_citations(pipeline, answer):
    for citation in [*answer.citations, answer.sentence, answer.span]:
        document = pipeline.document(citation.doc_id)
        assert document.text[citation.start:citation.end] == citation.text
    assert answer.answer == answer.span.text
    assert answer.span.start >= answer.sentence.start and answer.span.end <= answer.sentence.end
    assert answer.citations[0] == answer.sentence


@pytest.mark.parametrize("question, expected", [
    ("When did the Delhi Metro open its first line?", "24 December 2002"),
    ("When did Kyoto and Varanasi sign their partner-city agreement?", "30 August 2014"),
    ("How long is the Mumbai-Ahmedabad High-Speed Rail line?", "about 508 kilometres"),
])
def test_answer_is_the_exact_span_inside_its_cited_sentence(tiny_pipeline, question, expected):
    answer = tiny_pipeline.ask(question)
    assert answer.answer == expected
    assert expected in answer.sentence.text and answer.sentence.text != expected
    check_citations(tiny_pipeline, answer)


def test_off_topic_question_is_withheld(tiny_pipeline):
    answer = tiny_pipeline.ask("What is the best recipe for strawberry cheesecake?")
    assert answer.answer is None and answer.citations == [] and answer.span is None
    assert 0.0 <= answer.confidence < tiny_pipeline.extractor.min_confidence


def test_threshold_comes_from_the_calibration_file(tiny_pipeline):
    calibration = json.loads(CALIBRATION_FILE.read_text())
    model = ConfidenceModel.load()
    assert model.threshold == calibration["threshold"] == tiny_pipeline.extractor.min_confidence
    assert len(model.weights) == len(ConfidenceModel.FEATURES) == len(calibration["weights"])


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
    ranked = extractor.rank(question, query_vector, passages)
    best = ranked[0]
    assert best.best.span.text == "24 December 2002"
    assert best.support == 2
    assert [g for g in ranked if g.best.span and g.best.span.text == "24 December 2002"] == [best], "merged"

    second = runner_up(ranked)
    features = extractor.features(question, best, second)
    single = AnswerGroup([m for m in best.members if m.passage.chunk.doc_id == best.best.passage.chunk.doc_id])
    assert single.support == 1
    model = ConfidenceModel.load()
    assert model(features) > model(extractor.features(question, single, second))
    check_citations(twice_told, twice_told.ask(question))


def test_a_sentence_of_another_year_or_ordinal_than_asked_lowers_confidence(twice_told):
    extractor = twice_told.extractor
    confidence = {}
    for year in ("2002", "2010"):
        question = f"What happened to the Delhi Metro in {year}?"
        query_vector = twice_told.encoder.encode_query(question)
        ranked = extractor.rank(question, query_vector, twice_told.retriever.run(query_vector, question, 5))
        assert "2002" in extractor.sentence_text(ranked[0].best.sentence_number)
        features = extractor.features(question, ranked[0], runner_up(ranked))
        assert features[ConfidenceModel.FEATURES.index("another_year_or_ordinal")] == (year == "2010")
        confidence[year] = ConfidenceModel.load()(features)
    assert confidence["2010"] < confidence["2002"]

    question = "What did the third line of the Delhi Metro open with?"
    query_vector = twice_told.encoder.encode_query(question)
    ranked = extractor.rank(question, query_vector, twice_told.retriever.run(query_vector, question, 5))
    assert "first line" in extractor.sentence_text(ranked[0].best.sentence_number)
    features = extractor.features(question, ranked[0], runner_up(ranked))
    assert features[ConfidenceModel.FEATURES.index("another_year_or_ordinal")] == 1.0, "third asked, first stated"


def test_a_count_from_a_sentence_that_never_names_what_is_counted_is_less_confident(twice_told):
    extractor = twice_told.extractor
    model = ConfidenceModel.load()
    position = ConfidenceModel.FEATURES.index("counted_noun_missing")
    for noun, missing in (("lines", 0.0), ("stations", 1.0)):
        question = f"How many {noun} has the Delhi Metro network grown to?"
        query_vector = twice_told.encoder.encode_query(question)
        ranked = extractor.rank(question, query_vector, twice_told.retriever.run(query_vector, question, 5))
        features = extractor.features(question, ranked[0], runner_up(ranked))
        assert features[position] == missing, extractor.sentence_text(ranked[0].best.sentence_number)
    # "How many stations": the best sentence ("Its construction started in 2006 ...") never says stations.
    assert model(features) < model(features[:position] + [0.0] + features[position + 1:])
