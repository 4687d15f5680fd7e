import dataclasses
import json

import pytest

from rag import answering
from rag.answering import CALIBRATION_FILE, AnswerGroup, ConfidenceModel
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
    ranking = extractor.rank(question, query_vector, passages)
    best = ranking.best
    assert best.best.span.text == "24 December 2002"
    assert best.support == 2
    assert [g for g in ranking.groups if g.best.span and g.best.span.text == "24 December 2002"] == [best], "merged"

    features = extractor.features(question, ranking)
    single = AnswerGroup([m for m in best.members if m.passage.chunk.doc_id == best.best.passage.chunk.doc_id])
    assert single.support == 1
    model = ConfidenceModel.load()
    told_once = dataclasses.replace(ranking, groups=[single, *ranking.groups[1:]])
    assert model(features) > model(extractor.features(question, told_once))
    check_citations(twice_told, twice_told.ask(question))


def test_a_closest_sentence_of_another_year_or_ordinal_than_asked_lowers_confidence(twice_told):
    extractor = twice_told.extractor
    position = ConfidenceModel.FEATURES.index("another_year_or_ordinal")
    confidence = {}
    for year in ("2002", "2010"):
        question = f"What happened to the Delhi Metro in {year}?"
        query_vector = twice_told.encoder.encode_query(question)
        ranking = extractor.rank(question, query_vector, twice_told.retriever.run(query_vector, question, 5))
        features = extractor.features(question, ranking)
        assert features[position] == (year == "2010")
        confidence[year] = ConfidenceModel.load()(features)
    assert confidence["2010"] < confidence["2002"]

    question = "What did the third line of the Delhi Metro open with?"
    query_vector = twice_told.encoder.encode_query(question)
    ranking = extractor.rank(question, query_vector, twice_told.retriever.run(query_vector, question, 5))
    assert extractor.features(question, ranking)[position] == 1.0, "third asked, first stated"


@pytest.mark.parametrize("question, contradicted", [
    ("What happened in 2010?", "It happened in 2002."),
    ("What happened in FY2019-20?", "In FY2021-22 it happened."),
    ("What did the 17th round decide?", "The 18th round decided it."),
    ("Who won in 2019, and when did the second race start?", "The third race started in 2018."),
])
def test_a_sentence_contradicts_a_question_when_it_states_another_year_or_ordinal_than_every_ask(
        question, contradicted):
    assert answering.AskedTimes(question).contradicted_by(contradicted)


@pytest.mark.parametrize("question, sentence", [
    ("What happened in 2010?", "It happened in 2010, not in 2002."),
    ("What happened before 2010?", "It happened in 2002."),  # a bound, not the asked year
    ("Who came first in 2019?", "She came in 2019, the second time she raced."),
    ("Who won in 2019, and when did the second race start?", "The second race started in 2018."),
    ("What happened to the metro?", "It opened in 2002."),  # nothing asked to contradict
])
def test_a_sentence_does_not_contradict_what_the_question_leaves_open(question, sentence):
    assert not answering.AskedTimes(question).contradicted_by(sentence)


@pytest.fixture(scope="module")
def rounds(tmp_path_factory, encoder):
    corpus = tmp_path_factory.mktemp("rounds")
    (corpus / "dialogue.md").write_text(
        "# The India-Japan Strategic Dialogue\n"
        "The 17th round of the India-Japan Strategic Dialogue took place in Tokyo.\n"
        "New Delhi hosted the 18th round in January 2026.\n")
    (corpus / "economy.md").write_text(
        "# Trade\nIn FY2021-22 total trade between India and Japan was US$20.57 billion.\n"
        "Japan ranks among the largest investors in India, with Toyota and Suzuki among its best known firms.\n")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("rounds-index"))
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    return pipeline


def test_a_sentence_about_another_round_than_asked_ranks_below_one_about_the_asked_round(rounds, monkeypatch):
    question = "Where did the 18th round of the India-Japan Strategic Dialogue take place?"
    query_vector = rounds.encoder.encode_query(question)
    passages = rounds.retriever.run(query_vector, question, 5)
    ranking = rounds.extractor.rank(question, query_vector, passages)
    assert ranking.best.best.span.text == "New Delhi"
    assert not ranking.closest_contradicts, "the closest sentence states the 18th round"
    # The 17th-round sentence says more of the question's words; only the penalty puts it second.
    monkeypatch.setattr(answering, "CONTRADICTION_PENALTY", 0.0)
    assert rounds.extractor.rank(question, query_vector, passages).best.best.span.text == "Tokyo"


def test_names_and_numbers_of_an_ask_missing_from_the_answering_passage_lower_confidence(rounds):
    extractor = rounds.extractor
    position = ConfidenceModel.FEATURES.index("specifics_missing")
    missing = {}
    for question in ("What was the total trade between India and Japan in FY2021-22?",
                     "What was the total trade between India and Japan in FY2019-20?",
                     "What did Suzuki Motor invest in Gujarat?",
                     "What was the total trade in FY2021-22, and what did Suzuki Motor invest in Gujarat?"):
        query_vector = rounds.encoder.encode_query(question)
        ranking = extractor.rank(question, query_vector, rounds.retriever.run(query_vector, question, 5))
        assert ranking.best.best.passage.chunk.doc_id == "economy"
        missing[question] = extractor.features(question, ranking)[position]
    # Each ask is judged on its own: the last question's first ask has all it names in the passage.
    assert list(missing.values()) == [0.0, 1.0, 2 / 3, 0.0]
